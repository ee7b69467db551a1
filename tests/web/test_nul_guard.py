"""Text holding a NUL character (U+0000), which PostgreSQL cannot store, is refused with a 422 naming the field, from
JSON, forms, file uploads, query strings and paths, and nothing is stored; an escaped backslash before `u0000` is
text like any other. A station's batch rejects only the item that holds one."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from canteen.assessment.models import AssessmentStandard, EvidenceFile
from canteen.assessment.standard import reference_standard
from canteen.reservation.models import DinerCard
from canteen.web.nul_guard import json_nul
from canteen.weighing.models import KitchenWaste, PlateWeighing
from tests.support.files import image_bytes

EN = {"Accept-Language": "en"}
HANDOVER = {"handed_on": "2026-11-20", "collector": "津环收运公司", "manifest_no": "TJ-1", "grams": 3650, "note": ""}
NUL_MESSAGE = "{} must not contain the NUL character (U+0000)"
ON_PAGE = "<h1>输入有误</h1>"


def rows(engine, table) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def handovers(client, api_headers, canteen: int) -> list[dict]:
    response = client.get(f"/api/v1/canteens/{canteen}/waste-handovers", headers=api_headers("operator_a"),
                          params={"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200, response.text
    return response.json()


def post_raw(client, api_headers, path: str, body: bytes, content_type: str = "application/json"):
    return client.post(path, content=body, headers={**api_headers("operator_a"), **EN, "content-type": content_type})


def test_a_json_api_value_holding_a_nul_is_refused_naming_the_field(client, org, api_headers, engine):
    a = org.canteens["a"]
    url = f"/api/v1/canteens/{a}/waste-handovers"
    refused = client.post(url, json={**HANDOVER, "collector": "津环\x00收运"}, headers={**api_headers("operator_a"), **EN})
    assert refused.status_code == 422
    assert refused.json() == {"detail": [{"loc": ["body", "collector"], "msg": NUL_MESSAGE.format("Collector"),
                                          "type": "nul_character"}]}
    in_chinese = client.post(url, json={**HANDOVER, "note": "\x00"}, headers=api_headers("operator_a"))
    assert in_chinese.status_code == 422
    assert in_chinese.json()["detail"][0]["msg"] == "备注不能包含空字符（U+0000）"
    kitchen = client.post(f"/api/v1/canteens/{a}/kitchen-waste", headers={**api_headers("operator_a"), **EN}, json={
        "service_date": "2026-11-20", "meal": "lunch", "category": "trimmings", "grams": 500, "note": "切配\x00"})
    assert kitchen.status_code == 422 and kitchen.json()["detail"][0]["loc"] == ["body", "note"]
    # A key holding one, and a value deep in the body: the loc leads to it as FastAPI's would.
    key = post_raw(client, api_headers, url, b'{"handed_on": "2026-11-20", "colle\\u0000ctor": "x"}')
    assert key.json()["detail"][0]["loc"] == ["body", "colle\x00ctor"]
    assert key.json()["detail"][0]["msg"] == NUL_MESSAGE.format("this value")
    factors = client.put(f"/api/v1/canteens/{a}/waste-factors", headers={**api_headers("operator_a"), **EN},
                         json={"prices": {"plate": 12, "unserved\x00": 3}})
    assert factors.status_code == 422 and factors.json()["detail"][0]["loc"] == ["body", "prices", "unserved\x00"]
    assert handovers(client, api_headers, a) == [] and rows(engine, KitchenWaste) == 0


@pytest.mark.parametrize(("collector", "stored"), [
    (rb"a\u0000b", None),  # the NUL escape
    (rb"a\\u0000b", "a\\u0000b"),  # an escaped backslash, then the letters u0000
    (rb"a\\\u0000b", None),  # an escaped backslash, then the NUL escape
    (rb"a\\\\u0000b", "a\\\\u0000b"),
    (rb"\\u0000", "\\u0000"),
])
def test_only_a_real_nul_escape_is_refused(client, org, api_headers, collector, stored):
    a = org.canteens["a"]
    body = b'{"handed_on": "2026-11-20", "collector": "' + collector + b'", "manifest_no": "TJ-1", "grams": 3650}'
    response = post_raw(client, api_headers, f"/api/v1/canteens/{a}/waste-handovers", body)
    if stored is None:
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "collector"]
        assert handovers(client, api_headers, a) == []
    else:
        assert response.status_code == 201, response.text
        assert [row["collector"] for row in handovers(client, api_headers, a)] == [stored]


def test_json_in_utf16_is_checked_too_and_broken_json_is_left_to_the_app(client, org, api_headers):
    """Raw NUL bytes are no JSON in UTF-8, but JSON in UTF-16 is full of them: such a body is parsed to be sure."""
    a = org.canteens["a"]
    url = f"/api/v1/canteens/{a}/waste-handovers"
    utf16 = json.dumps({**HANDOVER, "collector": "a\x00b"}).encode("utf-16")
    refused = post_raw(client, api_headers, url, utf16)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "collector"]
    fine = post_raw(client, api_headers, url, json.dumps({**HANDOVER, "collector": "甲\\u0000"}).encode("utf-16"))
    assert fine.status_code == 201 and handovers(client, api_headers, a)[0]["collector"] == "甲\\u0000"
    broken = post_raw(client, api_headers, url, b'{"collector": "\\u0000')  # not JSON: FastAPI's own 422
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"


def test_a_standard_file_holding_a_nul_escape_is_refused_naming_the_field(client, api_headers, engine):
    """TOML's basic strings have two escapes for a NUL; in a literal string the same letters are text."""
    headers = {**api_headers("admin"), **EN, "Content-Type": "application/toml"}
    text = reference_standard().text
    for escape in ("\\u0000", "\\U00000000"):
        refused = client.post("/api/v1/assessment/standards", headers=headers,
                              content=text.replace('name = "优秀"', f'name = "优秀{escape}"').encode())
        assert refused.status_code == 422
        assert refused.json()["detail"] == [{"loc": ["body", "grades", 0, "name"], "msg": NUL_MESSAGE.format("Name"),
                                             "type": "nul_character"}]
    assert rows(engine, AssessmentStandard) == 0
    literal = text.replace('name = "优秀"', "name = '优秀\\u0000'").replace('code = "CANTEEN-REF"', 'code = "T-1"')
    assert client.post("/api/v1/assessment/standards", headers=headers, content=literal.encode()).status_code == 201


def test_json_nul_finds_the_first_nul_in_document_order():
    assert json_nul(b'{"items": [{"seq": 1}, {"seq": 2, "diner_ref": "\\u0000"}], "z": "\\u0000"}') == [
        "body", "items", 1, "diner_ref"]
    assert json_nul(b'["a", "b\\\\u0000", "\\\\\\u0000"]') == ["body", 2]
    assert json_nul(b'{"note": "\\\\u0000"}') is None
    assert json_nul(b"[" * 100_000 + b'"\\u0000"' + b"]" * 100_000) is None  # too deep for json: the app answers


def ledger_form(client, csrf, canteen: int, **change):
    return client.post(f"/canteens/{canteen}/waste-handovers", data={
        "csrf_token": csrf(), "handed_on": "2026-11-20", "collector": "津环收运公司", "manifest_no": "TJ-1",
        "weight_kg": "3.65", "note": "", **change}, follow_redirects=False)


def test_a_page_form_field_holding_a_nul_gets_the_error_page_and_nothing_is_stored(sign_in, org, csrf, client,
                                                                                    api_headers):
    a = org.canteens["a"]
    sign_in("operator_a")
    refused = ledger_form(client, csrf, a, collector="津环\x00收运")  # sent as %00
    assert refused.status_code == 422
    assert ON_PAGE in refused.text and "收运单位不能包含空字符（U+0000）" in refused.text
    assert refused.headers["content-security-policy"].startswith("default-src 'self'")
    raw = client.post(f"/canteens/{a}/waste-handovers", headers={"content-type": "application/x-www-form-urlencoded"},
                      content=f"csrf_token={csrf()}&handed_on=2026-11-20&manifest_no=TJ-1&note=a\x00b".encode())
    assert raw.status_code == 422 and "备注不能包含空字符（U+0000）" in raw.text
    assert handovers(client, api_headers, a) == []
    typed = ledger_form(client, csrf, a, collector="津环\\u0000", note="%00")  # text that only looks like one
    assert typed.status_code == 303, typed.text
    assert [(row["collector"], row["note"]) for row in handovers(client, api_headers, a)] == [("津环\\u0000", "%00")]


def test_a_query_string_or_path_holding_a_nul_is_refused(sign_in, org, client, api_headers, engine):
    a = org.canteens["a"]
    listed = client.get(f"/api/v1/canteens/{a}/waste-handovers?from=2026-11-01&to=2026-11-30%00",
                        headers={**api_headers("operator_a"), **EN})
    assert listed.status_code == 422
    assert listed.json()["detail"] == [{"loc": ["query", "to"], "msg": NUL_MESSAGE.format("To"),
                                        "type": "nul_character"}]
    # The admin's canteen search takes any text and looks it up in the database.
    search = sign_in("admin").get("/admin/canteens?q=%E9%A3%9F%00")
    assert search.status_code == 422 and ON_PAGE in search.text and "搜索不能包含空字符（U+0000）" in search.text
    assert sign_in("admin").get("/admin/canteens?q=%2500").status_code == 200  # the text "%00"
    card = client.put(f"/api/v1/canteens/{a}/cards/00%0002", json={"user_id": org.users["diner_a"]},
                      headers={**api_headers("operator_a"), **EN})
    assert card.status_code == 422
    assert card.json()["detail"] == [{"loc": ["path"], "msg": NUL_MESSAGE.format("this value"),
                                      "type": "nul_character"}]
    assert rows(engine, DinerCard) == 0


def test_a_multipart_text_field_or_file_name_holding_a_nul_is_refused_but_a_file_may_hold_nul_bytes(
        sign_in, org, csrf, engine):
    client = sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    photo = image_bytes("PNG")
    assert b"\x00" in photo
    note = client.post(url, data={"csrf_token": csrf(), "action": "save", "answer_S2": "partly",
                                  "note_S2": "只有\x00午餐预约"}, files={"photos": ("宣传栏.png", photo, "image/png")})
    assert note.status_code == 422 and ON_PAGE in note.text and "不能包含空字符（U+0000）" in note.text
    # A browser escapes a NUL in a file name as %00 (httpx too): a raw one is sent by hand.
    name = client.post(url, headers={"content-type": "multipart/form-data; boundary=x"}, content=(
        f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf()}\r\n'
        '--x\r\nContent-Disposition: form-data; name="photos"; filename="宣传\x00栏.png"\r\n'
        'Content-Type: image/png\r\n\r\n').encode() + photo + b"\r\n--x--\r\n")
    assert name.status_code == 422 and "不能包含空字符（U+0000）" in name.text
    # Text fields in UTF-16 (the form's charset): their NUL bytes are no NUL characters, a NUL character is.
    boundary = "b0undary"
    utf16 = client.post(url, headers={"content-type": f"multipart/form-data; boundary={boundary}; charset=utf-16"},
                        content=f'--{boundary}\r\nContent-Disposition: form-data; name="note_S2"\r\n\r\n'.encode()
                        + "说明\x00".encode("utf-16-le") + f"\r\n--{boundary}--\r\n".encode())
    assert utf16.status_code == 422 and "不能包含空字符（U+0000）" in utf16.text
    assert rows(engine, EvidenceFile) == 0
    saved = client.post(url, data={"csrf_token": csrf(), "action": "save", "answer_S2": "partly",
                                   "note_S2": "只有午餐预约"}, files={"photos": ("宣传栏.png", photo, "image/png")},
                        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get(url).text
    assert "只有午餐预约" in page and "宣传栏.png" in page and rows(engine, EvidenceFile) == 1


def item(clock, seq: int, **extra) -> dict:
    return {"seq": seq, "measured_at": (clock() - timedelta(minutes=10)).isoformat(), "grams": 30, **extra}


def test_a_batch_rejects_only_the_item_holding_a_nul(client, org, clock, engine):
    """The station's gateway sends a refused batch again: the batch is answered item by item as always."""
    batch = {"items": [item(clock, 1, diner_ref="卡\x0001"), item(clock, 2, diner_ref="卡\\u000002"), item(clock, 3)]}
    response = client.post("/api/v1/weighings", json=batch, headers={"Authorization": f"Bearer {org.station_keys['a']}"})
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 0, 1)
    assert body["results"][0] == {"index": 0, "seq": 1, "status": "rejected", "field": "diner_ref",
                                  "reason": "text must not contain the NUL character (U+0000)"}
    with Session(engine) as session:
        stored = session.exec(select(PlateWeighing.seq, PlateWeighing.diner_ref).order_by(PlateWeighing.seq)).all()
    assert [tuple(row) for row in stored] == [(2, "卡\\u000002"), (3, None)]


def test_the_station_is_still_refused_for_a_nul_in_its_address(client, org, clock):
    response = client.post("/api/v1/weighings?x=%00", json={"items": [item(clock, 1)]},
                           headers={"Authorization": f"Bearer {org.station_keys['a']}"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "x"]


def chunked(body: bytes, size: int):
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_body_sent_in_chunks_is_checked_whole_and_reaches_the_app_whole(sign_in, org, csrf, client, api_headers):
    a = org.canteens["a"]
    body = json.dumps({**HANDOVER, "collector": "a\x00b"}).encode()
    split = body.index(b"\\u0000") + 3  # the escape cut in two
    refused = client.post(f"/api/v1/canteens/{a}/waste-handovers", content=iter([body[:split], body[split:]]),
                          headers={**api_headers("operator_a"), "content-type": "application/json"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "collector"]
    good = json.dumps({**HANDOVER, "collector": "津环收运公司" * 10}).encode()
    taken = client.post(f"/api/v1/canteens/{a}/waste-handovers", content=chunked(good, 7),
                        headers={**api_headers("operator_a"), "content-type": "application/json"})
    assert taken.status_code == 201 and taken.json()["collector"] == "津环收运公司" * 10
    sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    form = (f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf()}\r\n'
            '--x\r\nContent-Disposition: form-data; name="action"\r\n\r\nsave\r\n'
            '--x\r\nContent-Disposition: form-data; name="note_S2"\r\n\r\n分块说明\x00\r\n--x--\r\n').encode()
    multipart = client.post(url, content=chunked(form, 5), headers={"content-type": "multipart/form-data; boundary=x"})
    assert multipart.status_code == 422 and "不能包含空字符（U+0000）" in multipart.text
    assert "分块说明" not in client.get(url).text
