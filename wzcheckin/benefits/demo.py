"""Benefits room, demo data: training courses (with a class scanner login), warmth activities, the
services directory, a few data-bonus claims for the carrier's desk, and an example complaint.
Idempotent: everything is looked up by its natural key before it is created."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import sqlalchemy as sa

from wzcheckin.accounts.staff import create_or_update_staff
from wzcheckin.accounts.workers import retained_worker_problem
from wzcheckin.benefits import activities as acts
from wzcheckin.benefits import directory
from wzcheckin.benefits.attendance import enrol, find_enrolment
from wzcheckin.benefits.courses import CourseInput, clean_course, find_course, save_course
from wzcheckin.benefits.data_bonus import claim_blocker, claim_data_bonus, find_claim
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import Activity, ServiceListing, WageComplaint
from wzcheckin.benefits.rights import ComplaintInput, file_complaint, handle_complaint
from wzcheckin.core.demo import DEMO_PASSWORD
from wzcheckin.core.roles import Role

CLASS_SCANNER_PHONE = "13957720051"
OFFLINE_CODE = "WZ-CNC-2021"


def _courses(session, vault, programme, now, demo) -> None:
    enterprises = list(demo.enterprises.values())
    first = enterprises[0]
    period = programme.training
    rows = [
        CourseInput(code=OFFLINE_CODE, title="数控车床操作（春节项目制培训）", mode="offline",
                             provider="温州市职业技能培训中心", class_hours="40", cost_yuan="1200",
                             credit_code=first.credit_code, district=first.district,
                             address="瓯海区娄桥工业园区培训楼3楼", starts_on=period.project_period_start,
                             ends_on=period.project_period_start + timedelta(days=4),
                             capacity="40", description="每天8课时，共5天；凭通行码扫码签到。",
                             sessions="\n".join(f"{period.project_period_start + timedelta(days=n)} 8" for n in range(5))),
        CourseInput(code="WZ-EC-ONLINE", title="电子商务运营（线上）", mode="online",
                             provider="浙江人才网络学院", class_hours="24", cost_yuan="600",
                             credit_code=first.credit_code, district="",
                             address="", starts_on=programme.programme.starts, ends_on=period.online_deadline,
                             capacity="", description="2月底前完成线上学习，企业上传结业名单。"),
        CourseInput(code="CITY-COOK-01", title="家常菜烹饪（公益）", mode="offline",
                             provider="鹿城区职工服务中心", class_hours="6", cost_yuan="0", credit_code="",
                             district="鹿城区", address="鹿城区人民西路职工活动中心", starts_on=date(2021, 2, 13),
                             ends_on=date(2021, 2, 14),
                             capacity="30", description="城市公益课程，所有留温员工可报名。",
                             sessions="2021-02-13 3\n2021-02-14 3"),
    ]
    for data in rows:
        clean = clean_course(session, data)
        save_course(session, clean, now, course=find_course(session, clean.code))
    create_or_update_staff(session, vault, role=Role.VENUE_STAFF, phone_raw=CLASS_SCANNER_PHONE,
                           password=demo_password(), now=now, checkpoint_ref=f"training:{OFFLINE_CODE}",
                           display_name="数控车床培训签到")
    demo.add_login("venue_staff", CLASS_SCANNER_PHONE, f"training class scanner (training:{OFFLINE_CODE})")
    # Two workers of the organiser enrolled.
    for worker in [w for w in demo.workers if w.enterprise_id == first.id][:2]:
        course = find_course(session, OFFLINE_CODE)
        if find_enrolment(session, course.id, worker.id) is None:
            with contextlib.suppress(BenefitRefused):  # a demo run after the course has ended
                enrol(session, programme, course, worker, now)


def _activities(session, programme, now) -> None:
    spring = programme.programme.spring_festival or date(2021, 2, 12)
    rows = [
        acts.ActivityInput(title="打卡江心屿", title_en="Check in at Jiangxin Islet", kind="landmark",
                           gift="温州非遗手作红包一份", gift_activity="健康有礼", district="鹿城区",
                           place="江心屿东塔广场", starts_on=spring - timedelta(days=12),
                           ends_on=spring + timedelta(days=16),
                           description="扫描海报上的二维码打卡，凭打卡记录到游客中心领取礼品。"),
        acts.ActivityInput(title="晒晒我的年夜饭", title_en="My New Year's Eve dinner", kind="photo",
                           gift="话费券20元", gift_activity="敬业有礼", district="",
                           place="", starts_on=spring - timedelta(days=1), ends_on=spring + timedelta(days=2),
                           description="除夕夜上传自己做的年夜饭照片。"),
    ]
    for data in rows:
        existing = session.scalar(sa.select(Activity).where(Activity.title == data.title))
        acts.save_activity(session, acts.clean_activity(data, programme), now, existing)


SERVICES = [
    ("canteen", "娄桥工业园区职工食堂", "瓯海区", "娄桥街道古岸头路18号", "06:30–19:30", "0577-86000001"),
    ("market", "娄桥农贸市场", "瓯海区", "娄桥街道中汇路", "05:30–18:00", ""),
    ("shop", "世纪联华（柳市店）", "乐清市", "柳市镇长虹路", "08:00–22:00", "0577-62000002"),
    ("childcare", "“小候鸟”公益托管班（瑞安）", "瑞安市", "瑞安市塘下镇社区服务中心", "08:00–17:30", "0577-65000003"),
    ("bus", "工业园区公交春节不停运：B12 路", "龙湾区", "龙湾工业园区—市区", "06:00–21:00，每20分钟一班", ""),
]


def _services(session, programme, now) -> None:
    start = programme.programme.holiday_start or date(2021, 2, 11)
    end = programme.programme.holiday_end or date(2021, 2, 17)
    for kind, name, district, address, hours, contact in SERVICES:
        values = directory.clean_service(directory.ServiceInput(
            kind=kind, name=name, district=district, address=address, hours=hours, contact=contact,
            opens_on=start - timedelta(days=3), closes_on=end + timedelta(days=3), notes="春节期间持续营业"))
        existing = session.scalar(sa.select(ServiceListing).where(
            ServiceListing.kind == values["kind"], ServiceListing.name == name, ServiceListing.district == district))
        directory.save_service(session, values, now, listing=existing)


def _claims_and_complaint(session, vault, programme, now, demo) -> None:
    # A few data-bonus claims so the carriers' desks have work; the first worker claims himself.
    for worker in demo.workers[2:12]:
        if retained_worker_problem(worker) is None and find_claim(session, worker.id) is None \
                and claim_blocker(session, programme, worker, now) is None:  # a demo outside the claim window
            claim_data_bonus(session, vault, programme, worker, now)
    worker = demo.workers[3]
    if session.scalar(sa.select(WageComplaint.id).where(WageComplaint.worker_id == worker.id)) is None:
        complaint = file_complaint(session, worker, ComplaintInput(
            credit_code=worker.enterprise.credit_code if worker.enterprise else "", employer_name="",
            months="2", amount_yuan="9600", description="2020年11月、12月工资未发放，老板说春节后再结。"), now)
        handle_complaint(session, complaint.id, status="handling", note="已受理，劳动监察大队将于3个工作日内联系企业。",
                         now=now)


def demo_password() -> str:
    return DEMO_PASSWORD


def load(session, vault, programme, now, demo) -> None:
    _courses(session, vault, programme, now, demo)
    _activities(session, programme, now)
    _services(session, programme, now)
    _claims_and_complaint(session, vault, programme, now, demo)
