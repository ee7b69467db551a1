"""The diner's booking page: book with portion choices, see the QR code, cancel; cut-off and role refusals."""
import re
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from canteen.reservation.models import Booking

WEDNESDAY = date(2026, 11, 25)
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TUESDAY_EVENING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai: Wednesday's cut-off has passed


@pytest.fixture
def diner(sign_in, clock, add_menu):
    clock.now = MONDAY_MORNING
    menu = add_menu(WEDNESDAY)
    return sign_in("diner_a"), menu


def test_book_a_half_portion_see_the_qr_code_and_cancel(diner, csrf, org):
    client, menu = diner
    page = client.get(f"/bookings?date={WEDNESDAY}&meal=lunch")
    assert page.status_code == 200 and "米饭" in page.text and 'value="half"' in page.text
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                              f"portion_{menu.rice}": "half", f"portion_{menu.pork}": ""},
                           follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    booking_id = re.search(r'data-booking="(\d+)"', page).group(1)
    assert "<svg" in page and re.search(r"<code>bk_[\w-]+</code>", page)

    response = client.post(f"/bookings/{booking_id}/cancel", data={"csrf_token": csrf()}, follow_redirects=False)
    assert response.status_code == 303
    assert "data-booking=" not in client.get("/bookings").text


def test_booking_after_the_cutoff_is_refused_with_the_reason(sign_in, add_menu, csrf, clock):
    add_menu(WEDNESDAY)
    clock.now = TUESDAY_EVENING
    client = sign_in("diner_a")
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                              "set_meal": "on"})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and "2026-11-24 16:00" in response.text


def test_booking_needs_the_csrf_token(diner):
    client, _ = diner
    response = client.post("/bookings", data={"service_date": str(WEDNESDAY), "meal": "lunch", "set_meal": "on"})
    assert response.status_code == 403


def test_only_diners_have_a_booking_page(sign_in):
    assert sign_in("operator_a").get("/bookings").status_code == 403


def test_the_diners_history_shows_meals_eaten_and_missed(sign_in, org, diners, past_lunches, clock, csrf,
                                                         add_menu):
    clock.now = MONDAY_MORNING
    past_lunches(org.canteens["a"], [diners["diner_a"], diners["diner_a3"]], date(2026, 11, 16), 7)
    page = sign_in("diner_a3").get("/bookings/history").text  # booked every day, never came
    assert page.count('data-outcome="no_show"') == 7 and "7" in re.search(r'data-figure="no-shows">(.*?)<', page).group(1)
    page = sign_in("diner_a").get("/bookings/history").text
    assert page.count('data-outcome="eaten"') == 7 and 'data-outcome="no_show"' not in page

    add_menu(WEDNESDAY)
    client = sign_in("diner_a2")
    client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                   "set_meal": "on"})
    booking_id = re.search(r'data-booking="(\d+)"', client.get("/bookings").text).group(1)
    assert 'data-booking=' not in client.get("/bookings/history").text  # a coming meal is not history yet
    client.post(f"/bookings/{booking_id}/cancel", data={"csrf_token": csrf()})
    clock.now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday
    page = sign_in("diner_a2").get("/bookings/history").text
    assert f'data-booking="{booking_id}"' in page
    assert 'data-outcome="cancelled"' in page


WEDNESDAY_NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # lunch is being served


def _book_wednesday(client, csrf, menu) -> int:
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                              f"portion_{menu.rice}": "half", f"portion_{menu.pork}": "full"},
                           follow_redirects=False)
    assert response.status_code == 303
    return int(re.search(r"booking=(\d+)", response.headers["location"]).group(1))


def test_booking_is_confirmed_and_its_card_names_dishes_and_portions(diner, csrf):
    client, menu = diner
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                              f"portion_{menu.rice}": "half", f"portion_{menu.pork}": "full"})
    assert response.status_code == 200
    assert re.search(r'role="status">✓ 已预约 11月25日 午餐<', response.text)
    card = re.search(r'<div class="booking" data-booking="(\d+)">(.*?)</form>', response.text, re.S)
    assert "米饭 · 半份" in card.group(2) and "红烧肉 · 整份" in card.group(2) and "个菜品" not in card.group(2)
    response = client.post(f"/bookings/{card.group(1)}/cancel", data={"csrf_token": csrf()})
    assert re.search(r'role="status">✓ 已取消 11月25日 午餐<', response.text)
    assert 'role="status"' not in client.get("/bookings").text  # no confirmation without a change


def test_a_checked_in_meal_leaves_the_upcoming_list_and_cannot_be_cancelled(diner, csrf, clock, sign_in, org,
                                                                            session):
    client, menu = diner
    booking_id = _book_wednesday(client, csrf, menu)
    token = session.exec(select(Booking.token).where(Booking.id == booking_id)).one()
    clock.now = WEDNESDAY_NOON
    client = sign_in("diner_a")  # two days on: a fresh sign-in
    page = client.get("/bookings").text
    assert f'data-booking="{booking_id}"' in page and "本餐已过取消截止时间" in page  # after the cut-off: no button
    assert f'action="/bookings/{booking_id}/cancel"' not in page
    operator = sign_in("operator_a")
    assert operator.post(f"/canteens/{org.canteens['a']}/checkin", data={"csrf_token": csrf(), "code": token}
                         ).status_code == 200
    client = sign_in("diner_a")
    page = client.get("/bookings").text
    assert f'data-booking="{booking_id}"' not in page
    history = client.get("/bookings/history").text
    row = re.search(rf'<tr data-booking="{booking_id}"(.*?)</tr>', history, re.S).group(1)
    assert 'data-outcome="eaten"' in row and "米饭 · 半份" in row
    response = client.post(f"/bookings/{booking_id}/cancel", data={"csrf_token": csrf()})
    assert response.status_code == 409 and "您已就餐：已签到的预约不能取消" in response.text


def test_the_diners_home_shows_the_next_meal_and_this_months_record(diner, csrf, clock, sign_in, org, diners,
                                                                    past_lunches):
    past_lunches(org.canteens["a"], [diners["diner_a"], diners["diner_a3"]], date(2026, 11, 16), 5)
    client, menu = diner
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/me"
    page = client.get("/me").text
    assert "还没有预约的餐次" in page
    assert re.search(r'data-figure="booked">5<', page) and re.search(r'data-figure="eaten">5<', page)
    booking_id = _book_wednesday(client, csrf, menu)
    page = client.get("/me").text
    card = re.search(rf'data-booking="{booking_id}">(.*?)</div>\s*</div>', page, re.S).group(1)
    assert "<svg" in card and "2026-11-25 午餐" in card and "米饭 · 半份" in card
    # This month so far: a meal booked for a coming day counts once its day has come.
    assert re.search(r'data-figure="booked">5<', page) and re.search(r'data-figure="no-shows">0<', page)
    page = sign_in("diner_a3").get("/me").text  # booked five lunches, came to none
    assert re.search(r'data-figure="no-shows">5<', page) and re.search(r'data-figure="eaten">0<', page)


def test_refusals_name_the_meal_in_chinese(diner, csrf):
    client, menu = diner
    _book_wednesday(client, csrf, menu)
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                              "set_meal": "on"})
    assert response.status_code == 409 and "午餐" in response.text
    alert = re.search(r'role="alert">(.*?)<', response.text).group(1)
    assert "lunch" not in alert.lower() and "午餐" in alert
    response = client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY),
                                              "meal": "dinner", f"portion_{menu.pork}": "small"})
    alert = re.search(r'role="alert">(.*?)<', response.text).group(1)
    assert "dinner" not in alert and "晚餐" in alert
