"""Managers' pages: coming meals with forecast, prep and its exports, the forecast-vs-actual chart, menus and
booking rules, and the check-in screen."""
import csv
import io
import re
from datetime import UTC, date, datetime, time

import openpyxl
import pytest
from sqlmodel import select

from canteen.access import SYSTEM
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.models import Booking
from canteen.weighing.models import CheckIn

TUESDAY = date(2026, 11, 24)
WEDNESDAY = date(2026, 11, 25)
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WEDNESDAY_NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, lunch is being served
PREP_HEADERS_ZH = ["日期", "餐次", "已预约", "预计就餐人数", "预计就餐人数（80% 区间下限）", "预计就餐人数（80% 区间上限）",
                   "菜品", "每整份原料（克）", "已预约整份", "已预约半份", "已预约小份", "原料用量（千克）",
                   "原料用量下限（千克）", "原料用量上限（千克）", "因剩余每份下调（%）"]


@pytest.fixture
def booked(sign_in, clock, add_menu, csrf):
    """diner_a booked Wednesday lunch: half a portion of rice, a full portion of pork."""
    clock.now = MONDAY_MORNING
    menu = add_menu(WEDNESDAY)
    client = sign_in("diner_a")
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                              f"portion_{menu.rice}": "half", f"portion_{menu.pork}": "full"})
    assert response.status_code == 200
    return menu


def test_managers_see_a_meals_bookings_forecast_and_prep(booked, sign_in, org):
    url = f"/canteens/{org.canteens['a']}/bookings?date={WEDNESDAY}&meal=lunch"
    page = sign_in("operator_a").get(url)
    assert page.status_code == 200
    assert re.search(r'data-figure="booked">1<', page.text) and re.search(r'data-figure="expected">1<', page.text)
    pork = re.search(rf'<tr data-dish="{booked.pork}">(.*?)</tr>', page.text, re.S).group(1)
    assert "整份 × 1" in pork and "<td>0.2</td>" in pork  # one full 200 g portion
    assert sign_in("operator_b").get(url).status_code == 404
    assert sign_in("diner_a").get(url).status_code == 403


def test_coming_meals_are_todays_remaining_and_tomorrows(booked, sign_in, org, clock):
    clock.now = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Tuesday 13:00: breakfast is over, lunch is not
    page = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}/bookings").text
    shown = re.findall(r'data-upcoming="([\d-]+-\w+)"', page)
    assert shown == [f"{TUESDAY}-lunch", f"{TUESDAY}-dinner", f"{WEDNESDAY}-breakfast", f"{WEDNESDAY}-lunch",
                     f"{WEDNESDAY}-dinner"]
    wednesday_lunch = re.search(rf'data-upcoming="{WEDNESDAY}-lunch">(.*?)</tr>', page, re.S).group(1)
    assert "<td>1</td>" in wednesday_lunch


def test_prep_exports_one_row_per_meal_and_dish(booked, sign_in, org):
    client = sign_in("operator_a")
    base = f"/canteens/{org.canteens['a']}"
    response = client.get(f"{base}/prep.csv?date={WEDNESDAY}&meal=lunch")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == PREP_HEADERS_ZH
    by_dish = {row["菜品"]: row for row in rows}
    assert set(by_dish) == {"米饭", "红烧肉"}
    pork, rice = by_dish["红烧肉"], by_dish["米饭"]
    assert (pork["餐次"], pork["已预约"], pork["预计就餐人数"]) == ("午餐", "1", "1")
    assert pork["已预约整份"] == "1" and pork["每整份原料（克）"] == "200" and pork["原料用量（千克）"] == "0.2"
    assert rice["已预约半份"] == "1" and rice["原料用量（千克）"] == "0.1"  # half of 150 g

    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"{base}/prep.xlsx").content))
    sheet = workbook["备料"]
    header = [cell.value for cell in sheet[1]]
    assert header == PREP_HEADERS_ZH
    values = [dict(zip(header, (cell.value for cell in row))) for row in sheet.iter_rows(min_row=2)]
    # The coming meals from Monday 10:00: Monday lunch and dinner, all of Tuesday (no menus: one row each).
    assert [(row["日期"], row["餐次"]) for row in values] == [
        ("2026-11-23", "午餐"), ("2026-11-23", "晚餐"), (str(TUESDAY), "早餐"), (str(TUESDAY), "午餐"),
        (str(TUESDAY), "晚餐")]
    counts = ["已预约", "预计就餐人数", "预计就餐人数（80% 区间下限）", "预计就餐人数（80% 区间上限）", "已预约整份"]
    assert all(isinstance(row[column], int) for row in values for column in counts)  # 0, never 0.0
    assert sign_in("operator_b").get(f"{base}/prep.csv").status_code == 404


def test_the_chart_compares_the_forecast_with_who_came(sign_in, org, diners, past_lunches, clock):
    clock.now = MONDAY_MORNING
    canteen = org.canteens["a"]
    url = f"/canteens/{canteen}/bookings?meal=lunch"
    client = sign_in("operator_a")
    assert "data-chart=" not in client.get(url).text
    assert client.get(f"/canteens/{canteen}/forecast-chart.svg?meal=lunch").status_code == 404
    past_lunches(canteen, [diners["diner_a"], diners["diner_a2"], diners["diner_a3"]], date(2026, 10, 1), 53)
    page = client.get(url).text
    figure = re.search(r'data-chart="forecast-vs-actual">(.*?)</figure>', page, re.S).group(1)
    source = re.search(r'<img src="([^"]+)"', figure).group(1)
    assert source == f"/canteens/{canteen}/forecast-chart.svg?meal=lunch"
    chart = client.get(source)
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.text.startswith("<svg") and chart.text.count("<path") > 20
    assert "data-chart=" not in client.get(f"/canteens/{canteen}/bookings?meal=dinner").text  # nobody ate dinner
    assert sign_in("operator_b").get(source).status_code == 404


def test_operator_adds_a_dish_and_puts_it_on_a_menu(sign_in, org, csrf, clock, session):
    clock.now = MONDAY_MORNING
    client, canteen = sign_in("operator_a"), org.canteens["a"]
    response = client.post(f"/canteens/{canteen}/dishes", data={
        "csrf_token": csrf(), "name": "清炒时蔬", "raw_grams": "180", "offers_small": "on", "price_yuan_per_kg": "12.5",
        "service_date": str(WEDNESDAY), "meal": "dinner"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/canteens/{canteen}/menus?date={WEDNESDAY}&meal=dinner"
    dish = service.list_dishes(session, SYSTEM, canteen)[0]
    assert (dish.name, dish.raw_grams, dish.offers_half, dish.offers_small) == ("清炒时蔬", 180, False, True)
    assert dish.price_yuan_per_kg == 12.5

    response = client.post(f"/canteens/{canteen}/menus", data={
        "csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "dinner", "dish_id": [str(dish.id)]})
    assert response.status_code == 200
    assert [item.name for item in service.get_menu(session, SYSTEM, canteen, WEDNESDAY, Meal.dinner)] == ["清炒时蔬"]
    assert re.search(rf'value="{dish.id}"[^>]*checked', response.text)


def test_a_bad_dish_is_refused_in_place(sign_in, org, csrf, session):
    client, canteen = sign_in("operator_a"), org.canteens["a"]
    response = client.post(f"/canteens/{canteen}/dishes", data={"csrf_token": csrf(), "name": "汤",
                                                                 "raw_grams": "-5"})
    assert response.status_code == 422 and 'role="alert"' in response.text and "每整份原料（克）须大于 0" in response.text
    assert service.list_dishes(session, SYSTEM, canteen) == []
    response = client.post(f"/canteens/{canteen}/dishes", data={"csrf_token": csrf(), "name": "汤", "raw_grams": "100",
                                                                 "price_yuan_per_kg": "-1"})
    assert response.status_code == 422 and "单价（¥/千克）" in response.text
    assert service.list_dishes(session, SYSTEM, canteen) == []


def test_closing_a_day_cancels_its_bookings_and_reopening_lists_it_no_more(booked, sign_in, org, csrf, session):
    client, canteen = sign_in("operator_a"), org.canteens["a"]
    response = client.post(f"/canteens/{canteen}/closed-days", data={
        "csrf_token": csrf(), "closed_date": str(WEDNESDAY), "reason": "设备检修"})
    assert response.status_code == 200 and f'data-closed="{WEDNESDAY}"' in response.text and "设备检修" in response.text
    counts = service.meal_counts(session, SYSTEM, canteen, WEDNESDAY, Meal.lunch, MONDAY_MORNING)
    assert (counts.booked, counts.cancelled) == (0, 1)
    response = client.post(f"/canteens/{canteen}/closed-days/{WEDNESDAY}/reopen", data={"csrf_token": csrf()})
    assert response.status_code == 200 and f'data-closed="{WEDNESDAY}"' not in response.text


def test_booking_rules_are_saved_and_bad_ones_refused(sign_in, org, csrf, session):
    client, canteen = sign_in("operator_a"), org.canteens["a"]
    response = client.post(f"/canteens/{canteen}/booking-policy", data={
        "csrf_token": csrf(), "cutoff_time": "15:00", "cutoff_days_before": "2", "lunch_capacity": "80",
        "breakfast_capacity": "", "dinner_capacity": ""})
    assert response.status_code == 200
    policy = service.get_policy(session, SYSTEM, canteen)
    assert (policy.cutoff_time, policy.cutoff_days_before, policy.lunch_capacity, policy.dinner_capacity) == (
        time(15, 0), 2, 80, None)
    response = client.post(f"/canteens/{canteen}/booking-policy", data={
        "csrf_token": csrf(), "cutoff_time": "25:00", "cutoff_days_before": "1"})
    assert response.status_code == 422 and "截止时间" in response.text
    session.expire_all()
    assert service.get_policy(session, SYSTEM, canteen).cutoff_time == time(15, 0)


def test_bureaus_read_menus_but_cannot_change_them(sign_in, org, csrf):
    client, canteen = sign_in("bureau_c1"), org.canteens["a"]
    page = client.get(f"/canteens/{canteen}/menus")
    assert page.status_code == 200 and f'action="/canteens/{canteen}/dishes"' not in page.text
    response = client.post(f"/canteens/{canteen}/dishes", data={"csrf_token": csrf(), "name": "汤", "raw_grams": "100"})
    assert response.status_code == 403
    assert sign_in("operator_b").get(f"/canteens/{canteen}/menus").status_code == 404
    assert sign_in("diner_a").get(f"/canteens/{canteen}/menus").status_code == 403


def _wednesday_token(session, canteen: int) -> str:
    return session.exec(select(Booking.token).where(Booking.canteen_id == canteen,
                                                    Booking.service_date == WEDNESDAY)).one()


def test_check_in_by_code_twice_and_a_walk_in(booked, sign_in, org, csrf, clock, session):
    token = _wednesday_token(session, org.canteens["a"])
    clock.now = WEDNESDAY_NOON
    client, url = sign_in("operator_a"), f"/canteens/{org.canteens['a']}/checkin"
    page = client.get(url)
    assert "午餐" in page.text and 'name="code"' in page.text
    response = client.post(url, data={"csrf_token": csrf(), "code": token})
    assert response.status_code == 200 and 'role="status"' in response.text
    assert re.search(r'data-figure="checked-in">1<', response.text)
    clock.advance(minutes=3)
    response = client.post(url, data={"csrf_token": csrf(), "code": token})
    assert response.status_code == 409 and "12:00" in response.text  # already checked in at 12:00
    response = client.post(url, data={"csrf_token": csrf(), "code": "", "walk_in": "1"})
    assert response.status_code == 200 and re.search(r'data-figure="walk-ins">1<', response.text)
    response = client.post(url, data={"csrf_token": csrf(), "code": ""})
    assert response.status_code == 422 and 'role="alert"' in response.text


def test_a_token_of_another_canteen_is_refused_by_name(booked, sign_in, org, csrf, clock, session):
    token = _wednesday_token(session, org.canteens["a"])
    clock.now = WEDNESDAY_NOON
    client = sign_in("operator_b")
    response = client.post(f"/canteens/{org.canteens['b']}/checkin", data={"csrf_token": csrf(), "code": token})
    assert response.status_code == 422 and "食堂A" in response.text


def test_the_check_in_screen_says_when_no_meal_is_served(sign_in, org, clock):
    clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    page = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}/checkin")
    assert page.status_code == 200 and 'class="notice"' in page.text and 'name="code"' not in page.text
    assert sign_in("bureau_c1").get(f"/canteens/{org.canteens['a']}/checkin").status_code == 403


def test_text_that_is_neither_a_code_nor_a_card_is_refused_not_counted(booked, sign_in, org, csrf, clock):
    clock.now = WEDNESDAY_NOON
    client, url = sign_in("operator_a"), f"/canteens/{org.canteens['a']}/checkin"
    response = client.post(url, data={"csrf_token": csrf(), "code": "张三"})
    assert response.status_code == 422 and 'role="alert"' in response.text
    assert "张三 既不是预约码，也不是本食堂登记的就餐卡" in response.text
    response = client.post(url, data={"csrf_token": csrf(), "code": "张三", "walk_in": "1"})
    assert response.status_code == 422
    assert re.search(r'data-figure="walk-ins">0<', client.get(url).text)


def test_a_walk_in_is_undone_within_a_minute_and_not_after(booked, sign_in, org, csrf, clock, session):
    clock.now = WEDNESDAY_NOON
    client, url = sign_in("operator_a"), f"/canteens/{org.canteens['a']}/checkin"
    response = client.post(url, data={"csrf_token": csrf(), "code": "", "walk_in": "1"})
    undo = re.search(rf'action="({url}/(\d+)/undo)"', response.text)
    assert undo and "撤销" in response.text and re.search(r'data-figure="walk-ins">1<', response.text)
    clock.advance(seconds=30)
    response = client.post(undo.group(1), data={"csrf_token": csrf()})
    assert response.status_code == 200 and "已撤销未预约就餐登记" in response.text
    assert re.search(r'data-figure="walk-ins">0<', response.text)
    assert session.get(CheckIn, int(undo.group(2))) is None

    response = client.post(url, data={"csrf_token": csrf(), "code": "", "walk_in": "1"})
    late = re.search(rf'action="({url}/\d+/undo)"', response.text).group(1)
    clock.advance(seconds=61)
    response = client.post(late, data={"csrf_token": csrf()})
    assert response.status_code == 409 and "60 秒内撤销" in response.text
    assert re.search(r'data-figure="walk-ins">1<', response.text)
    token = _wednesday_token(session, org.canteens["a"])
    response = client.post(url, data={"csrf_token": csrf(), "code": token})
    assert response.status_code == 200 and "/undo" not in response.text  # a booking's check-in has no undo
