"""A tour of every page of every role in zh-CN, in a real browser, on a small demo province.

Each role signs in and visits every page it can reach: the links of the pages it sees (from the navigation
on), and the known routes, which also shows the error pages of those it may not open. A page fails the tour
on a 5xx, and on Latin-script words in its visible text outside the short allow-list below. Every finding is
collected, so one run lists them all. Run it alone with `pytest tests/e2e/test_tour.py` (about 90 s).
"""
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlmodel import Session, select

from canteen import db, demo
from canteen.access import SYSTEM
from canteen.assessment.bulletins import service as bulletins
from canteen.assessment.models import Bulletin, BulletinStatus
from canteen.auth.models import User
from canteen.org.models import Bureau, Canteen
from tests.e2e.browsing import login, sign_in

# Thursday 10:00 in Shanghai: November has closed, so its scorecards and bulletins are drawn.
TOUR_NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
HISTORY_DAYS = 14  # seeds in about 8 s; the assessment pages need November only
ROLES = ("admin", "bureau-jiangxi", "operator-nanchang", "diner-nanchang")
# Pages no link leads to, or not for every role (a role that may not open one gets its error page, toured too).
KNOWN_PATHS = ("/", "/bookings", "/bookings/history", "/assessment", "/assessment/sampling",
               "/assessment/rectification", "/assessment/bulletins", "/assessment/standards", "/admin/bureaus",
               "/admin/canteens", "/admin/stations", "/admin/users", "/admin/calendar", "/bulletins",
               "/no-such-page")
CANTEEN_PATHS = ("", "/dashboard", "/wall", "/history", "/records", "/bookings", "/menus", "/checkin",
                 "/assessment", "/self-evaluation", "/inspection")
# Downloads and actions, not pages: their links are not followed.
NOT_PAGES = re.compile(r"\.(csv|xlsx|pdf|toml)$|^/(logout|lang/)|^/assessment/files/")
PAGES_PER_KIND = 2  # pages that differ only in their ids or query values look alike: two of each kind
MAX_PAGES_PER_ROLE = 80

# Latin-script words people may see in the Chinese UI, each for a reason (user names are added from the
# database: they are identifiers people type):
ALLOWED_WORDS = {
    "English",  # the language switch names the other language in that language
    "g", "kg", "MB", "CO2e",  # units
    "CSV", "Excel", "Word", "PDF", "QR", "TOML", "API",  # formats and things people know by these names
    "WAPE",  # the forecast error's standard abbreviation, shown after its Chinese name
    "chinesecalendar",  # the holiday library's name, as the source of an imported year
    "date", "kind", "name", "holiday", "workday",  # the holiday CSV's own keywords, to be written as shown
    *demo.SCALE_PROTOCOLS,  # scale protocol names, as printed on the scales
}
ALLOWED_PATTERNS = [
    re.compile(r"(bk|stk)_[A-Za-z0-9_-]+"),  # booking codes and station key prefixes
    re.compile(r"[A-Z]{1,2}\d{1,2}|[A-Z]+(-[A-Z0-9]+)+"),  # indicator ids (E1, MB2) and standard codes (CANTEEN-REF)
    re.compile(r"\d{4}-?(Q[1-4]|H[12])"),  # period names such as 2026-Q3
    re.compile(r"[0-9a-f]{8,}"),  # content hashes
    re.compile(r"[5-8][NEOMS][12]"),  # serial framing as scales print it (8N1)
    re.compile(r"[A-Z][a-z]+/[A-Z][A-Za-z_]+"),  # time zone ids (Asia/Shanghai), as the canteen form takes them
    re.compile(r"bulletins/[a-z0-9-]+|https?://\S+"),  # public addresses shown for copying
]
# Separators may repeat: a station key prefix such as stk_ab--c is one word, not stk_ab and a stray "c".
WORD = re.compile(r"[A-Za-z0-9_]+(?:[-./:]+[A-Za-z0-9_]+)*")


def latin_words(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The Latin-script words of a page's text that are not allowed (digits alone are not words)."""
    found = []
    for match in WORD.finditer(text):
        word = match.group(0)
        if (not re.search("[A-Za-z]", word) or word in ALLOWED_WORDS or word in allowed
                or re.fullmatch(r"[\d.,]+k?g", word)):
            continue  # no letters, allowed, or a weight such as 35g
        if any(pattern.fullmatch(word) for pattern in ALLOWED_PATTERNS):
            continue
        found.append(word)
    return found


def test_latin_words_are_found_outside_the_allow_list():
    assert latin_words("午餐 35g 1.2kg · yaohua-tf0 · 2026-Q3 · bk_Ab-3 · stk_x--a… · CSV · English · E1 · 8N1") == []
    assert latin_words("餐次：lunch (diners) Input should be") == ["lunch", "diners", "Input", "should", "be"]
    assert latin_words("用户 op-7 · N E") == ["op-7", "N", "E"] and latin_words("用户 op-7", frozenset({"op-7"})) == []


@dataclass
class Tour:
    base_url: str
    usernames: frozenset[str]
    findings: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)

    def visit(self, page: Page, who: str, path: str) -> list[str]:
        """Opens the page and checks it; returns the pages it links to."""
        self.visited.add(path)
        response = page.goto(self.base_url + path)
        status = response.status if response else 0
        if status >= 500:
            self.findings.append(f"{who} {path}: HTTP {status}")
            return []
        words = latin_words(page.evaluate("document.body.innerText"), self.usernames)
        if words:
            self.findings.append(f"{who} {path} ({status}): {sorted(set(words))}")
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)")
        return [local for href in hrefs if (local := self._local(href)) is not None]

    def _local(self, href: str) -> str | None:
        parts = urlsplit(href)
        if not href.startswith(self.base_url) or NOT_PAGES.search(parts.path):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def crawl(self, page: Page, who: str, starts: list[str]) -> int:
        queue, seen, count = list(starts), set(starts), 0
        while queue and count < MAX_PAGES_PER_ROLE:
            path = queue.pop(0)
            kind = re.sub(r"\d+", "#", path.split("?")[0]) + ("?" if "?" in path else "")
            if self.kinds[who, kind] >= PAGES_PER_KIND:
                continue
            self.kinds[who, kind] += 1
            count += 1
            for link in self.visit(page, who, path):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
        return count


def _publish_last_month(engine) -> None:
    """The province's November bulletin published, so that the public pages and notices have one to show."""
    with db.session_scope(engine) as session:
        province = session.exec(select(Bureau).where(Bureau.parent_id.is_(None))).one()
        draft = session.exec(select(Bulletin).where(Bulletin.bureau_id == province.id,
                                                    Bulletin.status == BulletinStatus.draft)).first()
        assert draft is not None and draft.id is not None, "the demo drew no province bulletin to publish"
        bulletins.approve(session, SYSTEM, draft.id, TOUR_NOW)
        bulletins.publish(session, SYSTEM, draft.id, TOUR_NOW)


@pytest.fixture
def province(live_server_factory, clock):
    clock.now = TOUR_NOW

    def seed(engine):
        with db.session_scope(engine) as session:
            demo.seed(session, clock(), history_days=HISTORY_DAYS)
        # Publishing renders the PDF through Playwright's sync API, which refuses to run on the thread where
        # the test's browser runs its event loop.
        with ThreadPoolExecutor(max_workers=1) as worker:
            worker.submit(_publish_last_month, engine).result()

    return live_server_factory(seed=seed, clock=clock)


def _canteen_paths(engine, names: tuple[str, ...]) -> list[str]:
    with Session(engine) as session:
        ids = [session.exec(select(Canteen.id).where(Canteen.name == name)).one() for name in names]
    return [f"/canteens/{canteen_id}{suffix}" for canteen_id in ids for suffix in CANTEEN_PATHS]


def test_every_page_of_every_role_is_in_chinese(page: Page, province):
    with Session(province.engine) as session:
        usernames = frozenset(session.exec(select(User.username)).all())
    tour = Tour(province.url, usernames)
    public = tour.crawl(page, "public", ["/login", "/bulletins"])
    assert public >= 3  # the sign-in page, the bulletin list and a published bulletin
    own_canteens = _canteen_paths(province.engine, login("operator-nanchang").canteens)
    for username in ROLES:
        who = login(username)
        page.context.clear_cookies()
        sign_in(page, province.url, who.username, who.password)
        page.wait_for_url(f"{province.url}/**")
        pages = tour.crawl(page, username, [*KNOWN_PATHS, *own_canteens])
        assert pages >= len(KNOWN_PATHS), f"{username} saw only {pages} pages"
    assert not tour.findings, f"{len(tour.findings)} pages of {len(tour.visited)} fail:\n" + "\n".join(tour.findings)


def test_form_mistakes_are_explained_in_chinese(page: Page, demo_server):
    operator = login("operator-nanchang")
    sign_in(page, demo_server.url, operator.username, operator.password)
    page.get_by_role("link", name=operator.canteens[0]).first.click()
    page.wait_for_url(re.compile(r"/canteens/\d+$"))
    page.goto(page.url + "/records")
    counts = page.locator("form[action$='/diner-counts']")
    counts.get_by_label("就餐人数").fill("100001")  # at most 100,000 diners
    counts.get_by_role("button", name="保存").click()
    too_many = page.locator("p.error").inner_text()

    # An empty date, as a browser that does not check `required` would send it.
    kitchen = page.locator("form[action$='/kitchen-waste']").first
    kitchen.get_by_label("日期").evaluate("input => { input.removeAttribute('required'); input.value = ''; }")
    kitchen.get_by_label("克数").fill("500")
    kitchen.get_by_role("button", name="保存").click()
    no_date = page.locator("p.error").inner_text()

    assert "就餐人数不能大于 100000" in too_many and "日期须为日期，例如 2026-11-23" in no_date
    assert latin_words(too_many) == [] and latin_words(no_date) == [], (too_many, no_date)
