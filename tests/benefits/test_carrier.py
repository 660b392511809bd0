"""Carriers fulfil data bonuses: each sees only its own claims, exports the pending ones with the
full phone number (an audited reveal), and uploads results that the worker then sees. A bad
results file changes nothing and names its bad lines."""

import csv
import io

import sqlalchemy as sa

from tests.builders import make_phone, make_user, make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.benefits import data_bonus as bonus
from wzcheckin.benefits.models import ClaimStatus, DataBonusClaim
from wzcheckin.core.roles import Role

NOW = at("2021-02-06 10:00")


def claims_for(db, vault, programme, *prefixes):
    claims = []
    for prefix in prefixes:
        worker = make_worker(db, vault, programme, phone=make_phone(prefix), name="李秀英")
        claims.append(bonus.claim_data_bonus(db, vault, programme, worker, NOW))
    return claims


def statuses(db):
    db.rollback()
    return {claim.id: (claim.status, claim.reason) for claim in db.scalars(sa.select(DataBonusClaim))}


def upload(client, page_url, text):
    token = csrf_token_from(client.get(page_url).text)
    body = text if isinstance(text, bytes) else text.encode("utf-8")
    return client.post("/carrier/claims/results", data={"csrf_token": token, "file": (io.BytesIO(body), "results.csv")},
                       content_type="multipart/form-data")


def test_a_carrier_sees_and_exports_only_its_own_pending_claims(client, db, vault, programme, login_as,
                                                                  carrier_of, audit_entries):
    mobile_a, mobile_b, unicom = claims_for(db, vault, programme, "139", "138", "186")
    mobile_b.status = ClaimStatus.FULFILLED
    carrier = carrier_of("china_mobile")
    db.commit()
    phones = {c.id: vault.decrypt(c.phone_encrypted) for c in (mobile_a, mobile_b, unicom)}
    login_as(carrier)
    page = client.get("/carrier/claims")
    assert page.status_code == 200 and "中国移动" in page.text
    assert mobile_a.phone_masked in page.text and unicom.phone_masked not in page.text
    assert phones[mobile_a.id] not in page.text  # the page masks; only the export reveals

    export = client.post("/carrier/claims/export", data={"csrf_token": csrf_token_from(page.text)})
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[0] == ["claim_id", "name", "phone", "gigabytes", "carrier", "claimed_at"]
    assert [row[:5] for row in rows[1:]] == [[str(mobile_a.id), "李*英", phones[mobile_a.id], "10", "china_mobile"]]
    assert rows[1][5].endswith("+08:00")  # Wenzhou time, as every export

    [entry] = audit_entries("data_bonus.export")
    assert entry.actor_user_id == carrier.id and entry.details["claims"] == 1 and entry.details["revealed"] == ["phone"]
    assert phones[mobile_a.id] not in str(entry.details)
    assert db.get(DataBonusClaim, mobile_a.id).exported_at is not None
    # "only new" leaves out what was exported before.
    again = client.post("/carrier/claims/export", data={"csrf_token": csrf_token_from(page.text), "only_new": "y"})
    assert len(list(csv.reader(io.StringIO(again.data.decode("utf-8-sig"))))) == 1


def test_results_round_trip_updates_what_the_worker_sees(client, db, vault, programme, login_as, carrier_of,
                                                         audit_entries):
    first, second = claims_for(db, vault, programme, "139", "135")
    carrier = carrier_of("china_mobile")
    worker_user = first.worker.user
    db.commit()
    login_as(carrier)
    response = upload(client, "/carrier/claims",
                      f"claim_id,result,reason\r\n{first.id},fulfilled,\r\n{second.id},FAILED,号码已停机\r\n")
    assert response.status_code == 302
    assert statuses(db) == {first.id: (ClaimStatus.FULFILLED, ""), second.id: (ClaimStatus.FAILED, "号码已停机")}
    [entry] = audit_entries("data_bonus.results")
    assert entry.details == {"fulfilled": 1, "failed": 1, "unchanged": 0}
    # The same file again changes nothing; a failed claim may still be fulfilled later.
    assert upload(client, "/carrier/claims", f"claim_id,result,reason\n{first.id},fulfilled,\n").status_code == 302
    assert upload(client, "/carrier/claims", f"claim_id,result,reason\n{second.id},fulfilled,\n").status_code == 302
    assert statuses(db)[second.id] == (ClaimStatus.FULFILLED, "")
    login_as(worker_user)
    assert client.get("/api/v1/me").get_json()["data_bonus"]["status"] == "fulfilled"
    assert "已到账" in client.get("/me").text


def test_a_bad_results_file_changes_nothing_and_names_every_bad_line(client, db, vault, programme, login_as,
                                                                      carrier_of, audit_entries):
    good, done, unicom = claims_for(db, vault, programme, "139", "138", "186")
    done.status = ClaimStatus.FULFILLED
    carrier = carrier_of("china_mobile")
    db.commit()
    before = statuses(db)
    login_as(carrier)
    text = "\n".join([
        "claim_id,result,reason",
        f"{good.id},fulfilled,",              # 2: fine on its own
        f"{unicom.id},fulfilled,",            # 3: another carrier's claim
        "999999,fulfilled,",                  # 4: no such claim
        f"{good.id},failed,重复",             # 5: repeats line 2
        f"{good.id + 100},delivered,",        # 6: not a result
        f"{done.id},failed,换号",             # 7: fulfilled is final
        "abc,fulfilled,",                     # 8: not a number
    ]) + "\n"
    response = upload(client, "/carrier/claims", text)
    assert response.status_code == 400
    for line in (3, 4, 5, 6, 7, 8):
        assert f"第 {line} 行：" in response.text
    assert "第 2 行：" not in response.text
    assert "未做任何修改" in response.text
    # Said in Chinese on a Chinese page (the stable codes stay in the API's English lines).
    for words in (f"{unicom.id} 不是本运营商的申领", "999999 不是本运营商的申领", "与第 2 行重复",
                  "只能填 fulfilled（已发放）或 failed（失败）", f"申领 {done.id} 已发放", "不是申领编号"):
        assert words in response.text, words
    assert "is not a claim of" not in response.text and "repeats line" not in response.text
    assert statuses(db) == before
    assert audit_entries("data_bonus.results") == []
    assert audit_entries("data_bonus.results_rejected")[0].details == {"bad_lines": 6}
    # A failed result needs a reason; a wrong header is refused as a whole.
    assert "必须填写原因" in upload(client, "/carrier/claims", f"claim_id,result,reason\n{good.id},failed,\n").text
    wrong = upload(client, "/carrier/claims", "id,result\n1,fulfilled\n")
    assert wrong.status_code == 400 and "缺少列 claim_id" in wrong.text and "missing column" not in wrong.text
    assert "不是 UTF-8 编码" in upload(client, "/carrier/claims", "claim_id,result,reason\n1,失败,\n".encode("gbk")).text
    assert statuses(db) == before


def test_carrier_pages_need_a_carrier_account_bound_to_a_carrier(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    unbound = make_user(db, vault, Role.CARRIER, carrier=None)
    db.commit()
    login_as(worker.user)
    assert client.get("/carrier/claims").status_code == 403
    login_as(unbound)
    assert client.get("/carrier/claims").status_code == 403


def test_carrier_api_export_and_results(client, db, vault, programme, carrier_of, audit_entries):
    claim, other = claims_for(db, vault, programme, "133", "139")
    from wzcheckin import clock

    token = issue_api_token(db, carrier_of("china_telecom"), clock.now())  # tokens expire: the real clock
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/carrier/claims?status=pending", headers=auth).get_json()
    assert [c["id"] for c in listed["claims"]] == [claim.id] and listed["counts"]["pending"] == 1
    export = client.post("/api/v1/carrier/claims/export", headers=auth)
    assert vault.decrypt(claim.phone_encrypted) in export.data.decode("utf-8-sig")
    assert audit_entries("data_bonus.export")[0].details["api"] is True
    bad = client.post("/api/v1/carrier/claims/results", headers={**auth, "Content-Type": "text/csv"},
                      data=f"claim_id,result,reason\n{claim.id},fulfilled,\n{other.id},fulfilled,\n")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_lines"
    assert bad.get_json()["error"]["lines"] == [f"line 3: claim_id: {other.id} is not a claim of china_telecom"]
    ok = client.post("/api/v1/carrier/claims/results", headers={**auth, "Content-Type": "text/csv"},
                     data=f"claim_id,result,reason\n{claim.id},fulfilled,\n".encode())
    assert ok.status_code == 200 and ok.get_json()["fulfilled"] == 1
    assert statuses(db)[claim.id][0] is ClaimStatus.FULFILLED and statuses(db)[other.id][0] is ClaimStatus.PENDING
