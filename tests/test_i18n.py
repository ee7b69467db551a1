"""The zh-CN catalogue covers every string the code and templates show, placeholders intact."""
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import canteen
from canteen.errors import NotFound
from canteen.i18n import (
    EXTRACTION_KEYWORDS,
    LOCALES_DIR,
    accepted_language,
    error_text,
    field_label,
    gettext,
    validation_error,
)

PACKAGE = Path(canteen.__file__).parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"\{[a-z_]+(?:![rs])?\}")


def extracted_messages() -> set[str]:
    keywords = {keyword: None for keyword in EXTRACTION_KEYWORDS}
    return {message for _, _, message, _, _ in extract_from_dir(str(PACKAGE), METHODS, keywords=keywords)
            if isinstance(message, str)}


def catalogue() -> dict[str, str]:
    with (LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return {message.id: message.string for message in read_po(po_file) if message.id}


def test_every_shown_string_is_translated():
    translated = {msgid for msgid, msgstr in catalogue().items() if msgstr}
    assert sorted(extracted_messages() - translated) == []


def test_translations_keep_their_placeholders():
    broken = {msgid: msgstr for msgid, msgstr in catalogue().items()
              if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))}
    assert broken == {}


def test_errors_are_shown_in_the_chosen_language():
    error = NotFound("canteen {id} not found", field="canteen_id", id=7)
    assert error_text(error, "en") == "canteen 7 not found"
    assert "7" in error_text(error, "zh_CN") and "食堂" in error_text(error, "zh_CN")
    assert gettext("Sign in", "en") == "Sign in" and gettext("Sign in", "zh_CN") == "登录"


LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def error_paragraph(page: str) -> str:
    match = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    assert match, page
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_a_form_value_over_its_limit_is_refused_in_chinese_naming_the_field(sign_in, csrf, org):
    client = sign_in("operator_a")
    response = client.post(f"/canteens/{org.canteens['a']}/diner-counts", data={
        "service_date": "2026-11-23", "meal": "lunch", "diners": "100001", "csrf_token": csrf()})
    assert response.status_code == 422
    # DinerCountEntry.diners is at most 100,000; the records page labels the field 就餐人数.
    assert "就餐人数不能大于 100000" in error_paragraph(response.text)
    assert "Input should" not in response.text


def test_a_form_value_that_is_no_number_or_missing_is_refused_in_chinese(sign_in, csrf, org):
    client = sign_in("operator_a")
    not_a_number = client.post(f"/canteens/{org.canteens['a']}/diner-counts", data={
        "service_date": "2026-11-23", "meal": "lunch", "diners": "many", "csrf_token": csrf()})
    assert not_a_number.status_code == 422 and "就餐人数须为整数" in error_paragraph(not_a_number.text)
    no_date = client.post(f"/canteens/{org.canteens['a']}/diner-counts", data={
        "service_date": "23.11.2026", "meal": "lunch", "diners": "8", "csrf_token": csrf()})
    assert no_date.status_code == 422 and "日期须为日期，例如 2026-11-23" in error_paragraph(no_date.text)


def test_api_validation_errors_follow_accept_language_and_keep_fastapis_shape(client, api_headers, org):
    body = {"bureau_id": org.k1, "name": "新食堂", "seats": 100_001}
    chinese = client.post("/api/v1/canteens", json=body,
                          headers={**api_headers("admin"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert chinese.status_code == 422
    assert chinese.json() == {"detail": [{"loc": ["body", "seats"], "msg": "座位数不能大于 100000",
                                          "type": "less_than_equal"}]}
    english = client.post("/api/v1/canteens", json=body, headers={**api_headers("admin"), "Accept-Language": "en"})
    assert english.json()["detail"][0]["msg"] == "Seats must be at most 100000"


def test_every_problem_of_an_api_body_is_named_in_chinese(client, api_headers):
    response = client.post("/api/v1/canteens", json={"name": "", "serving_mode": "picnic", "colour": "red"},
                           headers={**api_headers("admin"), "Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert {(tuple(item["loc"]), item["type"], item["msg"]) for item in response.json()["detail"]} == {
        (("body", "bureau_id"), "missing", "管理局为必填项"),
        (("body", "name"), "string_too_short", "名称不能为空"),
        (("body", "serving_mode"), "enum", "供餐方式须为所提供的选项之一"),
        (("body", "colour"), "extra_forbidden", "该值不是可接受的字段"),
    }


def test_a_body_that_is_not_json_is_refused_in_chinese(client, api_headers):
    response = client.post("/api/v1/canteens", content=b"{not json",
                           headers={**api_headers("admin"), "Accept-Language": "zh-CN",
                                    "Content-Type": "application/json"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["type"] == "json_invalid" and problem["msg"] == "请求内容不是有效的 JSON"


@pytest.mark.parametrize("error_type, ctx, expected", [
    ("less_than_equal", {"le": 100_000}, "就餐人数不能大于 100000"),
    ("greater_than", {"gt": 0}, "就餐人数须大于 0"),
    ("greater_than_equal", {"ge": 0.0}, "就餐人数不能小于 0"),
    ("missing", None, "就餐人数为必填项"),
    ("int_parsing", None, "就餐人数须为整数"),
    ("float_parsing", None, "就餐人数须为数字"),
    ("string_too_long", {"max_length": 200}, "就餐人数不能超过 200 个字符"),
    ("string_too_short", {"min_length": 2}, "就餐人数至少需要 2 个字符"),
    ("string_too_short", {"min_length": 1}, "就餐人数不能为空"),
    ("date_parsing", {"error": "input is too short"}, "就餐人数须为日期，例如 2026-11-23"),
    ("date_from_datetime_parsing", {"error": "x"}, "就餐人数须为日期，例如 2026-11-23"),
    ("time_parsing", {"error": "x"}, "就餐人数须为时间，例如 12:30"),
    ("enum", {"expected": "'a'"}, "就餐人数须为所提供的选项之一"),
    ("literal_error", {"expected": "'a' or 'b'"}, "就餐人数须为所提供的选项之一"),
    ("bool_parsing", None, "就餐人数须为“是”或“否”"),
    ("value_error", {"error": ValueError("nope")}, "就餐人数无效"),
    ("no_such_type_yet", None, "就餐人数无效"),  # the fallback
    ("less_than_equal", None, "就餐人数无效"),  # a limit without its ctx is not invented
])
def test_each_pydantic_error_type_has_a_chinese_message(error_type, ctx, expected):
    details = {"type": error_type, "loc": ("diners",), "msg": "English", "input": "x", **({"ctx": ctx} if ctx else {})}
    assert error_text(validation_error(details), "zh_CN") == expected


@pytest.mark.parametrize("field, label", [
    ("canteen_id", "食堂"), ("choices.0.dish_id", "菜品"), ("answer_12", "回答"), ("no_such_field", "该值"), (None, "该值"),
])
def test_fields_are_shown_by_their_labels_never_by_their_raw_names(field, label):
    assert field_label(field, "zh_CN") == label


def test_accept_language_picks_the_preferred_supported_language():
    assert accepted_language("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert accepted_language("fr, zh;q=0.5, en;q=0.4") == "zh_CN"
    assert accepted_language("fr-FR") is None and accepted_language(None) is None
    assert accepted_language("zh;q=0, en;q=0.1") == "en"


@pytest.mark.parametrize("path, status, title", [
    ("/canteens/999999/records", 404, "未找到"),
    ("/no-such-page", 404, "未找到"),
    ("/canteens/abc/records", 422, "输入有误"),
])
def test_error_pages_have_a_title_per_status_and_no_raw_field_names(sign_in, org, path, status, title):
    response = sign_in("operator_a").get(path)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in response.text and "请求被拒绝" not in response.text
    message = re.search(r'<p class="message">(.*?)</p>', response.text, re.S).group(1)
    assert "canteen_id" not in message and not LATIN_WORD.search(message), message


def test_a_refused_form_on_an_error_page_is_titled_access_denied(client, org):
    response = client.post("/logout", data={})
    assert response.status_code == 403 and "<h1>无权访问</h1>" in response.text


def test_an_unexpected_error_answers_a_chinese_page_and_api_error(app, org):
    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    app.add_api_route("/api/v1/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/broken")
        api = client.get("/api/v1/broken", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 500 and "<h1>服务器出错</h1>" in page.text and "a bug" not in page.text
    assert api.status_code == 500 and api.json()["detail"][0]["msg"] == "服务器出了问题，请稍后再试。"
    # Rendered outside the security-headers middleware, the 500 answers still carry them.
    for response in (page, api):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_page_asked_the_wrong_way_says_so_in_chinese(client, org):
    response = client.put("/login")
    assert response.status_code == 405 and "<h1>不允许的操作</h1>" in response.text
