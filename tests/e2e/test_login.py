import re

from playwright.sync_api import Page, expect

from canteen import demo
from tests.e2e.browsing import login, sign_in

SCREENSHOT = "/tmp/canteen-e2e-home.png"


def canteen_names(page: Page) -> list[str]:
    return sorted(page.locator("table.canteens tbody td:first-child a").all_inner_texts())


def test_operator_signs_in_switches_to_english_and_signs_out(page: Page, demo_server):
    operator = login("operator-nanchang")
    sign_in(page, demo_server.url, operator.username, operator.password)

    expect(page).to_have_url(f"{demo_server.url}/")
    expect(page.get_by_role("heading", name="我的食堂")).to_be_visible()
    expect(page.get_by_text(operator.display_name)).to_be_visible()
    assert canteen_names(page) == sorted(operator.canteens)
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="My canteens")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert canteen_names(page) == sorted(operator.canteens)  # names are data, not translated

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # the language choice stays
    page.goto(f"{demo_server.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_bureau_sees_only_its_jurisdiction(page: Page, demo_server):
    bureau = login("bureau-nanchang")
    jurisdiction = {demo.NANCHANG, *demo.COUNTIES[demo.NANCHANG]}
    expected = sorted(name for owner, name, *_ in demo.CANTEENS if owner in jurisdiction)
    sign_in(page, demo_server.url, bureau.username, bureau.password)

    expect(page.get_by_role("heading", name="辖区食堂")).to_be_visible()
    assert canteen_names(page) == expected
    assert "九江市机关第一食堂" not in page.content()
    assert "江西省直机关第一食堂" not in page.content()


def test_wrong_password_stays_on_the_sign_in_page(page: Page, demo_server):
    sign_in(page, demo_server.url, "operator-nanchang", "not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
