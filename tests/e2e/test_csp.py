"""The Content-Security-Policy in a real browser: pages work under it, and the browser reports no violation.

Chromium writes a blocked inline script, style, image or frame to the console and fires a
`securitypolicyviolation` event; both are collected on every page visited. The bulletin editor's busy button
(the site's own script, from /static) is pressed to show the script still runs.
"""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browsing import login, sign_in

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (event) => window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""


@pytest.fixture
def watched(page: Page) -> tuple[Page, list[str]]:
    """The page, and the console's messages about the Content-Security-Policy as they come."""
    reported: list[str] = []
    page.on("console", lambda message: reported.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script(RECORD_VIOLATIONS)
    return page, reported


def visit(page: Page, reported: list[str], url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == [], url
    assert reported == [], url


def test_pages_report_no_violation_and_the_busy_button_works(watched, demo_with_october):
    page, reported = watched
    base = demo_with_october.url
    bureau = login("bureau-jiangxi")
    sign_in(page, base, bureau.username, bureau.password)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    for path in ("/", "/assessment?period=2026-10", "/assessment/bulletins", "/assessment/standards",
                 "/no-such-page"):
        visit(page, reported, base + path)

    page.goto(f"{base}/assessment/bulletins")
    page.get_by_role("row", name="2026-10").get_by_role("link").click()
    page.get_by_role("button", name="审核通过（固定数据）").click()
    page.get_by_role("button", name="发布…").click()
    visit(page, reported, page.url)
    # The page's script from /static disables the button and shows the waiting line; the test's own listener,
    # added after it, keeps the form from leaving so the state can be looked at.
    page.evaluate("""() => document.querySelector("form[data-busy]").addEventListener("submit", (event) => {
        window.sent = (window.sent || 0) + 1; event.preventDefault(); })""")
    status = page.get_by_role("status")
    expect(status).to_be_hidden()
    button = page.get_by_role("button", name="确认发布")
    button.click()
    expect(button).to_be_disabled()
    expect(status).to_have_text("正在生成 PDF…")
    assert page.evaluate("window.sent") == 1
    assert page.evaluate("window.__violations") == [] and reported == []


def test_the_error_pages_back_link_goes_back_without_an_inline_script(watched, live_server):
    page, reported = watched
    page.goto(f"{live_server.url}/login")
    visit(page, reported, f"{live_server.url}/no-such-page")
    page.get_by_role("link", name="返回").click()
    expect(page).to_have_url(f"{live_server.url}/login")
    assert reported == []


def test_an_operators_charts_and_the_api_docs_need_no_exception(watched, demo_server):
    page, reported = watched
    operator = login("operator-nanchang")
    sign_in(page, demo_server.url, operator.username, operator.password)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    visit(page, reported, page.url)  # the operator's home: today's figures with the hourly chart
    visit(page, reported, f"{demo_server.url}/api/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("canteen")  # Swagger UI started
