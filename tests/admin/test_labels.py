"""Chinese without leaks on the officials' desk (issue 16 item 4): every audit action the code
records has words, and the audit log, its filter and the SMS and enterprise lists show those
words, not codes, on a Chinese page."""

import re
from datetime import UTC, datetime
from pathlib import Path

from wzcheckin.admin.labels import ACTION_LABELS
from wzcheckin.core.audit import record_audit

PACKAGE = Path(__file__).resolve().parents[2] / "wzcheckin"


def recorded_actions() -> set[str]:
    """Every literal audit action in the package's source (``action="..."`` and the helpers'
    first argument), f-strings expanded by hand below."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'action="([a-z_.-]+)"', text))
        found.update(re.findall(r'(?<![a-z])_?audit\(\s*"([a-z_.-]+)"', text))
        found.update(re.findall(r'"(admin\.export(?:\.unmasked)?)"', text))
    return found


def test_every_audit_action_in_the_code_has_words():
    actions = recorded_actions()
    assert {"login", "keys.create", "user.disable", "venues.slot_close", "complaint.handle"} <= actions
    assert sorted(actions - set(ACTION_LABELS)) == []
    # The f-string families: roster.{action}, import.{kind}, residence.{appeal,production,subsidy}.{status}, snapshots.
    for code in ("roster.confirm", "roster.remove", "import.workers", "residence.appeal.accepted",
                 "residence.production.rejected", "residence.subsidy.approved", "residence.snapshot.official"):
        assert code in ACTION_LABELS


def test_the_audit_log_speaks_chinese(db, official, as_official):
    record_audit(db, at=datetime(2021, 2, 4, 1, 0, tzinfo=UTC), action="login", actor=official)
    record_audit(db, at=datetime(2021, 2, 4, 2, 0, tzinfo=UTC), action="keys.create", actor_role="cli")
    db.commit()
    html = as_official.get("/admin/audit").text
    actions = re.findall(r'<strong class="audit-action">([^<]+)</strong>', html)
    assert actions == ["创建签名密钥", "登录"]
    options = re.findall(r'<option value="([a-z_.]+)"[^>]*>([^<]+)</option>', html)
    assert ("login", "登录") in options and ("keys.create", "创建签名密钥") in options
    assert html.count(">login<") == 0 and html.count(">keys.create<") == 0
    # Filtering still goes by the code.
    assert re.findall(r'<strong class="audit-action">([^<]+)</strong>',
                      as_official.get("/admin/audit?action=login").text) == ["登录"]


def test_sms_statuses_are_words(as_official):
    html = as_official.get("/official/residence/sms").text
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>', html))
    assert options["queued"] != "queued" and options["no_recipient"] != "no_recipient"
    assert ">queued<" not in html and ">sending<" not in html
