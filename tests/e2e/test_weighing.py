"""The operator dashboard and the wall display in a real browser, on demo data, against the rollup."""
import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from canteen import db, demo
from canteen.access import SYSTEM
from canteen.org.models import Canteen
from canteen.weighing import service
from tests.e2e.browsing import login, sign_in

LUNCHTIME = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 13:00 in Shanghai
CANTEEN = "南昌市机关第一食堂"
SCREENSHOTS = "/tmp/canteen-e2e-{name}.png"


@pytest.fixture
def lunchtime_demo(live_server_factory, clock):
    clock.now = LUNCHTIME

    def seed(engine):
        with db.session_scope(engine) as session:
            demo.seed(session, clock(), history_days=2)

    return live_server_factory(seed=seed, clock=clock)


def expected_figures(engine, name: str) -> dict[str, str]:
    with Session(engine) as session:
        canteen = session.exec(select(Canteen).where(Canteen.name == name)).one()
        total = service.today(session, SYSTEM, canteen.id, LUNCHTIME).total
    return {"plates": f"{total['plates']:,.0f}", "per-diner": f"{total['plate_waste_per_diner_g']:.1f}",
            "clean-rate": f"{total['clean_plate_rate'] * 100:.1f}%"}


def shown_figures(page: Page) -> dict[str, str]:
    return {name: page.locator(f'[data-figure="{name}"]').inner_text() for name in ("plates", "per-diner",
                                                                                     "clean-rate")}


def test_dashboard_and_wall_display_show_the_rollup(page: Page, lunchtime_demo):
    operator = login("operator-nanchang")
    sign_in(page, lunchtime_demo.url, operator.username, operator.password)
    page.get_by_role("link", name=CANTEEN).click()
    page.get_by_role("link", name="今日").click()
    expect(page.get_by_role("heading", name="每小时回收餐盘数")).to_be_visible()

    expected = expected_figures(lunchtime_demo.engine, CANTEEN)
    assert int(expected["plates"].replace(",", "")) > 100  # a real lunch, not an empty page
    assert shown_figures(page) == expected
    assert page.locator("table.meals tbody tr").count() == 2  # breakfast and lunch so far
    assert page.locator(".chart svg").count() == 1
    page.screenshot(path=SCREENSHOTS.format(name="dashboard"), full_page=True)

    with page.context.expect_page() as wall_opened:
        page.get_by_role("link", name="大屏展示").click()
    wall = wall_opened.value
    wall.set_viewport_size({"width": 1920, "height": 1080})
    expect(wall.locator('[data-figure="clean-rate"]')).to_be_visible()
    assert shown_figures(wall) == expected
    assert wall.locator("meta[http-equiv=refresh]").count() == 1
    # Readable across a dining hall: the figures are over 100 px tall on a 1080p screen.
    size = wall.locator('[data-figure="clean-rate"]').evaluate("node => parseFloat(getComputedStyle(node).fontSize)")
    assert size > 100
    wall.screenshot(path=SCREENSHOTS.format(name="wall"))


def test_history_page_has_charts_and_exports(page: Page, lunchtime_demo):
    operator = login("operator-nanchang")
    sign_in(page, lunchtime_demo.url, operator.username, operator.password)
    page.get_by_role("link", name=CANTEEN).click()
    page.get_by_role("link", name="历史数据").click()
    # Two days of demo history, a Sunday without service and today: one value a chart, shown as numbers.
    expect(page.locator(".chart .chart-single")).to_have_count(2)
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    assert re.fullmatch(r"canteen-\d+-\d{4}-\d\d-\d\d-2026-11-23\.csv", download.value.suggested_filename)
