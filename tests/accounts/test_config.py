"""Secrets come from the environment; nothing is generated silently."""

import pytest

from wzcheckin.config import ConfigError, load_config


def test_production_without_secrets_refuses_to_start():
    with pytest.raises(ConfigError, match="WZCHECKIN_SECRET_KEY"):
        load_config(environ={})


def test_each_missing_secret_is_named():
    env = {"WZCHECKIN_SECRET_KEY": "s" * 40}
    with pytest.raises(ConfigError, match="WZCHECKIN_DATA_KEYS"):
        load_config(environ=env)
    env["WZCHECKIN_DATA_KEYS"] = "dGVzdC1kYXRhLWtleS1mb3ItdGVzdHMtb25seS0wMDA="
    with pytest.raises(ConfigError, match="WZCHECKIN_LOOKUP_KEY"):
        load_config(environ=env)


def test_development_mode_uses_the_marked_development_keys():
    config = load_config(environ={"WZCHECKIN_DEV": "1"})
    assert "DEVELOPMENT-ONLY" in config["SECRET_KEY"]
    assert config["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure_by_default():
    env = {"WZCHECKIN_SECRET_KEY": "s" * 40, "WZCHECKIN_DATA_KEYS": "dGVzdC1kYXRhLWtleS1mb3ItdGVzdHMtb25seS0wMDA=",
           "WZCHECKIN_LOOKUP_KEY": "l" * 40}
    config = load_config(environ=env)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["DATABASE_URL"].endswith("instance/wzcheckin.sqlite3")


def test_simulated_clock_is_refused_in_production(tmp_path):
    env = {"WZCHECKIN_SECRET_KEY": "s" * 40, "WZCHECKIN_DATA_KEYS": "dGVzdC1kYXRhLWtleS1mb3ItdGVzdHMtb25seS0wMDA=",
           "WZCHECKIN_LOOKUP_KEY": "l" * 40, "WZCHECKIN_SIMULATED_CLOCK_FILE": str(tmp_path / "clock")}
    with pytest.raises(ConfigError, match="SIMULATED_CLOCK"):
        load_config(environ=env)


def test_a_bad_data_key_is_named():
    from wzcheckin.core.personal_data import PersonalDataVault

    with pytest.raises(ConfigError, match="WZCHECKIN_DATA_KEYS"):
        PersonalDataVault("not-a-fernet-key", "l" * 40)
