"""Welfare room, demo data: three pickup points (one nearly empty, to see ``out_of_stock``) and
a pickup-staff login at the first."""

from __future__ import annotations

from wzcheckin.accounts.staff import create_or_update_staff
from wzcheckin.core.demo import DEMO_PASSWORD
from wzcheckin.core.roles import Role
from wzcheckin.welfare.models import PickupPoint
from wzcheckin.welfare.services import PickupPointRow, upsert_pickup_point

DEMO_PICKUP_POINTS = [
    PickupPointRow("LC-WUMA", "五马街道社区卫生服务中心", "鹿城区", "鹿城区五马街道解放街 88 号", 300),
    PickupPointRow("OH-LOUQIAO", "娄桥街道新居民服务站", "瓯海区", "瓯海区娄桥街道古岸头路 12 号", 200),
    PickupPointRow("LW-YONGZHONG", "永中街道党群服务中心", "龙湾区", "龙湾区永中街道永宁西路 5 号", 2),
]
PICKUP_STAFF_PHONE = "13957720003"


def load(session, vault, programme, now, demo) -> None:
    points = []
    for row in DEMO_PICKUP_POINTS:
        existing_point, _created = upsert_pickup_point(session, _keep_delivered(session, row), now)
        points.append(existing_point)
    create_or_update_staff(session, vault, role=Role.PICKUP_STAFF, phone_raw=PICKUP_STAFF_PHONE,
                           password=DEMO_PASSWORD, now=now, checkpoint_ref=points[0].ref,
                           display_name=points[0].name)
    demo.add_login(str(Role.PICKUP_STAFF), PICKUP_STAFF_PHONE, f"pickup point {points[0].name}")


def _keep_delivered(session, row: PickupPointRow) -> PickupPointRow:
    """Running the demo again must not refuse a point whose packs have been handed out."""
    import sqlalchemy as sa


    point = session.scalar(sa.select(PickupPoint).where(PickupPoint.code == row.code))
    if point is None or point.handed_out <= row.stock:
        return row
    return PickupPointRow(row.code, row.name, row.district, row.address, point.handed_out)
