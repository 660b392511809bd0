"""The audit-log viewer (filters by role, action and Wenzhou dates; paged by id; details escaped
and masked) and the programme file shown read-only."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.builders import make_user
from tests.support.config import TEST_CONFIG
from wzcheckin.core.audit import record_audit
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role


def entry_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-entry="(\d+)"', html)]


def test_the_audit_log_filters_by_role_action_and_wenzhou_day(db, vault, official, as_official):
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN)
    late = record_audit(db, at=datetime(2021, 2, 4, 15, 59, 59, tzinfo=UTC), action="admin.export", actor=official,
                        target_type="dataset", target_id="worker-statuses", details={"rows": 12, "masked": True})
    midnight = record_audit(db, at=datetime(2021, 2, 4, 16, 0, tzinfo=UTC), action="residence.departure.record",
                            actor=admin, details={"departed_on": "2021-02-03"})
    job = record_audit(db, at=datetime(2021, 2, 6, 1, 0, tzinfo=UTC), action="residence.snapshot.official",
                       actor_role="scheduler",
                       details={"note": "<script>alert(1)</script>", "phone": "13812345678",
                                "who": "身份证 110101199003074578 号", "nested": {"b": [1, 2]}})
    db.commit()

    every = as_official.get("/admin/audit")
    assert entry_ids(every.text) == [job.id, midnight.id, late.id]
    assert entry_ids(as_official.get("/admin/audit?role=enterprise_admin").text) == [midnight.id]
    assert entry_ids(as_official.get("/admin/audit?role=scheduler").text) == [job.id]
    assert entry_ids(as_official.get("/admin/audit?action=admin.export").text) == [late.id]
    # 16:00 UTC on 4 Feb is midnight in Wenzhou: the entry a second earlier is still 4 Feb.
    assert entry_ids(as_official.get("/admin/audit?from=2021-02-05&to=2021-02-05").text) == [midnight.id]
    assert entry_ids(as_official.get("/admin/audit?to=2021-02-04").text) == [late.id]
    assert entry_ids(as_official.get("/admin/audit?from=2021-02-05&role=official").text) == []
    assert "没有符合条件的记录" in as_official.get("/admin/audit?from=2021-02-05&role=official").text
    assert entry_ids(as_official.get("/admin/audit?from=nonsense").text) == [job.id, midnight.id, late.id]

    # Details: escaped, never a raw ID or phone number, whatever a room wrote.
    text = every.text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "13812345678" not in text and "138****5678" in text
    assert "110101199003074578" not in text and "身份证 **************4578 号" in text
    assert "worker-statuses" in text and official.phone_masked in text
    assert "企业管理员" in text and "定时任务" in text


def test_the_audit_log_pages_by_id_both_ways(db, vault, official, as_official):
    start = datetime(2021, 2, 1, tzinfo=UTC)
    db.execute(sa.insert(AuditEntry), [
        {"at": start + timedelta(minutes=n), "actor_user_id": official.id, "actor_role": "official",
         "action": "admin.export", "details": {"n": n}} for n in range(120)])
    db.commit()
    ids = list(db.scalars(sa.select(AuditEntry.id).order_by(AuditEntry.id.desc())))
    first = as_official.get("/admin/audit?action=admin.export")
    assert entry_ids(first.text) == ids[:50] and 'rel="prev"' not in first.text
    older = re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"|rel="next" href="([^"]*)"', first.text)
    second_url = (older.group(1) or older.group(2)).replace("&amp;", "&")
    assert "action=admin.export" in second_url
    second = as_official.get(second_url)
    assert entry_ids(second.text) == ids[50:100]
    third = as_official.get(f"/admin/audit?action=admin.export&before={ids[99]}")
    assert entry_ids(third.text) == ids[100:] and 'rel="next"' not in third.text
    back = as_official.get(f"/admin/audit?action=admin.export&after={ids[100]}")
    assert entry_ids(back.text) == ids[50:100] and 'rel="prev"' in back.text


def test_the_programme_file_is_shown_read_only_with_its_path(db, as_official, programme):
    page = as_official.get("/admin/programme")
    assert page.status_code == 200
    assert programme.source_path in page.text
    text = page.text
    for piece in ("[retention_subsidy]", "min_retained", "100000", "Asia/Shanghai", "china_telecom",
                  "fever_celsius", "37.3", "节前", "2021-02-01", "88996871"):
        assert piece in text, piece
    assert '<pre class="toml">' in text and "[[evidence_windows]]" in text
    assert "<form" not in text.split("<main", 1)[1].split("</main>")[0]  # nothing to submit: read-only


def test_a_programme_file_changed_on_disk_is_flagged(db, app, official, tmp_path):
    """A copy of the programme, loaded by an app of its own, then edited under it."""
    from wzcheckin import clock, create_app
    from wzcheckin.accounts.sessions import start_session
    from wzcheckin.extensions import db as app_db

    copy = tmp_path / "2021.toml"
    copy.write_text(Path(programme_path(app)).read_text(encoding="utf-8"), encoding="utf-8")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url,
                        "PROGRAMME_PATH": str(copy)})
    try:
        secret = start_session(db, official, clock.now())
        db.commit()
        client = other.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = secret
        assert "已被修改" not in client.get("/admin/programme").text
        copy.write_text(copy.read_text(encoding="utf-8").replace('hotline = "88996871"', 'hotline = "88990000"'),
                        encoding="utf-8")
        changed = client.get("/admin/programme").text
        assert "已被修改" in changed and "88990000" in changed
        copy.write_text("[programme]\nname = 1\n", encoding="utf-8")
        assert "不能再加载" in client.get("/admin/programme").text
    finally:
        with other.app_context():
            app_db.session.remove()
            app_db.engine.dispose()


def programme_path(app) -> str:
    return app.extensions["wzcheckin.programme"].source_path
