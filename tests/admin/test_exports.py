"""Exports: CSV (streamed) and XLSX (write-only) of the chart tables and the key lists; masked by
default; an unmasked export needs a reason and is audited as such; every export is audited with
its row count; nothing a spreadsheet would run as a formula survives."""

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from tests.admin.builders import hand_out, make_claim, make_point, staff_for
from tests.admin.conftest import audit_entries, csrf, post_export
from tests.builders import make_worker
from tests.residence.builders import IN_WINDOW, add_scan, bulk_workers, make_site
from tests.support.clock import at
from wzcheckin.admin.exports import DATASETS
from wzcheckin.benefits.models import ClaimStatus
from wzcheckin.scanning.models import Checkpoint


def valid_id(first17: str) -> str:
    from wzcheckin.core.identity import id_check_character

    return first17 + id_check_character(first17)


ZHANG_ID = valid_id("51012219850612301")
ZHANG_PHONE = "13812345678"
EVIL_NAME = "=HYPERLINK(\"http://x\",\"点\")"


def read_csv(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def read_xlsx(response):
    return load_workbook(io.BytesIO(response.get_data()))


@pytest.fixture
def world(db, vault, programme, cutoff):
    """An enterprise with a named worker (confirmed), a worker whose name is a formula, a pickup
    point with both of them served, their data-bonus claims, and the official snapshot."""
    site = make_site(db, vault, name="+温州瓯江鞋业", district="瓯海区")
    zhang = make_worker(db, vault, programme, enterprise=site.enterprise, name="张三丰", id_number=ZHANG_ID,
                        phone=ZHANG_PHONE)
    evil = make_worker(db, vault, programme, enterprise=site.enterprise, name=EVIL_NAME)
    for worker in (zhang, evil):
        for when in IN_WINDOW:
            add_scan(db, worker.id, site.gate, site.staff, at(when))
    bulk_workers(db, vault, site, 3)
    point = make_point(db, name="@五马街道", stock=10)
    staff = staff_for(db, vault, db.get(Checkpoint, point.checkpoint_id))
    hand_out(db, point, zhang, staff, at("2021-02-09 10:00"))
    hand_out(db, point, evil, staff, at("2021-02-09 10:05"))
    make_claim(db, vault, zhang, status=ClaimStatus.FULFILLED)
    make_claim(db, vault, evil, carrier="china_unicom")
    db.commit()
    cutoff()
    return {"site": site, "zhang": zhang, "evil": evil}


def test_the_chart_tables_export_the_figures_the_dashboard_shows(db, vault, programme, as_official, world):
    response = post_export(as_official, "registrations-by-day", first="2021-01-20", last="2021-01-21")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="wzcheckin-registrations-by-day-20210120-20210121.csv"' in response.headers["Content-Disposition"]
    assert read_csv(response) == [["date", "self", "roster", "total"], ["2021-01-20", "0", "5", "5"],
                                  ["2021-01-21", "0", "0", "0"]]
    tiers = read_csv(post_export(as_official, "subsidy-tiers"))
    assert tiers == [["tier_min_retained", "enterprises", "retained", "amount_yuan"], ["100", "0", "0", "0"],
                     ["50", "0", "0", "0"], ["0", "1", "5", "0"]]
    districts = read_xlsx(post_export(as_official, "districts", "xlsx")).active
    assert [[cell.value for cell in row] for row in districts.iter_rows()] == [
        ["district", "pledged", "confirmed"], ["瓯海区", 5, 5]]


def test_lists_naming_people_are_masked_by_default(db, vault, programme, as_official, world):
    for name in ("worker-statuses", "welfare-handouts", "data-bonus-claims"):
        response = post_export(as_official, name)
        body = response.get_data().decode("utf-8")
        assert response.status_code == 200, name
        assert ZHANG_ID not in body and ZHANG_PHONE not in body and "张三丰" not in body, name
        assert "张*丰" in body and "**************" + ZHANG_ID[-4:] in body and "138****5678" in body, name
        assert "masked.csv" in response.headers["Content-Disposition"]
    statuses = read_csv(post_export(as_official, "worker-statuses"))
    header, zhang = statuses[0], next(row for row in statuses if row[1] == "张*丰")
    row = dict(zip(header, zhang, strict=True))
    assert (row["id_number"], row["phone"], row["enterprise"], row["confirmed"], row["reason"]) == (
        "**************" + ZHANG_ID[-4:], "138****5678", "'+温州瓯江鞋业", "yes", "confirmed")
    assert row["periods_with_scan"] == "节前; 春节假期; 节后" and row["periods_missed"] == ""
    workbook = read_xlsx(post_export(as_official, "worker-statuses", "xlsx"))
    values = [cell.value for row in workbook.active.iter_rows() for cell in row]
    assert "张*丰" in values and "张三丰" not in values and ZHANG_ID not in values
    assert len(audit_entries(db)) == 5 and all(entry.details["masked"] for entry in audit_entries(db))


def test_an_unmasked_export_needs_a_reason_and_is_audited_with_it(db, vault, programme, as_official, world):
    url = "/admin/exports/worker-statuses/full"
    form = as_official.get(url)
    assert form.status_code == 200 and "为什么需要完整号码" in form.text
    token = csrf(as_official, url)
    for reason, message in (("", "请说明需要完整号码的原因。"), ("看看", "请再具体一些：至少6个字。")):
        refused = as_official.post(url, data={"csrf_token": token, "reason": reason, "format": "csv"})
        assert refused.status_code == 422 and message in refused.text
        assert ZHANG_ID not in refused.text
    assert audit_entries(db) == []

    reason = "公安新居民积分核查需要完整身份证号，联系人 13900001111"
    response = as_official.post(url, data={"csrf_token": token, "reason": reason, "format": "csv"})
    assert response.status_code == 200
    body = response.get_data().decode("utf-8")
    assert ZHANG_ID in body and ZHANG_PHONE in body and "张三丰" in body
    assert "worker-statuses-official-20210301-full.csv" in response.headers["Content-Disposition"]
    [entry] = audit_entries(db)
    assert entry.action == "admin.export.unmasked" and entry.actor_role == "official"
    assert entry.details["masked"] is False and entry.details["rows"] == 5
    assert entry.details["revealed"] == ["name", "id_number", "phone"]
    assert entry.details["reason"] == "公安新居民积分核查需要完整身份证号，联系人 139****1111"  # no number in the log

    xlsx = as_official.post(url, data={"csrf_token": token, "reason": reason, "format": "xlsx"})
    values = [cell.value for row in read_xlsx(xlsx).active.iter_rows() for cell in row]
    assert ZHANG_ID in values and "张三丰" in values
    assert [e.details["format"] for e in audit_entries(db)] == ["csv", "xlsx"]

    # The list without personal data has no unmasked form; nor does an unknown list.
    assert as_official.get("/admin/exports/registrations-by-day/full").status_code == 404
    assert as_official.get("/admin/exports/everything/full").status_code == 404


def test_every_export_in_either_format_is_audited_with_its_row_count(db, vault, programme, as_official, world,
                                                                     official):
    for name, dataset in DATASETS.items():
        for fmt in ("csv", "xlsx"):
            before = len(audit_entries(db))
            response = post_export(as_official, name, fmt)
            assert response.status_code == 200, (name, fmt)
            if fmt == "csv":
                rows = read_csv(response)
                header, count = rows[0], len(rows) - 1
            else:
                sheet = read_xlsx(response).active
                header, count = [cell.value for cell in next(sheet.iter_rows())], sheet.max_row - 1
            assert tuple(header) == dataset.header
            entries = audit_entries(db)
            assert len(entries) == before + 1, (name, fmt)
            entry = entries[-1]
            assert (entry.action, entry.target_id, entry.actor_user_id) == ("admin.export", name, official.id)
            assert entry.details["rows"] == count and entry.details["format"] == fmt, (name, fmt)
            assert entry.details["masked"] is True and "reason" not in entry.details
    assert len(audit_entries(db)) == 2 * len(DATASETS)


def test_nothing_in_an_export_runs_as_a_formula(db, vault, programme, as_official, world):
    statuses = read_csv(post_export(as_official, "worker-statuses"))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in statuses for cell in row)
    masked_evil = next(row[1] for row in statuses if row[1].startswith("'="))
    assert masked_evil == "'=" + "*" * (len(EVIL_NAME) - 2) + EVIL_NAME[-1]
    points = read_csv(post_export(as_official, "welfare-points"))
    assert points[1][1] == "'@五马街道"

    token = csrf(as_official, "/admin/exports/welfare-handouts/full")
    full = as_official.post("/admin/exports/welfare-handouts/full",
                            data={"csrf_token": token, "reason": "核对礼包领取名单", "format": "xlsx"})
    data = full.get_data()
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula anywhere
    sheet = read_xlsx(full).active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row}
    assert cells[EVIL_NAME].data_type == "s" and cells[EVIL_NAME].quotePrefix
    assert cells["@五马街道"].data_type == "s"
    assert sheet.cell(row=2, column=1).data_type == "n"  # numbers stay numbers (the hand-out's id)
    headcounts = read_csv(post_export(as_official, "enterprise-headcounts"))
    assert headcounts[1][1] == "'+温州瓯江鞋业"


def test_a_snapshot_list_before_the_cutoff_is_refused_politely(db, vault, programme, as_official, set_clock):
    set_clock("2021-02-20 09:00")
    make_worker(db, vault, programme)
    db.commit()
    response = post_export(as_official, "worker-statuses")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/exports")
    page = as_official.get("/admin/exports").text
    assert "还没有快照：没有可导出的内容。" in page  # the flash, and the list's own note
    assert "还没有快照：截止时间为" in page
    assert audit_entries(db) == []
    # Lists that need no snapshot still work.
    assert post_export(as_official, "registrations-by-enterprise").status_code == 200


def test_a_spreadsheet_too_big_for_a_web_request_is_refused_with_the_way_out(app, db, as_official, world):
    app.config["ADMIN_WEB_XLSX_MAX_ROWS"] = 4  # 200,000 in production; the world has 5 statuses
    try:
        refused = post_export(as_official, "worker-statuses", "xlsx")
        assert refused.status_code == 302
        assert "wzcheckin export worker-statuses --format xlsx --output FILE" in as_official.get("/admin/exports").text
        assert post_export(as_official, "worker-statuses", "csv").status_code == 200
        assert post_export(as_official, "welfare-handouts", "xlsx").status_code == 200
    finally:
        del app.config["ADMIN_WEB_XLSX_MAX_ROWS"]
    assert [e.details["dataset"] for e in audit_entries(db)] == ["worker-statuses", "welfare-handouts"]


def test_registrations_by_enterprise_counts_in_sql(db, vault, programme, as_official):
    site = make_site(db, vault, name="瓯江鞋业")
    bulk_workers(db, vault, site, 3)
    bulk_workers(db, vault, site, 2, pledged=False, on_roster=False)
    make_site(db, vault, name="空厂")
    bulk_workers(db, vault, None, 1)
    db.commit()
    rows = read_csv(post_export(as_official, "registrations-by-enterprise"))
    by_name = {row[1]: row[4:] for row in rows[1:]}
    assert by_name == {"瓯江鞋业": ["5", "0", "5", "3", "3"], "空厂": ["0", "0", "0", "0", "0"],
                       "": ["1", "0", "1", "0", "1"]}


def test_exports_are_posts_with_a_token_in_a_known_format(db, as_official):
    assert as_official.get("/admin/exports/welfare-points").status_code == 405
    assert as_official.post("/admin/exports/welfare-points", data={"format": "csv"}).status_code == 400
    token = csrf(as_official)
    assert as_official.post("/admin/exports/welfare-points", data={"csrf_token": token, "format": "pdf"}).status_code == 400
    assert as_official.post("/admin/exports/nothing", data={"csrf_token": token, "format": "csv"}).status_code == 404
    assert audit_entries(db) == []


def test_the_command_line_exports_the_same_lists_and_audits_them(app, db, vault, programme, world, runner, tmp_path):
    """``wzcheckin export`` (its commands push their own app context, as the real command line's do)."""
    masked = runner.invoke(args=["export", "worker-statuses"])
    assert masked.exit_code == 0, masked.output
    assert "张*丰" in masked.stdout and ZHANG_ID not in masked.stdout
    refused = runner.invoke(args=["export", "worker-statuses", "--full"])
    assert refused.exit_code == 1 and "--reason" in refused.stderr
    assert runner.invoke(args=["export", "registrations-by-day", "--full", "--reason", "核对登记数据"]).exit_code == 1
    assert runner.invoke(args=["export", "worker-statuses", "--format", "xlsx"]).exit_code == 1  # needs --output
    target = tmp_path / "statuses.xlsx"
    full = runner.invoke(args=["export", "worker-statuses", "--format", "xlsx", "--output", str(target), "--full",
                               "--reason", "公安新居民积分核查"])
    assert full.exit_code == 0, full.output
    assert '"rows": 5' in full.stdout.splitlines()[-1]
    values = [cell.value for row in load_workbook(target).active.iter_rows() for cell in row]
    assert ZHANG_ID in values and "张三丰" in values
    entries = audit_entries(db)
    assert [(e.action, e.actor_role, e.details["rows"], e.details["masked"]) for e in entries] == [
        ("admin.export", "cli", 5, True), ("admin.export.unmasked", "cli", 5, False)]
    assert entries[1].details["reason"] == "公安新居民积分核查"


def test_the_exports_page_says_each_column_in_chinese_and_the_files_keep_the_documented_headers(
        db, vault, programme, as_official, world):
    """Issue 16 item 4: the desk's column lists in words on a Chinese page, each beside the
    snake_case header the file keeps (docs/admin.md: stable for scripts); times in the files in
    Wenzhou time with +08:00."""
    page = as_official.get("/admin/exports").text
    card = page[page.index('id="export-worker-statuses"'):]
    card = card[:card.index("</section>")]
    for code, words in (("credit_code", "统一社会信用代码"), ("periods_missed", "缺扫码的时段"), ("id_number", "身份证号"),
                        ("departed_on", "离温日期")):
        assert f"<dt><code>{code}</code></dt><dd>{words}</dd>" in card, code
    headcounts = page[page.index('id="export-enterprise-headcounts"'):]
    assert "<dt><code>name</code></dt><dd>企业</dd>" in headcounts[:headcounts.index("</section>")]
    full = as_official.get("/admin/exports/worker-statuses/full").text
    assert "姓名、身份证号、手机号" in full and "name, id_number" not in full

    rows = read_csv(post_export(as_official, "welfare-handouts"))
    assert rows[0] == list(DATASETS["welfare-handouts"].header)  # the documented headers, unchanged
    assert rows[1][1] == "2021-02-09T10:00:00+08:00"
    claims = read_csv(post_export(as_official, "data-bonus-claims"))
    assert claims[0][:3] == ["claim_id", "claimed_at", "carrier"] and claims[1][1].endswith("+08:00")
