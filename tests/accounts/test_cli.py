"""The command line, its real commands run in-process: imports are all-or-nothing, re-importing
updates, bad lines are named; user/token/pass commands print their result last."""

import json

import requests
import sqlalchemy as sa

from tests.builders import make_credit_code, make_phone, make_unique_id_number
from tests.support.cli import run_cli

ENTERPRISE_HEADER = "credit_code,name,district,ownership,industrial,admin_phone"
WORKER_HEADER = "credit_code,name,id_number,phone,hukou,residence_permit_no,residence_permit_expiry,pledged"


def count(url, table):
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return value


def test_import_enterprises_creates_gates_and_reimport_updates(fresh_database, tmp_path):
    code = make_credit_code()
    path = tmp_path / "enterprises.csv"
    # Excel writes a BOM and CRLF line ends.
    path.write_bytes(("\ufeff" + ENTERPRISE_HEADER + "\r\n" + f"{code},瓯海鞋厂,瓯海区,private,yes,{make_phone()}\r\n"
                      ).encode("utf-8"))
    first = run_cli(fresh_database, "import", "enterprises", str(path))
    assert json.loads(first.stdout.splitlines()[-1]) == {"imported": "enterprises", "created": 1, "updated": 0}
    renamed = f"{code.lower()},瓯海鞋业有限公司,瓯海区,private,yes,\n"
    path.write_text(ENTERPRISE_HEADER + "\n" + renamed, encoding="utf-8")
    second = run_cli(fresh_database, "import", "enterprises", str(path))
    assert json.loads(second.stdout.splitlines()[-1])["updated"] == 1
    assert count(fresh_database, "enterprises") == 1
    assert count(fresh_database, "checkpoints") == 1
    engine = sa.create_engine(fresh_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT ref FROM checkpoints")).scalar() == f"gate:{code}"
        assert connection.execute(sa.text("SELECT name FROM enterprises")).scalar() == "瓯海鞋业有限公司"
    engine.dispose()


def test_a_bad_line_is_named_and_nothing_is_written(fresh_database, tmp_path):
    good, other = make_credit_code(), make_credit_code()
    path = tmp_path / "enterprises.csv"
    path.write_text("\n".join([
        ENTERPRISE_HEADER,
        f"{good},甲厂,鹿城区,private,yes,",
        f"{other[:-1]}0,乙厂,鹿城区,private,yes,",        # wrong check character
        f"{make_credit_code()},丙厂,鹿城区,public,yes,",   # unknown ownership
        f"{make_credit_code()},丁厂,鹿城区,private,maybe,",
        f"{good},甲厂重复,鹿城区,private,yes,",
    ]) + "\n", encoding="utf-8")
    result = run_cli(fresh_database, "import", "enterprises", str(path), check=False)
    assert result.returncode == 1
    for line, reason in [(3, "credit_check"), (4, "ownership"), (5, "industrial"), (6, "repeats line 2")]:
        assert f"line {line}: " in result.stderr and reason in result.stderr
    assert "nothing was imported" in result.stderr
    assert count(fresh_database, "enterprises") == 0


def test_wrong_header_is_explained(fresh_database, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("code,name\nx,y\n", encoding="utf-8")
    result = run_cli(fresh_database, "import", "enterprises", str(path), check=False)
    assert result.returncode == 1
    assert "missing column(s): credit_code" in result.stderr


def test_not_utf8_is_explained(fresh_database, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes((ENTERPRISE_HEADER + "\n" + "x,温州,y,private,yes,\n").encode("gb18030"))
    result = run_cli(fresh_database, "import", "enterprises", str(path), check=False)
    assert result.returncode == 1 and "CSV UTF-8" in result.stderr


def test_worker_roster_import_is_all_or_nothing_and_idempotent(fresh_database, tmp_path):
    code = make_credit_code()
    (tmp_path / "e.csv").write_text(ENTERPRISE_HEADER + f"\n{code},厂,瑞安市,private,yes,\n", encoding="utf-8")
    run_cli(fresh_database, "import", "enterprises", str(tmp_path / "e.csv"))
    ids = [make_unique_id_number() for _ in range(3)]
    phones = [make_phone() for _ in range(3)]
    roster = tmp_path / "w.csv"
    bad = "\n".join([
        WORKER_HEADER,
        f"{code},张三,{ids[0]},{phones[0]},,,,yes",
        f"{code},李四,{ids[1][:-1]}{'0' if ids[1][-1] != '0' else '1'},{phones[1]},,,,yes",
        f"{code},王五,{ids[2]},{phones[0]},,,,yes",
        f"{code},赵六,{make_unique_id_number()},{make_phone()},,AB1234,2021-13-01,yes",
    ]) + "\n"
    roster.write_text(bad, encoding="utf-8")
    result = run_cli(fresh_database, "import", "workers", str(roster), check=False)
    assert result.returncode == 1
    assert "line 3: id_number: id_check" in result.stderr
    assert "line 4: phone: repeats line 2" in result.stderr
    assert "line 5: residence_permit_expiry" in result.stderr
    assert count(fresh_database, "workers") == 0 and count(fresh_database, "users") == 0
    # No ID or phone number ever appears in the output.
    for value in ids + phones:
        assert value not in result.stderr and value not in result.stdout

    good = "\n".join([WORKER_HEADER,
                      f"{code},张三,{ids[0]},{phones[0]},,,,yes",
                      f"{code},李四,{ids[1]},{phones[1]},浙江温州,33030001,2022-06-30,no"]) + "\n"
    roster.write_text(good, encoding="utf-8")
    first = json.loads(run_cli(fresh_database, "import", "workers", str(roster)).stdout.splitlines()[-1])
    second = json.loads(run_cli(fresh_database, "import", "workers", str(roster)).stdout.splitlines()[-1])
    assert (first["created"], first["updated"]) == (2, 0)
    assert (second["created"], second["updated"]) == (0, 2)
    assert count(fresh_database, "workers") == 2


def test_unknown_enterprise_in_roster(fresh_database, tmp_path):
    roster = tmp_path / "w.csv"
    roster.write_text(WORKER_HEADER + f"\n{make_credit_code()},张三,{make_unique_id_number()},{make_phone()},,,,yes\n",
                      encoding="utf-8")
    result = run_cli(fresh_database, "import", "workers", str(roster), check=False)
    assert result.returncode == 1 and "line 2: credit_code: enterprise_unknown" in result.stderr


def test_user_and_token_create_then_the_api_knows_the_account(fresh_database, tmp_path, gunicorn_server):
    code = make_credit_code()
    (tmp_path / "e.csv").write_text(ENTERPRISE_HEADER + f"\n{code},厂,瑞安市,private,yes,\n", encoding="utf-8")
    run_cli(fresh_database, "import", "enterprises", str(tmp_path / "e.csv"))
    phone = make_phone()
    created = run_cli(fresh_database, "user", "create", "--role", "gatekeeper", "--phone", phone,
                      "--password", "gate-keeper-1", "--checkpoint", f"gate:{code}")
    assert json.loads(created.stdout.splitlines()[-1])["role"] == "gatekeeper"
    refused = run_cli(fresh_database, "user", "create", "--role", "gatekeeper", "--phone", make_phone(),
                      "--password", "gate-keeper-1", check=False)
    assert refused.returncode == 1 and "checkpoint" in refused.stderr
    token = run_cli(fresh_database, "token", "create", "--phone", phone).stdout.splitlines()[-1]
    assert token.startswith("wzt_")
    server = gunicorn_server()
    me = requests.get(server.base_url + "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200
    assert me.json()["checkpoint"] == f"gate:{code}"
    assert me.json()["phone"] == phone[:3] + "****" + phone[-4:]
    bad = requests.get(server.base_url + "/api/v1/whoami", headers={"Authorization": "Bearer wzt_nope"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorised"


def test_token_create_for_a_roster_worker_and_pass_issue(fresh_database, tmp_path):
    code = make_credit_code()
    (tmp_path / "e.csv").write_text(ENTERPRISE_HEADER + f"\n{code},厂,瑞安市,private,yes,\n", encoding="utf-8")
    run_cli(fresh_database, "import", "enterprises", str(tmp_path / "e.csv"))
    id_number, phone = make_unique_id_number(), make_phone()
    (tmp_path / "w.csv").write_text(WORKER_HEADER + f"\n{code},张三,{id_number},{phone},,,,yes\n", encoding="utf-8")
    run_cli(fresh_database, "import", "workers", str(tmp_path / "w.csv"))
    assert run_cli(fresh_database, "token", "create", "--phone", phone).stdout.strip().startswith("wzt_")
    paper = run_cli(fresh_database, "pass", "issue", "--id-number", id_number.lower()).stdout.splitlines()[-1]
    assert len(paper) == 138
    missing = run_cli(fresh_database, "pass", "issue", "--id-number", make_unique_id_number(), check=False)
    assert missing.returncode == 1 and "no worker" in missing.stderr


def test_the_cli_works_from_any_directory(fresh_database, tmp_path, monkeypatch):
    # The app is built after the move, so nothing it reads may hang on the working directory
    # (tests/test_migrations.py starts the real process outside the checkout too).
    monkeypatch.chdir(tmp_path)
    result = run_cli(fresh_database, "keys", "list")
    keys = json.loads(result.stdout.splitlines()[-1])
    assert len(keys) == 1 and keys[0]["alg"] == "Ed25519"
