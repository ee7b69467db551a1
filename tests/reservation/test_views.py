"""The diner's booking page: book with portion choices, see the QR code, cancel; cut-off and role refusals."""
import re
from datetime import UTC, date, datetime

import pytest

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
