"""Who may call what: the contract the access-control matrix (test_access_matrix.py) holds the app to.

One line per route and method, as ``"METHOD /rule"``: the roles allowed (``anonymous`` means
everybody, logged in or not) and, for a route that names an object, which object of the world
(``tests/security/world.py``) fills its URL. ``owned_by`` lists the roles for whom that object must
be their own (their booking, their enterprise's alert, their pickup point's hand-out): they get
their own and are refused another side's. Roles in ``roles`` but not in ``owned_by`` (officials)
may reach every such object. ``reveals`` marks the audited reveals, the only answers that may
hold a full ID or phone number (each must write an audit entry).

A route the app has and this table lacks fails the test: a new route needs a line here. The
roles each view declares (``roles_required``, ``public``, ``api_route``) must agree with the line.
"""

from __future__ import annotations

from dataclasses import dataclass

ANYONE = ("anonymous", "worker", "gatekeeper", "enterprise_admin", "venue_staff", "pickup_staff", "carrier", "official",
          "hr_official", "economy_official", "health_official", "police_official", "auditor")
ACCOUNTS = ANYONE[1:]
W, G, EA, VS, PS, C, OFFICIAL = ("worker",), ("gatekeeper",), ("enterprise_admin",), ("venue_staff",), ("pickup_staff",), \
    ("carrier",), ("official",)
SCANNERS = G + VS + PS
# The bureaus (issue 14 item 5), each deciding only its own policies, and the read-only auditor.
# OFFICIAL is the programme office (专班): it reads the money and decides none of it.
HR, ECON, HEALTH, POLICE, AUDITOR = ("hr_official",), ("economy_official",), ("health_official",), \
    ("police_official",), ("auditor",)
OFFICIALS = OFFICIAL + HR + ECON + HEALTH + POLICE + AUDITOR   # the desk: dashboard, programme file
MONEY_READERS = OFFICIAL + AUDITOR + HR + ECON                 # the review queue and the budget
MONEY_DECIDERS = HR + ECON                                     # each its own policies (review.ownership)


@dataclass(frozen=True)
class Access:
    roles: tuple[str, ...]
    path: str | None = None            # the world's object that fills the URL's parameters
    owned_by: tuple[str, ...] = ()     # roles that may only reach their own side's object
    reveals: bool = False              # an audited reveal: may show full ID or phone numbers
    # Another object for some roles: the one that role's bureau owns (a P8 item for 经信局).
    paths: tuple[tuple[str, str], ...] = ()

    def path_for(self, role: str) -> str | None:
        return dict(self.paths).get(role, self.path)


def own(roles: tuple[str, ...], path: str, owned_by: tuple[str, ...] | None = None) -> Access:
    return Access(roles, path, owned_by if owned_by is not None else tuple(r for r in roles if r not in OFFICIALS))


ACCESS: dict[str, Access] = {
    # --- everybody -------------------------------------------------------------------------------
    "GET /": Access(ANYONE),
    "GET /account": Access(ANYONE),
    "GET /activate": Access(ANYONE),
    "POST /activate": Access(ANYONE),
    "GET /activate/code": Access(ANYONE),
    "POST /activate/code": Access(ANYONE),
    "GET /account/phone": Access(ACCOUNTS),
    "POST /account/phone": Access(ACCOUNTS),
    "GET /account/phone/confirm": Access(ACCOUNTS),
    "POST /account/phone/confirm": Access(ACCOUNTS),
    "GET /reset": Access(ANYONE),
    "POST /reset": Access(ANYONE),
    "GET /reset/code": Access(ANYONE),
    "POST /reset/code": Access(ANYONE),
    "GET /healthz": Access(ANYONE),
    "GET /lang/<code>": Access(ANYONE, "language"),
    "GET /login": Access(ANYONE),
    "POST /login": Access(ANYONE),
    "POST /logout": Access(ANYONE),
    "GET /manifest.webmanifest": Access(ANYONE),
    "GET /register": Access(ANYONE),
    "POST /register": Access(ANYONE),
    "GET /register/details": Access(ANYONE),
    "POST /register/details": Access(ANYONE),
    "GET /services": Access(ANYONE),
    "GET /static/<path:filename>": Access(ANYONE, "static"),
    "GET /sw.js": Access(ANYONE),
    "GET /me/pass-sw.js": Access(ANYONE),
    "GET /api/v1/keys": Access(ANYONE),
    "GET /api/v1/openapi.json": Access(ANYONE),
    "GET /api/v1/services": Access(ANYONE),
    "GET /api/v1/venues": Access(ANYONE),
    "GET /api/v1/venues/<code>/slots": Access(ANYONE, "venue"),
    "GET /api/v1/whoami": Access(ACCOUNTS),

    # --- workers ---------------------------------------------------------------------------------
    "GET /me": Access(W),
    "GET /me/pass": Access(W),
    "GET /me/pass/refresh": Access(W),
    "GET /me/pass/batch": Access(W),
    "GET /me/points": Access(W),
    "GET /me/data-bonus": Access(W),
    "POST /me/data-bonus": Access(W),
    "POST /me/data-bonus/carrier": Access(W),
    "GET /me/departure": Access(W),
    "POST /me/departure": Access(W),
    "GET /me/appeals": Access(W),
    "POST /me/appeals": Access(W),
    "GET /me/bookings": Access(W),
    "GET /me/bookings/<public_id>": own(W, "reservation"),
    "POST /me/bookings/<public_id>/cancel": own(W, "reservation"),
    "POST /me/waitlist/<rowid:entry_id>/leave": own(W, "waitlist_entry"),
    "GET /me/complaints": Access(W),
    "GET /me/complaints/new": Access(W),
    "POST /me/complaints/new": Access(W),
    "GET /me/complaints/<rowid:complaint_id>": own(W, "complaint"),
    "GET /me/photos/<public_id>": own(W + OFFICIAL, "photo"),
    "GET /me/checkin": Access(W),
    "POST /me/checkin": Access(W),
    "GET /activities": Access(W),
    "GET /activities/<public_id>": Access(W, "activity"),
    "POST /activities/<public_id>/photo": Access(W, "activity"),
    "GET /c/<code>": Access(W, "poster"),
    "POST /c/<code>": Access(W, "poster"),
    "GET /training": Access(W),
    "GET /training/<code>": own(W, "enterprise_course"),
    "POST /training/<code>/enrol": own(W, "enterprise_course"),
    "GET /venues": Access(W),
    "POST /venues/slots/<rowid:slot_id>/book": Access(W, "slot"),
    "POST /venues/slots/<rowid:slot_id>/wait": Access(W, "slot"),
    "GET /api/v1/me": Access(W),
    "GET /api/v1/me/pass": Access(W),
    "GET /api/v1/me/points": Access(W),
    "GET /api/v1/me/data-bonus": Access(W),
    "POST /api/v1/me/data-bonus": Access(W),
    "PATCH /api/v1/me/data-bonus": Access(W),
    "GET /api/v1/me/departure": Access(W),
    "POST /api/v1/me/departure": Access(W),
    "DELETE /api/v1/me/departure": Access(W),
    "GET /api/v1/me/appeals": Access(W),
    "POST /api/v1/me/appeals": Access(W),
    "POST /api/v1/me/checkins": Access(W),
    "GET /api/v1/me/complaints": Access(W),
    "POST /api/v1/me/complaints": Access(W),
    "GET /api/v1/courses": Access(W),
    "POST /api/v1/courses/<code>/enrolment": own(W, "enterprise_course"),
    "GET /api/v1/reservations": Access(W),
    "POST /api/v1/reservations": Access(W),
    "GET /api/v1/reservations/<public_id>": own(W, "reservation"),
    "DELETE /api/v1/reservations/<public_id>": own(W, "reservation"),
    "POST /api/v1/slots/<rowid:slot_id>/waitlist": Access(W, "slot"),
    "DELETE /api/v1/waitlist/<rowid:entry_id>": own(W, "waitlist_entry_api"),

    # --- staff at checkpoints --------------------------------------------------------------------
    "GET /scan": Access(SCANNERS),
    "GET /scan/session": Access(SCANNERS),
    "GET /scan/time": Access(ANYONE),
    "POST /api/v1/scans": Access(SCANNERS),
    "GET /gate/visitors": Access(G + EA),
    "POST /gate/visitors": Access(G + EA),
    "GET /venue/today": Access(VS),
    "POST /api/v1/pickups/<scan_id>/confirm": own(PS, "pickup_scan"),

    # --- enterprise admins -----------------------------------------------------------------------
    "GET /enterprise": Access(EA),
    "POST /enterprise/alerts/<rowid:alert_id>/acknowledge": own(EA, "alert"),
    "POST /enterprise/roster/<rowid:worker_id>/confirm": own(EA, "roster_pending"),
    "POST /enterprise/roster/<rowid:worker_id>/remove": own(EA, "roster_leaving"),
    "POST /enterprise/roster/<rowid:worker_id>/paper-pass": own(EA, "roster_worker"),
    "GET /paper-passes/<rowid:pass_id>": Access(EA + OFFICIAL, "paper_pass", owned_by=EA),
    "GET /enterprise/workers/<rowid:worker_id>/departure": own(EA, "roster_worker"),
    "POST /enterprise/workers/<rowid:worker_id>/departure": own(EA, "roster_worker"),
    "GET /enterprise/complaints": Access(EA),
    "GET /enterprise/complaints/<rowid:complaint_id>": own(EA, "complaint"),
    "GET /enterprise/production": Access(EA),
    "POST /enterprise/production": Access(EA),
    "GET /enterprise/retention": Access(EA),
    "POST /enterprise/retention/apply": Access(EA),
    "GET /enterprise/appeals": Access(EA),
    "POST /enterprise/appeals": Access(EA),
    "GET /enterprise/training": Access(EA),
    "POST /enterprise/training/claim": Access(EA),
    "GET /enterprise/training/courses/new": Access(EA),
    "POST /enterprise/training/courses/new": Access(EA),
    "GET /enterprise/training/courses/<code>": own(EA, "enterprise_course"),
    "GET /enterprise/training/courses/<code>/edit": own(EA, "enterprise_course"),
    "POST /enterprise/training/courses/<code>/edit": own(EA, "enterprise_course"),
    "POST /enterprise/training/courses/<code>/completions": own(EA, "enterprise_course"),
    "POST /enterprise/training/courses/<code>/invoice": own(EA, "enterprise_course"),
    "GET /api/v1/enterprise/retention": Access(EA),
    "POST /api/v1/enterprise/subsidy-application": Access(EA),

    # --- carriers --------------------------------------------------------------------------------
    "GET /carrier/claims": Access(C),
    "POST /carrier/claims/export": Access(C, reveals=True),
    "POST /carrier/claims/results": Access(C),
    "GET /api/v1/carrier/claims": Access(C),
    "POST /api/v1/carrier/claims/export": Access(C, reveals=True),
    "POST /api/v1/carrier/claims/results": Access(C),

    # --- officials -------------------------------------------------------------------------------
    "GET /health/alerts": Access(HEALTH),
    "GET /official/accounts": Access(OFFICIAL),
    "GET /official/paper-pass": Access(OFFICIAL),
    "POST /official/paper-pass": Access(OFFICIAL),
    "POST /official/accounts": Access(OFFICIAL),
    "GET /official/accounts/<rowid:user_id>": Access(OFFICIAL, "account"),
    "POST /official/accounts/<rowid:user_id>/disable": Access(OFFICIAL, "account"),
    "POST /official/accounts/<rowid:user_id>/enable": Access(OFFICIAL, "account"),
    "POST /official/accounts/<rowid:user_id>/tokens/revoke": Access(OFFICIAL, "account"),
    "POST /official/accounts/<rowid:user_id>/reset": Access(OFFICIAL, "account"),
    "POST /official/accounts/<rowid:user_id>/phone": Access(OFFICIAL, "account"),
    "GET /admin/benefits/activities": Access(OFFICIAL),
    "GET /admin/benefits/activities/new": Access(OFFICIAL),
    "POST /admin/benefits/activities/new": Access(OFFICIAL),
    "GET /admin/benefits/activities/<public_id>": Access(OFFICIAL, "activity"),
    "GET /admin/benefits/activities/<public_id>/edit": Access(OFFICIAL, "activity"),
    "POST /admin/benefits/activities/<public_id>/edit": Access(OFFICIAL, "activity"),
    "GET /admin/benefits/activities/<public_id>/poster": Access(OFFICIAL, "activity"),
    "GET /admin/benefits/complaints": Access(HR),
    "GET /admin/benefits/complaints/<rowid:complaint_id>": Access(HR, "complaint_any"),
    "POST /admin/benefits/complaints/<rowid:complaint_id>": Access(HR, "complaint_any"),
    "POST /admin/benefits/complaints/<rowid:complaint_id>/contact": Access(HR, "complaint_any", reveals=True),
    "GET /admin/benefits/data-bonus": Access(OFFICIAL),
    "GET /admin/benefits/points": Access(POLICE),
    "POST /admin/benefits/points/export": Access(POLICE),
    "GET /admin/benefits/services": Access(OFFICIAL),
    "GET /admin/benefits/services/new": Access(OFFICIAL),
    "POST /admin/benefits/services/new": Access(OFFICIAL),
    "GET /admin/benefits/services/<rowid:listing_id>/edit": Access(OFFICIAL, "service_listing"),
    "POST /admin/benefits/services/<rowid:listing_id>/edit": Access(OFFICIAL, "service_listing"),
    "POST /admin/benefits/services/<rowid:listing_id>/withdraw": Access(OFFICIAL, "service_listing"),
    "GET /admin/benefits/training": Access(HR),
    "GET /admin/benefits/training/claims/<rowid:claim_id>": Access(HR, "training_claim"),
    "POST /admin/benefits/training/claims/<rowid:claim_id>": Access(HR, "training_claim"),
    "GET /admin/benefits/training/courses/new": Access(HR),
    "POST /admin/benefits/training/courses/new": Access(HR),
    "GET /admin/benefits/training/courses/<code>": Access(HR, "course"),
    "GET /admin/benefits/training/invoices/<rowid:invoice_id>": Access(HR, "invoice"),
    "POST /admin/benefits/training/invoices/<rowid:invoice_id>": Access(HR, "invoice"),
    "GET /admin/benefits/training/courses/<code>/edit": Access(HR, "course"),
    "POST /admin/benefits/training/courses/<code>/edit": Access(HR, "course"),
    "GET /manage/venues": Access(OFFICIAL),
    "POST /manage/venues": Access(OFFICIAL),
    "GET /manage/venues/<code>": Access(OFFICIAL, "venue"),
    "POST /manage/venues/<code>": Access(OFFICIAL, "venue"),
    "POST /manage/venues/<code>/generate": Access(OFFICIAL, "venue"),
    "POST /manage/venues/<code>/hours": Access(OFFICIAL, "venue"),
    "POST /manage/venues/<code>/hours/<rowid:hours_id>/delete": Access(OFFICIAL, "venue_hours"),
    "POST /manage/venues/<code>/slots": Access(OFFICIAL, "venue"),
    "GET /manage/slots/<rowid:slot_id>": Access(OFFICIAL, "slot"),
    "POST /manage/slots/<rowid:slot_id>/capacity": Access(OFFICIAL, "slot"),
    "POST /manage/slots/<rowid:slot_id>/close": Access(OFFICIAL, "slot"),
    "GET /official/residence": Access(OFFICIAL),
    "GET /official/residence/applications": Access(HR),
    "POST /official/residence/applications/<rowid:application_id>": Access(HR, "application"),
    "GET /official/residence/enterprises": Access(OFFICIAL),
    "GET /official/residence/production": Access(ECON),
    "POST /official/residence/production/<rowid:declaration_id>": Access(ECON, "declaration"),
    "GET /official/residence/sms": Access(OFFICIAL),
    "GET /official/residence/withdrawals": Access(OFFICIAL),
    "GET /official/residence/workers": Access(OFFICIAL),
    "GET /official/review": Access(MONEY_READERS),
    "POST /official/review/sample": Access(OFFICIAL),
    "GET /official/review/<policy>/<rowid:application_id>": Access(MONEY_READERS, "review_item",
                                                                 paths=(("economy_official", "review_item_p8"),)),
    "POST /official/review/<policy>/<rowid:application_id>": Access(MONEY_DECIDERS, "review_item",
                                                                  paths=(("economy_official", "review_item_p8"),)),
    "GET /official/budget": Access(MONEY_READERS),
    "POST /official/budget/payments": Access(MONEY_DECIDERS),
    "GET /official/residence/appeals": Access(OFFICIAL),
    "POST /official/residence/appeals/<rowid:appeal_id>": Access(OFFICIAL, "appeal"),
    "GET /official/residence/appeals/<rowid:appeal_id>/photo": Access(OFFICIAL, "appeal"),
    "GET /official/residence/corrections": Access(OFFICIAL),
    "POST /official/residence/corrections": Access(OFFICIAL),
    "GET /api/v1/residence/headcounts": Access(OFFICIAL),
    "GET /api/v1/residence/snapshot": Access(OFFICIAL),

    # --- the officials' desk (admin room) --------------------------------------------------------
    "GET /admin": Access(OFFICIALS),
    # The figures: every one for the programme office and the auditor, the health alerts for 卫健委,
    # the wage complaints for 人社局 (admin.figures.FIGURE_READERS); nothing for 经信局 and 公安局.
    "GET /admin/figures": Access(OFFICIAL + AUDITOR + HR + HEALTH),
    "POST /admin/figures/download": Access(OFFICIAL + AUDITOR + HR + HEALTH),  # the page's figures, as a file
    "GET /admin/audit": Access(OFFICIAL + AUDITOR),
    "GET /admin/programme": Access(OFFICIALS),
    "GET /admin/exports": Access(OFFICIAL),
    "POST /admin/exports/<name>": Access(OFFICIAL, "dataset"),
    "GET /admin/exports/<name>/full": Access(OFFICIAL, "dataset"),
    "POST /admin/exports/<name>/full": Access(OFFICIAL, "dataset", reveals=True),
    "GET /admin/hotline": Access(ECON + AUDITOR),
    "POST /admin/hotline": Access(ECON),
    "POST /admin/hotline/search": Access(ECON + AUDITOR),
}
