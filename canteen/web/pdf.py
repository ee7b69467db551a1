"""A standalone HTML document printed to an A4 PDF by headless Chromium, its CJK fonts embedded (pdf_fonts)."""
from playwright.sync_api import sync_playwright

from canteen.web.pdf_fonts import font_face_css

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_TIMEOUT_MS = 120_000  # a province's bulletin runs to a hundred pages and more


def render_pdf(html: str) -> bytes:
    """A4 PDF of the HTML. Uses Playwright's synchronous API: call it from a worker thread, not an event loop."""
    fonts = f"<style>\n{font_face_css(html)}\n</style>"
    printable = html.replace("</head>", f"{fonts}\n</head>", 1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             timeout=BROWSER_TIMEOUT_MS)
        try:
            page = browser.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.set_content(printable, wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
