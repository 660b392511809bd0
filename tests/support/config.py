"""Where the tests write, and the configuration of the test app."""

from __future__ import annotations

from tests.support.servers import ROOT, TEST_ENV

ARTIFACTS = ROOT / "test-artifacts"

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": TEST_ENV["WZCHECKIN_SECRET_KEY"],
    "DATA_KEYS": TEST_ENV["WZCHECKIN_DATA_KEYS"],
    "LOOKUP_KEY": TEST_ENV["WZCHECKIN_LOOKUP_KEY"],
    "HTTPS": False,
    "WTF_CSRF_ENABLED": True,
}
