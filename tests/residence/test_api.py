"""The residence API: a worker's departure (bearer token), and the officials' snapshot, on a
simulated clock."""

from tests.builders import make_user, make_worker
from tests.residence.builders import bulk_workers, make_site
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.core.roles import Role


def bearer(db, user):
    from wzcheckin import clock

    # Issued by the real clock: API tokens expire, and the tests' simulated clocks lie before it.
    token = issue_api_token(db, user, clock.now())
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_worker_records_a_departure_through_the_api(db, vault, programme, client, set_clock):
    set_clock("2021-02-20 09:00")
    worker = make_worker(db, vault, programme)
    headers = bearer(db, worker.user)
    assert client.get("/api/v1/me/departure", headers=headers).status_code == 404
    bad = client.post("/api/v1/me/departure", json={"departed_on": "20 Feb"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_date"
    future = client.post("/api/v1/me/departure", json={"departed_on": "2021-02-21"}, headers=headers)
    assert future.status_code == 422 and future.get_json()["error"]["code"] == "departure_in_future"
    made = client.post("/api/v1/me/departure", json={"departed_on": "2021-02-19", "note": "回家"}, headers=headers)
    assert made.status_code == 201 and made.get_json()["departed_on"] == "2021-02-19"
    twice = client.post("/api/v1/me/departure", json={"departed_on": "2021-02-19"}, headers=headers)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_departed"
    assert client.delete("/api/v1/me/departure", headers=headers).status_code == 204
    set_clock("2021-03-01 00:00")
    late = client.post("/api/v1/me/departure", json={"departed_on": "2021-02-27"}, headers=headers)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "cutoff_passed"


def test_officials_read_the_snapshot_and_others_may_not(db, vault, client, cutoff):
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 12)
    official = make_user(db, vault, Role.OFFICIAL)
    headers = bearer(db, official)
    before = client.get("/api/v1/residence/snapshot", headers=headers).get_json()
    assert before["snapshot"] is None
    assert client.get("/api/v1/residence/headcounts", headers=headers).get_json()["error"]["code"] == "no_snapshot"
    cutoff()
    body = client.get("/api/v1/residence/snapshot", headers=headers).get_json()["snapshot"]
    assert body["kind"] == "official" and body["summary"]["workers"]["confirmed"] == 12
    gatekeeper_headers = bearer(db, site.staff)
    assert client.get("/api/v1/residence/snapshot", headers=gatekeeper_headers).status_code == 403
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/residence/snapshot", "/residence/headcounts", "/me/departure",
            "/enterprise/subsidy-application"} <= {path.removeprefix("/api/v1") for path in spec["paths"]}
