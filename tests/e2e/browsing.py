"""Steps that several browser tests take: finding a demo login and signing in through the form."""
from playwright.sync_api import Page

from canteen import demo


def login(username: str) -> demo.Login:
    return next(item for item in demo.LOGINS if item.username == username)


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
