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


def test_managers_see_a_meals_bookings_forecast_and_prep(diner, csrf, sign_in, org):
    client, menu = diner
    client.post("/bookings", data={"csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
                                   f"portion_{menu.rice}": "half", f"portion_{menu.pork}": "full"})
    url = f"/canteens/{org.canteens['a']}/bookings?date={WEDNESDAY}&meal=lunch"
    page = sign_in("operator_a").get(url)
    assert page.status_code == 200
    assert re.search(r'data-figure="booked">1<', page.text) and re.search(r'data-figure="expected">1<', page.text)
    pork = re.search(rf'<tr data-dish="{menu.pork}">(.*?)</tr>', page.text, re.S).group(1)
    assert "整份 × 1" in pork and "<td>0.2</td>" in pork  # one full 200 g portion
    assert sign_in("operator_b").get(url).status_code == 404
    assert sign_in("diner_a").get(url).status_code == 403
