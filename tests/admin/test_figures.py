"""The figures people ask for (/admin/figures, `wzcheckin report figures`), each read as of a stated
instant, against small worlds whose numbers an auditor can count by hand — on both databases:

* workers staying per day: distinct workers per Wenzhou day with evidence known at the instant,
  by their hukou at the instant (a late upload counts once received; a hukou decided later does
  not reach back);
* retention by district and enterprise: before the cutoff the cutoff's rules as of the instant
  (on track), after it the official snapshot once complete, then its corrections as written;
* health alerts per district per day, in the district the enterprise had when each was raised;
* wage complaints per district: the status their handling had reached by the instant, amounts.
"""

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from tests.admin.conftest import audit_entries
from tests.builders import make_enterprise, make_unique_id_number, make_user, make_worker
from tests.residence.builders import add_scan, bulk_workers, make_site
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.accounts.facts import decide_hukou_review
from wzcheckin.admin import figures
from wzcheckin.benefits.rights import ComplaintInput, file_complaint, handle_complaint
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import HealthAlert, record_enterprise_facts
from wzcheckin.programme import HukouStatus
from wzcheckin.scanning.models import Scan, ScanResult


def day_row(table: figures.StayingTable, day: str) -> dict:
    return next(row for row in table.rows() if row["day"] == day)


# --- workers staying per day ------------------------------------------------------------------------------

def staying_world(db, vault, programme):
    """Five workers of one enterprise, scanned at its gate over the Spring Festival holiday:

    * 甲 (non-local): 11 Feb 09:00 and 18:00 (one worker, one day), 12 Feb 09:00;
    * 乙 (Wenzhou hukou by ID number): 11 Feb 10:00;
    * 丙 (non-local): 11 Feb 23:59 and 12 Feb 00:00 — one scan on each side of midnight;
    * 丁 (non-local): 12 Feb 09:00 scanned offline, uploaded 14 Feb 09:00; refused on 12 Feb 10:00;
    * 戊 (declared 温州 but a Sichuan ID: hukou to be reviewed): 12 Feb 11:00; decided non-local
      on 14 Feb 12:00.
    """
    site = make_site(db, vault, name="瓯江鞋业", district="瓯海区")
    jia, bing, ding = (make_worker(db, vault, programme, enterprise=site.enterprise, name=name)
                       for name in ("甲", "丙", "丁"))
    yi_home = make_worker(db, vault, programme, enterprise=site.enterprise, name="乙",
                          id_number=make_unique_id_number("330302"))
    wu = make_worker(db, vault, programme, enterprise=site.enterprise, name="戊", hukou="温州")
    assert yi_home.hukou_status is HukouStatus.HOME and wu.hukou_status is HukouStatus.REVIEW
    for worker, when in ((jia, "2021-02-11 09:00"), (jia, "2021-02-11 18:00"), (jia, "2021-02-12 09:00"),
                         (yi_home, "2021-02-11 10:00"), (bing, "2021-02-11 23:59"), (bing, "2021-02-12 00:00"),
                         (wu, "2021-02-12 11:00")):
        add_scan(db, worker.id, site.gate, site.staff, at(when))
    add_scan(db, ding.id, site.gate, site.staff, at("2021-02-12 10:00"), accepted=False)
    db.add(Scan(scan_id="figures-late-ding", checkpoint_id=site.gate.id, staff_user_id=site.staff.id,
                scanned_at=at("2021-02-12 09:00"), received_at=at("2021-02-14 09:00"), worker_id=ding.id,
                result=ScanResult.ACCEPTED, reason="entry_allowed", is_evidence=True))
    decide_hukou_review(db, wu, decision=HukouStatus.NON_LOCAL, reason="户口本为四川", decided_by_user_id=None,
                        now=at("2021-02-14 12:00"))
    db.commit()


def test_workers_staying_per_day_as_known_at_the_instant(db, vault, programme):
    staying_world(db, vault, programme)

    before = figures.staying_per_day(db, programme, at("2021-02-13 12:00"))
    # The evidence period's days up to the instant: 1 Feb … 13 Feb, not a day more.
    days = [row["day"] for row in before.rows()]
    assert (days[0], days[-1], len(days)) == ("2021-02-01", "2021-02-13", 13)
    assert day_row(before, "2021-02-11") == {"day": "2021-02-11", "holiday": True, "non_local": 2, "other": 1,
                                             "total": 3}   # 甲 and 丙; 乙 (Wenzhou)
    # 甲, 丙; 戊 still to be reviewed then; 丁's offline scan not yet received, the refusal never.
    assert day_row(before, "2021-02-12") == {"day": "2021-02-12", "holiday": True, "non_local": 2, "other": 1,
                                             "total": 3}
    assert day_row(before, "2021-02-13")["total"] == 0
    assert day_row(before, "2021-02-10")["holiday"] is False
    assert before.total == 6

    after = figures.staying_per_day(db, programme, at("2021-02-15 00:00"))
    # 丁's upload is known now, and 戊 counts as non-local from the decision on.
    assert day_row(after, "2021-02-12") == {"day": "2021-02-12", "holiday": True, "non_local": 4, "other": 0,
                                            "total": 4}
    assert day_row(after, "2021-02-11")["total"] == 3
    assert [row["day"] for row in after.rows()][-1] == "2021-02-14"

    # Before the evidence period there is nothing to count, said as such.
    assert figures.staying_per_day(db, programme, at("2021-01-31 12:00")).range is None


# --- retention ---------------------------------------------------------------------------------------------

def retention_world(db, vault):
    """瓯江鞋业 (瓯海区): 4 workers scanned in every window, 1 missed the first window.
    鹿城电器 (鹿城区): 2 scanned in every window, 1 who never pledged. One worker with no employer."""
    big = make_site(db, vault, name="瓯江鞋业", district="瓯海区")
    small = make_site(db, vault, name="鹿城电器", district="鹿城区")
    bulk_workers(db, vault, big, 4)
    missed = bulk_workers(db, vault, big, 1, windows=(1, 2))
    kept = bulk_workers(db, vault, small, 2)
    bulk_workers(db, vault, small, 1, pledged=False)
    bulk_workers(db, vault, None, 1)
    db.commit()
    return big, small, missed[0], kept[0]


def by_name(retention: figures.Retention) -> dict:
    return {row.name: (row.district, row.registered, row.staying) for row in retention.by_enterprise}


def by_district(retention: figures.Retention) -> dict:
    return {row.district: (row.registered, row.staying) for row in retention.by_district}


def test_retention_before_the_cutoff_is_the_cutoffs_rules_as_of_the_instant(db, vault, programme):
    retention_world(db, vault)
    result = figures.retention(db, programme, at("2021-02-20 12:00"))
    assert (result.basis, result.decided_as_of) == ("preview", at("2021-02-20 12:00"))
    # The missed first window counts against the worker (closed); the open third one against nobody.
    assert by_name(result) == {"瓯江鞋业": ("瓯海区", 5, 4), "鹿城电器": ("鹿城区", 3, 2)}
    assert by_district(result) == {"瓯海区": (5, 4), "鹿城区": (3, 2), "": (1, 0)}
    assert [row.district for row in result.by_district] == ["瓯海区", "鹿城区", ""]  # no employer last
    # On 5 Feb nobody had evidence in the still-open first window, and nobody is counted out for it.
    early = figures.retention(db, programme, at("2021-02-03 12:00"))
    assert by_name(early) == {"瓯江鞋业": ("瓯海区", 5, 5), "鹿城电器": ("鹿城区", 3, 2)}


def test_retention_after_the_cutoff_reads_the_official_snapshot_then_its_corrections(db, vault, programme, cutoff):
    from wzcheckin.residence.corrections import correct, record_found_departure

    _big, _small, _missed, leaver_id = retention_world(db, vault)
    # After the cutoff, before the official snapshot: the cutoff's strict rules, labelled as such.
    computed = figures.retention(db, programme, at("2021-03-01 00:01"))
    assert (computed.basis, computed.decided_as_of) == ("computed", programme.cutoff)
    assert by_name(computed) == {"瓯江鞋业": ("瓯海区", 5, 4), "鹿城电器": ("鹿城区", 3, 2)}

    cutoff(now=at("2021-03-01 00:05"))
    assert figures.retention(db, programme, at("2021-03-01 00:04")).basis == "computed"  # not complete then
    official = figures.retention(db, programme, at("2021-03-02 09:00"))
    assert (official.basis, official.correction_version) == ("official", None)
    assert by_name(official) == {"瓯江鞋业": ("瓯海区", 5, 4), "鹿城电器": ("鹿城区", 3, 2)}

    # A departure before the cutoff is found later; correction 1 takes the worker out.
    from wzcheckin.accounts.models import Worker

    official_user = make_user(db, vault, Role.OFFICIAL)
    record_found_departure(db, programme, worker=db.get(Worker, leaver_id), departed_on=date(2021, 2, 25),
                           note="企业报告已返乡", now=at("2021-03-05 10:00"), actor=official_user)
    summary = correct(db, programme, now=at("2021-03-05 11:00"), created_by="cli")
    db.commit()
    assert summary["version"] == 1

    assert figures.retention(db, programme, at("2021-03-05 10:59")).basis == "official"
    corrected = figures.retention(db, programme, at("2021-03-06 09:00"))
    assert (corrected.basis, corrected.correction_version) == ("correction", 1)
    assert by_name(corrected) == {"瓯江鞋业": ("瓯海区", 5, 4), "鹿城电器": ("鹿城区", 3, 1)}
    assert by_district(corrected)["鹿城区"] == (3, 1)


# --- health alerts -----------------------------------------------------------------------------------------

def raise_alert(db, site, when: str, reason: str = "fever") -> None:
    db.add(HealthAlert(enterprise_id=site.enterprise.id, checkpoint_id=site.gate.id, reason=reason,
                       temperature=38 if reason == "fever" else None, symptoms=reason == "symptoms",
                       person_masked="张*", raised_by_user_id=site.staff.id, raised_at=at(when)))
    db.flush()


def test_health_alerts_per_district_per_day_in_the_district_of_the_day(db, vault, programme):
    shoes = make_site(db, vault, name="瓯江鞋业", district="瓯海区")
    lamps = make_site(db, vault, name="鹿城电器", district="鹿城区")
    raise_alert(db, shoes, "2021-02-11 09:00")
    raise_alert(db, shoes, "2021-02-11 23:59", "symptoms")
    raise_alert(db, lamps, "2021-02-12 00:00")
    # 鹿城电器 moves to 龙湾区 on 13 Feb; its alerts from then on are 龙湾区's.
    lamps.enterprise.district = "龙湾区"
    record_enterprise_facts(db, lamps.enterprise, now=at("2021-02-13 08:00"), source="test")
    raise_alert(db, lamps, "2021-02-14 09:00")
    db.commit()

    early = figures.health_alerts(db, programme, at("2021-02-14 00:00"))
    assert early.rows() == [
        {"day": "2021-02-11", "district": "瓯海区", "fever": 1, "symptoms": 1, "total": 2},
        {"day": "2021-02-12", "district": "鹿城区", "fever": 1, "symptoms": 0, "total": 1},
    ]
    assert early.days[-1] == date(2021, 2, 13)

    later = figures.health_alerts(db, programme, at("2021-02-15 00:00"))
    assert later.rows()[-1] == {"day": "2021-02-14", "district": "龙湾区", "fever": 1, "symptoms": 0, "total": 1}
    assert later.rows()[1]["district"] == "鹿城区"  # the 12 Feb alert stays where it was raised
    assert later.by_district() == [
        {"district": "瓯海区", "fever": 1, "symptoms": 1, "total": 2},
        {"district": "鹿城区", "fever": 1, "symptoms": 0, "total": 1},
        {"district": "龙湾区", "fever": 1, "symptoms": 0, "total": 1},
    ]
    assert later.total == 4


# --- wage complaints ---------------------------------------------------------------------------------------

def complaints_world(db, vault, programme):
    """瓯江鞋业 (瓯海区): ¥3,000.50 filed 5 Feb, handled from 10 Feb, resolved 20 Feb; ¥1,200 filed
    8 Feb, untouched. An unregistered employer (某包工头): ¥800 filed 9 Feb. ¥500 against 瓯江鞋业
    filed 25 Feb."""
    employer = make_enterprise(db, vault, name="瓯江鞋业", district="瓯海区")
    worker = make_worker(db, vault, programme, enterprise=employer)

    def complain(amount: str, when: str, credit_code: str = employer.credit_code, name: str = ""):
        return file_complaint(db, worker, ComplaintInput(credit_code=credit_code, employer_name=name, months="1",
                                                         amount_yuan=amount, description="欠发一月工资"), at(when))

    first = complain("3000.50", "2021-02-05 09:00")
    complain("1200", "2021-02-08 09:00")
    complain("800", "2021-02-09 09:00", credit_code="", name="某包工头")
    complain("500", "2021-02-25 09:00")
    handle_complaint(db, first.id, status="handling", note="已联系企业", now=at("2021-02-10 09:00"))
    handle_complaint(db, first.id, status="resolved", note="企业已补发", now=at("2021-02-20 09:00"))
    db.commit()


def test_wage_complaints_per_district_with_their_status_at_the_instant(db, vault, programme):
    complaints_world(db, vault, programme)

    mid = figures.wage_complaints(db, programme, at("2021-02-15 00:00"))
    assert [row.record() for row in mid.rows] == [
        {"district": "瓯海区", "received": 1, "handling": 1, "resolved": 0, "total": 2, "amount_yuan": 4200.5,
         "received_amount_yuan": 1200, "handling_amount_yuan": 3000.5, "resolved_amount_yuan": 0},
        {"district": "", "received": 1, "handling": 0, "resolved": 0, "total": 1, "amount_yuan": 800,
         "received_amount_yuan": 800, "handling_amount_yuan": 0, "resolved_amount_yuan": 0},
    ]
    end = figures.wage_complaints(db, programme, at("2021-03-01 00:00"))
    assert end.rows[0].counts == {"received": 2, "handling": 0, "resolved": 1}
    assert (end.total, end.amount_fen) == (4, 550050)
    assert figures.wage_complaints(db, programme, at("2021-02-05 09:00")).rows == []  # filed at, not before


# --- the page ----------------------------------------------------------------------------------------------

@pytest.fixture
def everything(db, vault, programme):
    staying_world(db, vault, programme)
    complaints_world(db, vault, programme)
    site = make_site(db, vault, name="鹿城电器", district="鹿城区")
    raise_alert(db, site, "2021-02-12 08:00")
    db.commit()


def sections(html: str) -> set[str]:
    return {name for name in ("staying", "retention", "health", "complaints") if f'<section class="card" id="{name}"'
            in html}


def test_the_page_shows_each_reader_only_the_figures_that_concern_them(db, vault, everything, login_as, set_clock):
    set_clock("2021-02-20 09:00")
    readers = {Role.OFFICIAL: {"staying", "retention", "health", "complaints"},
               Role.AUDITOR: {"staying", "retention", "health", "complaints"},
               Role.HEALTH_OFFICIAL: {"health"}, Role.HR_OFFICIAL: {"complaints"}}
    for role, expected in readers.items():
        page = login_as(make_user(db, vault, role)).get("/admin/figures?at=2021-02-15T00:00")
        assert page.status_code == 200, role
        assert sections(page.text) == expected, role
    for role in (Role.ECONOMY_OFFICIAL, Role.POLICE_OFFICIAL, Role.GATEKEEPER):
        assert login_as(make_user(db, vault, role)).get("/admin/figures").status_code == 403, role


def test_the_page_draws_each_figure_with_its_table(db, vault, everything, login_as, set_clock):
    set_clock("2021-02-20 09:00")
    page = login_as(make_user(db, vault, Role.AUDITOR)).get("/admin/figures?at=2021-02-15T00:00")
    html = page.text
    for chart in ("chart-staying", "chart-retention-districts", "chart-retention-enterprises", "chart-health-days",
                  "chart-health-districts", "chart-complaints"):
        assert f'data-chart="{chart}"' in html, chart
    assert 'value="2021-02-15T00:00"' in html
    # 12 Feb: 甲, 丙, 丁 (uploaded 14 Feb) and 戊 (decided 14 Feb) — all non-local by then.
    assert '<td class="num">4</td><td class="num">0</td><td class="num">4</td>' in html
    assert "<td>2021-02-12</td><td>鹿城区</td>" in html
    assert "¥4,200.50" in html and "¥800" in html
    assert 'class="stage stage-preview"' in html  # before the cutoff: a projection, said so


def test_the_page_refuses_an_instant_still_to_come_and_says_so(db, vault, everything, login_as, set_clock):
    set_clock("2021-02-20 09:00")
    client = login_as(make_user(db, vault, Role.OFFICIAL))
    page = client.get("/admin/figures?at=2021-02-25T00:00")
    assert page.status_code == 200
    assert 'role="alert"' in page.text and 'value="2021-02-20T09:00"' in page.text
    assert 'role="alert"' in client.get("/admin/figures?at=yesterday").text


def test_honest_empty_states(db, vault, login_as, set_clock):
    set_clock("2021-01-20 09:00")
    html = login_as(make_user(db, vault, Role.OFFICIAL)).get("/admin/figures").text
    assert "chart-svg" not in html
    assert html.count('class="empty"') == 4


def download(client, page_url: str, fmt: str):
    """Press the page's download button: its form's token and instant, as a browser would post them."""
    html = client.get(page_url).text
    instant = re.search(r'<input id="at" name="at" type="hidden" value="([^"]*)"', html).group(1)
    return client.post("/admin/figures/download",
                       data={"csrf_token": csrf_token_from(html), "at": instant, "format": fmt}), instant


def test_the_page_downloads_the_figures_it_shows_as_the_command_line_writes_them(app, db, vault, everything,
                                                                                login_as, set_clock):
    set_clock("2021-02-20 09:00")
    client = login_as(make_user(db, vault, Role.AUDITOR))
    response, instant = download(client, "/admin/figures?at=2021-02-15T00:00", "csv")
    assert response.status_code == 200 and instant == at("2021-02-15 00:00").isoformat()
    assert response.headers["Content-Disposition"] == 'attachment; filename="wzcheckin-figures-20210215T0000.csv"'
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel opens the Chinese names right
    in_file = list(csv.reader(io.StringIO(text[1:])))
    command = app.test_cli_runner().invoke(args=["report", "figures", "--as-of", "2021-02-15T00:00", "--format", "csv"])
    assert in_file == list(csv.reader(io.StringIO(command.stdout)))
    assert ["staying_per_day", instant, "2021-02-12", "", "", "", "non_local", "4"] in in_file

    [entry] = audit_entries(db)
    assert (entry.action, entry.target_id) == ("admin.export", "figures")
    assert entry.details == {"dataset": "figures", "format": "csv", "rows": len(in_file) - 1, "masked": True,
                             "as_of": instant, "figures": ["staying", "retention", "health", "complaints"]}
    log = client.get("/admin/audit?action=admin.export")
    assert log.status_code == 200 and "figures" in log.text


def test_a_downloaded_file_holds_only_the_figures_that_concern_its_reader(db, vault, everything, login_as,
                                                                         set_clock):
    set_clock("2021-02-20 09:00")
    client = login_as(make_user(db, vault, Role.HEALTH_OFFICIAL))
    response, _instant = download(client, "/admin/figures?at=2021-02-15T00:00", "xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(figures.FIGURES_CSV_HEADER)
    assert {row[0] for row in rows[1:]} == {"health_alerts"}
    assert ["health_alerts", at("2021-02-15 00:00").isoformat(), "2021-02-12", "鹿城区", None, None, "fever", 1] \
        in rows
    assert [entry.details["rows"] for entry in audit_entries(db)] == [len(rows) - 1]


def test_a_download_needs_the_form_and_an_instant_already_past(db, vault, everything, login_as, set_clock):
    set_clock("2021-02-20 09:00")
    client = login_as(make_user(db, vault, Role.OFFICIAL))
    assert client.post("/admin/figures/download", data={"format": "csv"}).status_code == 400  # no token
    token = csrf_token_from(client.get("/admin/figures").text)
    assert client.post("/admin/figures/download", data={"csrf_token": token, "format": "pdf"}).status_code == 400
    later = client.post("/admin/figures/download",
                        data={"csrf_token": token, "format": "csv", "at": "2021-02-25T00:00"})
    assert later.status_code == 303 and later.headers["Location"].endswith("/admin/figures")
    assert 'role="status"' in client.get("/admin/figures").text  # the refusal, said on the page
    assert audit_entries(db) == []
    gatekeeper = login_as(make_user(db, vault, Role.GATEKEEPER))
    assert gatekeeper.post("/admin/figures/download", data={"csrf_token": token, "format": "csv"}).status_code == 403


# --- the command line --------------------------------------------------------------------------------------

def test_report_figures_json_and_csv(app, db, vault, programme, everything, set_clock):
    set_clock("2021-02-20 09:00")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "figures", "--as-of", "2021-02-15T00:00"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["as_of"] == at("2021-02-15 00:00").isoformat()
    assert next(row for row in data["staying_per_day"] if row["day"] == "2021-02-12")["non_local"] == 4
    assert data["retention"]["basis"] == "preview" and data["retention"]["staying_means"] == "on_track"
    assert data["health_alerts"] == [{"day": "2021-02-12", "district": "鹿城区", "fever": 1, "symptoms": 0,
                                      "total": 1}]
    assert data["wage_complaints"][0]["amount_yuan"] == 4200.5

    result = runner.invoke(args=["report", "figures", "--as-of", "2021-02-15T00:00", "--format", "csv",
                                 "--figure", "complaints"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(figures.FIGURES_CSV_HEADER)
    assert {row[0] for row in rows[1:]} == {"wage_complaints"}
    assert ["wage_complaints", at("2021-02-15 00:00").isoformat(), "", "瓯海区", "", "", "amount_yuan", "4200.5"] \
        in rows

    result = runner.invoke(args=["report", "figures", "--as-of", "2021-03-01"])
    assert result.exit_code == 1 and "has not come yet" in result.stderr
    result = runner.invoke(args=["report", "figures", "--as-of", "soon"])
    assert result.exit_code == 1 and "ISO-8601" in result.stderr


def test_an_instant_without_offset_is_wenzhou_time(programme):
    now = at("2021-02-20 09:00")
    assert figures.parse_as_of(programme, "2021-02-15T08:00", now) == at("2021-02-15 08:00")
    assert figures.parse_as_of(programme, "2021-02-15", now) == at("2021-02-15 00:00")
    assert figures.parse_as_of(programme, "2021-02-15T00:00:00+00:00", now) == at("2021-02-15 08:00")
    assert figures.parse_as_of(programme, "", now) == now
    with pytest.raises(figures.InstantRefused):
        figures.parse_as_of(programme, (now + timedelta(seconds=1)).isoformat(), now)
