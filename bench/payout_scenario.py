"""The payout-integrity scenario of issue 12, run end to end in process on a fresh SQLite file
through the public pieces (CSV imports, the scan API with a gatekeeper's token, the cutoff run):

* a private enterprise with 49 honest non-local workers on its roster, scanned in every window;
* one more worker from 乐清 (a Wenzhou county: ID 330382…, declared hukou 浙江省乐清市);
* one more worker with no scan in the holiday window, for whom the gatekeeper uploads a
  backdated scan (a pass issued on 20 Feb stamped as scanned on 17 Feb);
* one honest worker's residence permit expires on 28 Feb;
* the day after the cutoff the roster is re-imported with one worker moved to another employer,
  and the cutoff instant is recomputed.

Prints one JSON object of the figures. ``python -m bench.payout_scenario`` from a checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

KEYS = {
    "WZCHECKIN_SECRET_KEY": "scenario-secret-key-scenario-secret-key",
    "WZCHECKIN_DATA_KEYS": "mGQxs4t5V7mLkGzKq8h3W0rVqvUQ9v6nS8jzRZq3VYk=",
    "WZCHECKIN_LOOKUP_KEY": "scenario-lookup-key-scenario-lookup-key-0123",
}
TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


def id_number(region: str, n: int) -> str:
    from wzcheckin.core.identity import id_check_character

    first17 = f"{region}{date(1990, 1, 1) + timedelta(days=n):%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


def credit_code(n: int) -> str:
    from wzcheckin.core.identity import credit_check_character

    first17 = f"91330304MA{n:07d}"
    return first17 + credit_check_character(first17)


def main() -> None:
    import os

    work = Path(tempfile.mkdtemp(prefix="wz-scenario-"))
    url = f"sqlite:///{work}/scenario.sqlite3"
    env = {**os.environ, **KEYS, "WZCHECKIN_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "wzcheckin.cli", "init"], env=env, check=True, capture_output=True)
    os.environ.update({**KEYS, "WZCHECKIN_DATABASE_URL": url})

    from wzcheckin import create_app
    from wzcheckin.accounts.api_tokens import issue_api_token
    from wzcheckin.accounts.importer import import_workers
    from wzcheckin.accounts.models import Worker
    from wzcheckin.accounts.staff import create_or_update_staff
    from wzcheckin.benefits.models import PointsEntry
    from wzcheckin.clock import SimulatedClock
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.codes.passes import current_pass
    from wzcheckin.core import context
    from wzcheckin.core.roles import Role
    from wzcheckin.enterprises.services import import_enterprises
    from wzcheckin.extensions import db
    from wzcheckin.residence.cutoff import run_snapshot
    from wzcheckin.residence.models import EnterpriseHeadcount, SnapshotKind

    app = create_app({"DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    clock = SimulatedClock(work / "clock")
    app.extensions["wzcheckin.clock"] = clock
    figures: dict = {}
    with app.app_context():
        session, vault, programme = db.session, context.vault(), context.programme()
        code, other = credit_code(1), credit_code(2)
        header = "credit_code,name,district,ownership,industrial,admin_phone\n"
        import_enterprises(session, vault, header + f"{code},温州诚信鞋业有限公司,瓯海区,private,yes,\n"
                                                    f"{other},另一家企业,龙湾区,private,no,\n", at("2021-01-20 09:00"))
        roster_header = "credit_code,name,id_number,phone,hukou,residence_permit_no,residence_permit_expiry,pledged\n"
        people = []
        for n in range(49):   # honest non-local workers; the first one's permit expires on 28 Feb
            expiry = "2021-02-28" if n == 0 else "2021-12-31"
            people.append([code, f"工人{n}", id_number("510122", n), f"139{n:08d}", "", f"ZJ{n:06d}", expiry, "yes"])
        people.append([code, "乐清工人", id_number("330382", 60), "13900000060", "浙江省乐清市", "", "", "yes"])
        people.append([code, "缺节中", id_number("510122", 61), "13900000061", "", "", "", "yes"])
        import_workers(session, vault, programme, roster_header + "".join(",".join(p) + "\n" for p in people),
                       at("2021-01-25 09:00"))
        staff, _ = create_or_update_staff(session, vault, role=Role.GATEKEEPER, phone_raw="13700000001",
                                          password="scenario-pass-1", now=at("2021-01-25 09:00"),
                                          checkpoint_ref=f"gate:{code}")
        bearer = issue_api_token(session, staff, at("2021-01-25 09:00"))
        session.commit()
        keyring = load_keyring(session, vault)
        workers = {w.name: w for w in session.scalars(sa.select(Worker))}
        client = app.test_client()
        headers = {"Authorization": f"Bearer {bearer}"}

        def upload(worker, issued: datetime, scanned: datetime) -> dict:
            token = current_pass(worker, keyring, programme, issued).token
            body = {"token": token, "scanned_at": scanned.isoformat(), "mask": True, "temperature": 36.5}
            return client.post("/api/v1/scans", json=body, headers=headers).get_json()

        for when in ("2021-02-05 08:00", "2021-02-13 08:00", "2021-02-22 08:00"):
            for name, worker in workers.items():
                if name == "缺节中" and when.startswith("2021-02-13"):
                    continue
                clock.set(at(when))
                answer = upload(worker, at(when), at(when))
                assert answer["result"] == "accepted", answer
        # The backdated upload: a pass issued on 20 Feb, stamped as scanned on 17 Feb (69 h earlier).
        clock.set(at("2021-02-20 09:00"))
        token = current_pass(workers["缺节中"], keyring, programme, at("2021-02-20 09:00")).token
        backdated = client.post("/api/v1/scans", headers=headers, json={
            "token": token, "scanned_at": at("2021-02-17 12:00").isoformat(), "mask": True,
            "temperature": 36.5}).get_json()
        figures["backdated_upload"] = {"result": backdated["result"], "reason": backdated["reason"]}

        official = run_snapshot(session, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"))
        row = session.get(EnterpriseHeadcount, (official["snapshot_id"], workers["工人0"].enterprise_id))
        figures["official"] = {"retained": row.retained, "tier": row.tier, "amount_yuan": row.amount_yuan}
        points = dict(session.execute(sa.select(PointsEntry.worker_id, PointsEntry.amount)).all())
        figures["p2_points"] = {"workers_awarded": len(points),
                                "permit_expiring_28_feb": points.get(workers["工人0"].id, 0)}

        # The day after: the roster re-imported with one worker moved to another employer.
        people[1][0] = other
        import_workers(session, vault, programme, roster_header + "".join(",".join(p) + "\n" for p in people),
                       at("2021-03-02 09:00"))
        session.commit()
        again = run_snapshot(session, programme, as_of=programme.cutoff, now=at("2021-03-02 10:00"),
                             kind=SnapshotKind.TRIAL)
        row = session.get(EnterpriseHeadcount, (again["snapshot_id"], workers["工人0"].enterprise_id))
        figures["recomputed_after_reimport"] = {"retained": row.retained, "tier": row.tier,
                                                "amount_yuan": row.amount_yuan}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
