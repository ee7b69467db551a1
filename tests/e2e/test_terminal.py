"""The kitchen terminal on a 1280×800 tablet in a real Chromium: the scale's live weight arrives over the page's
event feed, a weighing the kitchen scale sends appears by itself, three taps classify it, and it shows in the
dashboard's kitchen figures and the month's ledger."""
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate, Meal, StationCreate, StationKind
from canteen.reservation import service as reservation_service
from canteen.reservation.models import DishCreate
from tests.e2e.browsing import sign_in

PASSWORD = "correct-horse-battery"
FEED_WAIT_MS = 8_000  # the feed looks every 0.5 s; the bound is for a loaded machine


@pytest.fixture
def kitchen_server(live_server_factory):
    """A canteen with a kitchen scale station and a lunch menu for today, served on the real clock (the feed and
    the weighings' 10-minute window run on it)."""
    seeded = {}

    def seed(engine):
        now = datetime.now(UTC)
        with db.session_scope(engine) as session:
            bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="市机关事务管理局"))
            canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name="机关食堂"),
                                                 "Asia/Shanghai")
            station, key = org_service.create_station(session, SYSTEM, StationCreate(
                canteen_id=canteen.id, name="后厨秤", kind=StationKind.kitchen, capacity_g=60_000))
            today = org_service.local_date(canteen, now)
            dishes = [reservation_service.create_dish(session, SYSTEM, canteen.id, DishCreate(name=name, raw_grams=200))
                      for name in ("红烧肉", "炒青菜")]
            for meal in Meal:  # whichever meal the test runs nearest to
                reservation_service.set_menu(session, SYSTEM, canteen.id, today, meal, [dish.id for dish in dishes])
            auth_service.create_user(session, SYSTEM, UserCreate(
                username="chef", password=PASSWORD, role=Role.operator, canteen_ids=[canteen.id]), now)
            seeded.update(canteen=canteen.id, station=station.id, key=key, month=today.strftime("%Y-%m"))

    server = live_server_factory(seed=seed)
    return server, seeded


def test_a_kitchen_weighing_is_classified_with_three_taps(page: Page, kitchen_server):
    server, seeded = kitchen_server
    gateway = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {seeded['key']}"}, timeout=10)
    terminal = f"{server.url}/stations/{seeded['station']}/terminal"

    page.goto(f"{terminal}/sign-in")
    page.get_by_label("称重台密钥").fill(seeded["key"])
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("暂无待分类称重")).to_be_visible()
    expect(page.locator("[data-scale-state]")).to_have_text("秤未发送读数")

    # The scale moves: the live weight follows without a reload.
    reading = gateway.post("/api/v1/stations/me/reading",
                           json={"grams": 3_460, "stable": False, "measured_at": datetime.now(UTC).isoformat()})
    assert reading.status_code == 204
    expect(page.locator("[data-weight]")).to_have_text("3.46", timeout=FEED_WAIT_MS)
    expect(page.locator("[data-scale-state]")).to_have_text("读数稳定中…")

    # It settles and the gateway sends the weighing: it appears by itself, chosen for classifying.
    sent = gateway.post("/api/v1/weighings", json={"items": [
        {"seq": 1, "measured_at": datetime.now(UTC).isoformat(), "grams": 3_460}]})
    assert sent.json()["results"][0]["status"] == "accepted"
    expect(page.get_by_role("heading", name="这3.46千克是什么？")).to_be_visible(timeout=FEED_WAIT_MS)

    dish_choices = page.locator("[data-dishes]")
    expect(dish_choices).to_be_hidden()  # only unserved food is recorded against a dish
    page.locator("label.tap", has_text="剩余饭菜").click()
    expect(dish_choices).to_be_visible()
    page.locator("label.tap", has_text="备餐过量").click()
    page.locator("label.tap", has_text="红烧肉").click()  # the third tap sends the form
    expect(page.get_by_text("暂无待分类称重")).to_be_visible()
    expect(page.locator('ul.recent [data-category="unserved"]')).to_have_text("剩余饭菜 · 备餐过量")
    expect(page.locator("form[data-classify]")).to_have_count(0)  # nothing waits

    operator = page.context.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    office = operator.new_page()
    try:
        sign_in(office, server.url, "chef", PASSWORD)
        office.goto(f"{server.url}/canteens/{seeded['canteen']}/dashboard")
        expect(office.locator('[data-figure="kitchen"]')).to_have_text("3.46")
        # The default price of unserved food is ¥10/kg: 3.46 kg is ¥34.6, shown as ¥35.
        expect(office.locator('[data-figure="month-yuan"]')).to_have_text("35")
        office.goto(f"{server.url}/canteens/{seeded['canteen']}/ledger?month={seeded['month']}")
        expect(office.locator("main")).to_contain_text("3.46")
    finally:
        operator.close()
