"""Booking in a real browser on demo data: the operator puts a dish on tomorrow's lunch menu, a diner books it
with a half portion on a phone-sized screen, sees the confirmation and the dish on the booking's card with its QR
code, cancels and books again; the operator's count follows every step."""
import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from canteen import db, demo
from tests.e2e.browsing import login, sign_in

MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, before Tuesday's cut-off
TUESDAY = "2026-11-24"
CANTEEN = "南昌市机关第一食堂"
DISH = "番茄炒蛋（测试）"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def morning_demo(live_server_factory, clock):
    clock.now = MONDAY_MORNING

    def seed(engine):
        with db.session_scope(engine) as session:
            demo.seed(session, clock(), history_days=1)

    return live_server_factory(seed=seed, clock=clock)


def open_tuesday_lunch(page: Page, button: str = "查询") -> None:
    choose = page.locator("form.range")
    choose.get_by_label("日期").fill(TUESDAY)
    choose.get_by_label("餐次").select_option("lunch")
    choose.get_by_role("button", name=button).click()
    # The form's navigation must be over before the test reloads or reads the page (a reload in flight fails).
    expect(page).to_have_url(re.compile(rf"{TUESDAY}.*lunch|lunch.*{TUESDAY}"))


def booked_count(page: Page) -> int:
    page.reload()
    return int(page.locator('[data-figure="booked"]').inner_text())


def test_diner_books_cancels_and_rebooks_and_the_operator_sees_the_count(page: Page, browser: Browser,
                                                                        morning_demo):
    operator = login("operator-nanchang")
    sign_in(page, morning_demo.url, operator.username, operator.password)
    page.get_by_role("link", name=CANTEEN).click()
    page.get_by_role("link", name="菜单与预约规则").click()
    open_tuesday_lunch(page)
    add = page.locator("form.add-dish")
    add.get_by_label("名称").fill(DISH)
    add.get_by_label("每整份原料（克）").fill("220")
    add.get_by_role("button", name="添加").click()
    page.get_by_role("checkbox", name=DISH).check()
    page.get_by_role("button", name=f"保存 {TUESDAY} 午餐的菜单").click()
    expect(page.get_by_role("checkbox", name=DISH)).to_be_checked()
    page.get_by_role("link", name="预约与预测").click()
    open_tuesday_lunch(page)
    before = booked_count(page)

    phone = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True)
    diner_page = phone.new_page()
    try:
        diner = login("diner-nanchang")
        sign_in(diner_page, morning_demo.url, diner.username, diner.password)
        diner_page.get_by_role("link", name="我的预约").click()
        open_tuesday_lunch(diner_page, "查看菜单")
        dish = diner_page.locator(".dish", has_text=DISH)
        dish.get_by_label("半份").check()
        diner_page.get_by_role("button", name="预约", exact=True).click()
        booking = diner_page.locator(".booking", has_text=TUESDAY)
        expect(diner_page.get_by_role("status")).to_have_text("✓ 已预约 11月24日 午餐")
        expect(booking).to_contain_text(f"{DISH} · 半份")
        expect(booking.locator(".qr svg")).to_be_visible()
        assert booking.locator(".qr svg").bounding_box()["width"] <= PHONE["width"]
        assert booked_count(page) == before + 1

        diner_page.screenshot(path="/tmp/canteen-e2e-booking.png", full_page=True)
        booking.get_by_role("button", name="取消预约").click()
        expect(diner_page.get_by_role("status")).to_have_text("✓ 已取消 11月24日 午餐")
        expect(diner_page.locator(".booking", has_text=TUESDAY)).to_have_count(0)
        assert booked_count(page) == before

        open_tuesday_lunch(diner_page, "查看菜单")
        diner_page.locator(".dish", has_text=DISH).get_by_label("半份").check()
        diner_page.get_by_role("button", name="预约", exact=True).click()
        expect(diner_page.locator(".booking", has_text=TUESDAY).locator(".qr svg")).to_be_visible()
        assert booked_count(page) == before + 1
        dish_row = page.locator("tr", has_text=DISH)
        expect(dish_row).to_contain_text("半份 × 1")
    finally:
        phone.close()
