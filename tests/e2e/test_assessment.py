"""The bulletin workflow in a real browser on demo data: the province bureau opens last month's draft bulletin,
approves and publishes it; its public address shows it without signing in; the operator of the canteen graded
不合格 finds the rectification notice and answers it."""

from playwright.sync_api import Page, expect

from tests.e2e.browsing import login, sign_in

FAILING = "修水县第一中学学生食堂"  # lagging, and a veto confirmed in October


def test_bureau_publishes_last_months_bulletin_and_the_failing_canteen_answers(page: Page, browser,
                                                                              demo_with_october):
    bureau = login("bureau-jiangxi")
    sign_in(page, demo_with_october.url, bureau.username, bureau.password)
    page.get_by_role("link", name="通报", exact=True).click()
    page.get_by_role("row", name="2026-10").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026年10月")
    page.get_by_role("button", name="审核通过（固定数据）").click()
    page.get_by_role("button", name="发布…").click()
    expect(page.locator("[data-failing]")).to_contain_text(FAILING)  # the confirmation names who gets a notice
    page.get_by_role("button", name="确认发布").click()
    public = page.locator("a[data-public]")
    expect(public).to_be_visible()
    address = public.get_attribute("href")

    anonymous = browser.new_context(locale="zh-CN")
    try:
        reader = anonymous.new_page()
        response = reader.goto(f"{demo_with_october.url}{address}")
        assert response.status == 200
        expect(reader.locator("body")).to_contain_text(FAILING)
        expect(reader.locator("body")).to_contain_text("不合格")
    finally:
        anonymous.close()

    page.context.clear_cookies()
    operator = login("operator-xiushui")
    sign_in(page, demo_with_october.url, operator.username, operator.password)
    page.get_by_role("link", name="整改通知").click()
    page.get_by_role("link", name=FAILING).first.click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "open")
    page.get_by_label("整改措施").fill("推行半份菜和小份菜；设立光盘监督岗；每周公示浪费情况")
    page.get_by_role("button", name="提交答复").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "answered")
    expect(page.locator("body")).to_contain_text("设立光盘监督岗")
