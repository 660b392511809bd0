"""Every page of every role, in real headless Chromium on a 360×740 phone, in Chinese and in
English, checked with axe-core (vendored from npm: static/vendor/axe-core) — issue 16 item 7:

* no critical and no serious axe violation on any page (the scanner's answer overlay included;
  colour contrast on the Chinese pages, since the colours do not change with the language);
* every tap target at least 44 × 44 px (a checkbox with its label; a link inside a sentence is
  exempt, as WCAG 2.5.8 exempts it);
* no page wider than the phone.

The demo data set (``wzcheckin demo``, on its 8 February 2021 clock) gives each role something to
show. Each role's pages are every page route the access table grants it without a parameter,
plus every page its pages link to (one page per route). One browser, one context per role.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from flask import url_for
from werkzeug.exceptions import HTTPException

from tests.security.access_table import ACCESS
from tests.support.clock import at
from tests.support.config import ARTIFACTS
from tests.support.servers import run_cli
from wzcheckin.clock import SimulatedClock

# The pages are the same on both databases: axe crawls them once, on the demo's database.
pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.on_backend("sqlite")]

# axe is vendored in static/, so the app serves it under its hashed, immutable name: loaded by URL,
# each page after the first takes it from Chromium's HTTP cache, compiled from its code cache —
# a quarter of the time of evaluating the 0.5-MB source on every page.
AXE = "vendor/axe-core/axe.min.js"
ROLES = ("anonymous", "worker", "gatekeeper", "enterprise_admin", "venue_staff", "pickup_staff", "carrier", "official")
# The bureaus (core/roles.py): each decides its own policies; the auditor reads everything.
BUREAUS = ("hr_official", "economy_official", "health_official", "police_official", "auditor")
# Routes that answer with something other than a page, or change state on GET.
NOT_PAGES = re.compile(r"^/(api/|static/|lang/|sw\.js|manifest\.webmanifest|healthz|scan/(session|time)|me/pass/refresh"
                       r"|me/pass-sw\.js|me/pass/batch"
                       r"|me/photos/|dev/)|/photo$|/poster$")
PAGES_PER_ROLE = 80  # a guard against a crawl that never ends

# Colour contrast, axe's costliest rule by far, is checked on the Chinese pages only: the colours are
# the same in both languages. Every other rule, and the tap targets and width (which depend on the
# words), run in both.
SERIOUS = """async (sameColoursChecked) => {
  const rules = sameColoursChecked ? {'color-contrast': {enabled: false}} : {};
  const result = await axe.run(document, {resultTypes: ['violations'], rules});
  return result.violations.filter(v => v.impact === 'critical' || v.impact === 'serious')
    .map(v => ({rule: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
}"""

SMALL_TARGETS = """() => {
  const visible = n => n.checkVisibility({visibilityProperty: true}) && n.getClientRects().length;
  // WCAG 2.5.8: a link inside a sentence (its block holds other text) is exempt.
  const inSentence = a => {
    if (getComputedStyle(a).display !== 'inline') return false;
    let block = a.parentElement;
    while (block && getComputedStyle(block).display === 'inline') block = block.parentElement;
    return block && block.textContent.replace(/\\s+/g, '').length > a.textContent.replace(/\\s+/g, '').length;
  };
  const small = [];
  for (const n of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!visible(n) || n.closest('.skip-link')) continue;
    if (n.tagName === 'A' && inSentence(n)) continue;
    let box = n.getBoundingClientRect();
    let [left, top, right, bottom] = [box.left, box.top, box.right, box.bottom];
    if (n.matches('input[type=checkbox], input[type=radio]'))  // tapped on itself or its labels
      for (const label of n.labels || []) {
        const l = label.getBoundingClientRect();
        [left, top] = [Math.min(left, l.left), Math.min(top, l.top)];
        [right, bottom] = [Math.max(right, l.right), Math.max(bottom, l.bottom)];
      }
    if (right - left < 44 || bottom - top < 44)
      small.push(`${n.tagName.toLowerCase()} "${(n.textContent || n.name || '').trim().slice(0, 20)}" ` +
                 `${Math.round(right - left)}×${Math.round(bottom - top)}`);
  }
  return small;
}"""


def demo_logins(output: str) -> dict[str, str]:
    """The first demo login of each role: {role: phone}, from what ``wzcheckin demo`` prints."""
    logins = {}
    for role, phone in re.findall(r"^\s+(\w+)\s+(1\d{10})\s+liuwen2021\b", output, re.MULTILINE):
        logins.setdefault(role, phone)
    return logins


def page_routes(role: str) -> list[str]:
    """The access table's page routes without parameters that the role may open."""
    routes = []
    for key, access in ACCESS.items():
        method, path = key.split(" ", 1)
        if method != "GET" or "<" in path or NOT_PAGES.search(path) or role not in access.roles:
            continue
        if role != "anonymous" and "anonymous" in access.roles and path not in ("/", "/account"):
            continue  # log-in, registration and the like: the anonymous visitor's pages
        routes.append(path)
    return routes


def check_page(page, problems: list[str], where: str, axe_url: str, *, colours_checked: bool = False) -> None:
    page.add_script_tag(url=axe_url)
    for violation in page.evaluate(SERIOUS, colours_checked):
        problems.append(f"{where}: axe {violation['impact']} {violation['rule']} {violation['nodes']}")
    for target in page.evaluate(SMALL_TARGETS):
        problems.append(f"{where}: tap target {target}")
    if page.evaluate("document.documentElement.scrollWidth") > 360:
        problems.append(f"{where}: wider than the phone")


# Parts of about the same size, so that two test workers (pytest-xdist) share the crawl.
ROLE_GROUPS = {"official": ("official",), "bureaus": BUREAUS,
               "the others": tuple(role for role in ROLES if role != "official")}


@pytest.mark.parametrize("group", list(ROLE_GROUPS))
def test_every_page_of_every_role_passes_axe_at_360_px_in_both_languages(group, backend, fresh_database, gunicorn_server,
                                                                           server_app, browser, tmp_path):
    roles = ROLE_GROUPS[group]
    clock_file = tmp_path / "demo-clock"
    SimulatedClock(clock_file).set(at("2021-02-08 09:00"), running=True)
    env = {"WZCHECKIN_DEV": "1", "WZCHECKIN_SIMULATED_CLOCK_FILE": str(clock_file)}  # the demo as it runs
    logins = demo_logins(run_cli(fresh_database, "demo", env=env).stdout)
    server = gunicorn_server(env=env)
    adapter = server_app.url_map.bind("localhost")
    with server_app.test_request_context():
        axe_url = server.base_url + url_for("static", filename=AXE)
    problems: list[str] = []
    checked: dict[str, int] = {}

    for role in roles:
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                      locale="zh-CN")
        page = context.new_page()
        if role != "anonymous":
            page.goto(server.base_url + "/login")
            page.get_by_label("手机号").fill(logins[role])
            page.get_by_label("密码").fill("liuwen2021")
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(lambda url: "/login" not in url)
        queue, seen_endpoints, pages = page_routes(role), set(), []
        while queue and len(pages) < PAGES_PER_ROLE:
            path = queue.pop(0)
            try:
                endpoint, _ = adapter.match(path, method="GET")
            except HTTPException:  # not a route of the app, or a redirect: not a page
                continue
            if endpoint in seen_endpoints:
                continue
            seen_endpoints.add(endpoint)
            response = page.goto(server.base_url + path)
            if response.status != 200 or urlsplit(page.url).path != path:
                continue  # refused or sent elsewhere: that page is checked where it lands
            pages.append(path)
            check_page(page, problems, f"{role} zh {path}", axe_url)
            for href in page.eval_on_selector_all("main a[href], nav a[href]", "ns => ns.map(n => n.getAttribute('href'))"):
                link = urlsplit(href)
                if not link.netloc and link.path.startswith("/") and not NOT_PAGES.search(link.path):
                    queue.append(link.path)
        if role == "pickup_staff":  # the scanner's answer, full screen over the page
            page.goto(server.base_url + "/scan")
            page.locator("body[data-scanner-ready='1']").wait_for(timeout=60_000)
            page.locator("#code-input").fill("NOT-A-CODE")
            page.locator("#code-input").press("Enter")
            page.locator("#answer:not([hidden])").wait_for(timeout=15_000)
            check_page(page, problems, f"{role} zh /scan (answer)", axe_url)
        page.goto(server.base_url + "/lang/en?next=/")
        for path in pages:
            page.goto(server.base_url + path)
            check_page(page, problems, f"{role} en {path}", axe_url, colours_checked=True)
        checked[role] = len(pages)
        context.close()

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"accessibility-{group.replace(' ', '-')}.json").write_text(
        json.dumps({"pages": checked, "problems": problems}, ensure_ascii=False, indent=1), encoding="utf-8")
    assert all(checked[role] >= 2 for role in roles), checked
    assert checked.get("official", 30) >= 30 and checked.get("worker", 12) >= 12, checked
    assert all(checked.get(role, 4) >= 4 for role in BUREAUS), checked  # the hotline, queues, figures...
    assert problems == []
