"""A believable Wenzhou data set for demos and manual testing (``wzcheckin demo``).

Idempotent: it goes through the same upsert functions as the imports, so running it twice
changes nothing. Each room adds its own data through ``Room(demo=...)``, called in the order of
``rooms.ROOMS`` after the enterprises, workers and staff below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.lookups import find_user_by_phone, hash_password
from wzcheckin.accounts.models import User
from wzcheckin.accounts.staff import create_or_update_staff
from wzcheckin.accounts.workers import CleanWorkerDetails, upsert_roster_worker
from wzcheckin.codes.keys import create_signing_key
from wzcheckin.codes.models import SigningKey
from wzcheckin.core.demo import DEMO_PASSWORD, DemoContext
from wzcheckin.core.identity import credit_check_character, id_check_character
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.roles import Role
from wzcheckin.directory.models import Ownership
from wzcheckin.enterprises.services import EnterpriseRow, upsert_enterprise
from wzcheckin.programme import Programme
from wzcheckin.rooms import ROOMS


def credit_code(region: str, org: str) -> str:
    """A valid 统一社会信用代码: 91 (enterprise) + region + 9-character organisation code."""
    first17 = f"91{region}{org}"
    return first17 + credit_check_character(first17)


def id_number(region: str, born: date, sequence: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_check_character(first17)


DEMO_ENTERPRISES = [
    # (region, org code, name, district, ownership, industrial, admin phone)
    ("330304", "MA2H8KQ1X", "温州瓯江鞋业有限公司", "瓯海区", Ownership.PRIVATE, True, "13957710001"),
    ("330382", "MA2J5RT3Y", "乐清柳市电气配件有限公司", "乐清市", Ownership.PRIVATE, True, "13957710002"),
    ("330381", "MA2K7PW4N", "瑞安汽摩配件制造有限公司", "瑞安市", Ownership.PRIVATE, True, "13957710003"),
    ("330303", "MA2L9DX5M", "温州龙湾阀门有限公司", "龙湾区", Ownership.PRIVATE, True, "13957710004"),
    ("330302", "MA2M3FC6K", "温州市城市服务集团有限公司", "鹿城区", Ownership.STATE, False, "13957710005"),
    ("330302", "MA2N4GB7J", "温州明眸眼镜有限公司", "鹿城区", Ownership.FOREIGN, True, "13957710006"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
         "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "小红", "志强", "海燕", "春梅"]
HOME_REGIONS = ["510122", "520102", "410105", "340102", "360102", "430102", "530102", "500101", "330302"]
PHONE_PREFIXES = ["138", "139", "186", "156", "189", "133", "150", "177"]


def _demo_workers() -> list[tuple[int, str, str, str]]:
    """(enterprise index, name, id number, phone) for 48 workers: 8 per enterprise."""
    rows = []
    for index in range(48):
        name = SURNAMES[index % len(SURNAMES)] + GIVEN[(index * 7) % len(GIVEN)]
        region = HOME_REGIONS[index % len(HOME_REGIONS)]
        born = date(1975 + index % 25, 1 + index % 12, 1 + (index * 3) % 28)
        phone = f"{PHONE_PREFIXES[index % len(PHONE_PREFIXES)]}5770{2000 + index:04d}"
        rows.append((index % len(DEMO_ENTERPRISES), name, id_number(region, born, 100 + index), phone))
    return rows


def load_demo(session: Session, vault: PersonalDataVault, programme: Programme, now: datetime,
              progress: Callable[[str], None] = lambda _m: None) -> list[dict]:
    demo = DemoContext()
    if session.scalar(sa.select(SigningKey).where(SigningKey.retired_at.is_(None))) is None:
        create_signing_key(session, vault, now)

    progress("enterprises…")
    for region, org, name, district, ownership, industrial, admin_phone in DEMO_ENTERPRISES:
        row = EnterpriseRow(credit_code(region, org), name, district, ownership, industrial, admin_phone)
        enterprise, _created = upsert_enterprise(session, vault, row, now)
        demo.enterprises[enterprise.credit_code] = enterprise
        admin = find_user_by_phone(session, vault, admin_phone)
        if admin is not None and admin.password_hash is None:
            admin.password_hash = hash_password(DEMO_PASSWORD)
    enterprises = list(demo.enterprises.values())
    first = enterprises[0]
    demo.add_login("enterprise_admin", DEMO_ENTERPRISES[0][6], f"{first.name}")

    progress("workers…")
    permit_expiry = date(programme.cutoff.year + 1, 6, 30)
    for index, (enterprise_index, name, number, phone) in enumerate(_demo_workers()):
        clean = CleanWorkerDetails(
            name=name, id_number=number, id_tail=number[-4:], phone=phone,
            enterprise=enterprises[enterprise_index], hukou="",
            residence_permit_no=f"33030{index:07d}" if index % 3 == 0 else None,
            residence_permit_expiry=permit_expiry if index % 3 == 0 else None,
            pledged=index % 10 != 9,
        )
        worker, _created = upsert_roster_worker(session, vault, programme, clean, now)
        demo.workers.append(worker)
    # The first worker has an account already, as if they had activated it on their phone.
    first_worker = demo.workers[0]
    if first_worker.user.password_hash is None:
        first_worker.user.password_hash = hash_password(DEMO_PASSWORD)
    demo.add_login("worker", _demo_workers()[0][3], f"{first_worker.name}, {first.name}")
    demo.add_login("worker", _demo_workers()[1][3], "not activated yet: try 'activate account' with ID "
                   f"{_demo_workers()[1][2]}; the SMS code shows on /dev/codes (WZCHECKIN_DEV=1 only)",
                   password="(set on activation)")  # noqa: S106
    demo.add_login("worker", "(any new number)", "self-registration at /register: the SMS code for the number "
                   "shows on /dev/codes (WZCHECKIN_DEV=1 only)", password="(chosen when registering)")  # noqa: S106

    progress("staff…")
    staff = [
        (Role.GATEKEEPER, "13957720001", first.gate_ref, None, f"gate of {first.name}"),
        (Role.OFFICIAL, "13957720009", None, None, "工作专班 programme office"),
        (Role.HR_OFFICIAL, "13957720011", None, None, "人社局: P6 training, P7 retention, wage complaints"),
        (Role.ECONOMY_OFFICIAL, "13957720012", None, None, "经信局: P8 production reward, hotline cases"),
        (Role.HEALTH_OFFICIAL, "13957720013", None, None, "卫健委: health alerts"),
        (Role.POLICE_OFFICIAL, "13957720014", None, None, "公安局: new-resident points"),
        (Role.AUDITOR, "13957720015", None, None, "审计: reads everything, decides nothing"),
        (Role.CARRIER, "13957720008", None, "china_mobile", "China Mobile"),
    ]
    for role, phone, checkpoint, carrier, note in staff:
        create_or_update_staff(session, vault, role=role, phone_raw=phone, password=DEMO_PASSWORD, now=now,
                               checkpoint_ref=checkpoint, carrier=carrier, display_name=note)
        demo.add_login(str(role), phone, note)

    for room in ROOMS:
        if room.demo is not None:
            room.demo(session, vault, programme, now, demo)
    session.flush()
    return demo.logins


def demo_user(session: Session, vault: PersonalDataVault, phone: str) -> User | None:
    return find_user_by_phone(session, vault, phone)
