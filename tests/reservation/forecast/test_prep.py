"""Forecast and prep suggestion for one meal, from the canteen's own bookings and check-ins."""
from datetime import UTC, date, datetime

import pytest

from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.forecast import prep
from canteen.reservation.models import BookingCreate, ChoiceSchema, Portion

WEDNESDAY = date(2026, 11, 25)
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # before the cut-off for Wednesday


@pytest.fixture
def bookings(session, org, scope_of, add_menu):
    """Wednesday lunch: diner_a a half portion of rice and a full pork, diner_a2 a set meal."""
    menu = add_menu(WEDNESDAY)
    service.book(session, scope_of("diner_a"), BookingCreate(
        canteen_id=org.canteens["a"], service_date=WEDNESDAY, meal=Meal.lunch, set_meal=False,
        choices=[ChoiceSchema(dish_id=menu.rice, portion=Portion.half),
                 ChoiceSchema(dish_id=menu.pork, portion=Portion.full)]), MONDAY_MORNING)
    service.book(session, scope_of("diner_a2"), BookingCreate(
        canteen_id=org.canteens["a"], service_date=WEDNESDAY, meal=Meal.lunch, set_meal=True), MONDAY_MORNING)
    session.commit()
    return menu


def test_without_history_the_forecast_is_the_bookings_and_prep_follows_the_mix(session, org, scope_of, bookings):
    result = prep.meal_prep(session, scope_of("operator_a"), org.canteens["a"], WEDNESDAY, Meal.lunch,
                            MONDAY_MORNING)
    assert result.forecast.booked == 2 and result.forecast.expected == 2
    dishes = {dish.name: dish for dish in result.dishes}
    # Rice, 150 g full: half (0.5) + set meal (1.0) = 1.5 portions for 2 diners -> 2 × 0.75 × 150 g = 0.225 kg.
    assert dishes["米饭"].booked_portions == {Portion.half: 1, Portion.full: 1}
    assert dishes["米饭"].kg == pytest.approx(0.2, abs=0.05)
    # Pork, 200 g full: two full portions -> 0.4 kg.
    assert dishes["红烧肉"].kg == pytest.approx(0.4)
    assert dishes["红烧肉"].kg_low <= dishes["红烧肉"].kg <= dishes["红烧肉"].kg_high


def test_prep_api_is_for_the_canteens_managers(client, org, bookings, api_headers, clock):
    clock.now = MONDAY_MORNING
    url = f"/api/v1/canteens/{org.canteens['a']}/prep/{WEDNESDAY}/lunch"
    response = client.get(url, headers=api_headers("operator_a"))
    assert response.status_code == 200
    body = response.json()
    assert body["forecast"]["booked"] == 2 and {dish["name"] for dish in body["dishes"]} == {"米饭", "红烧肉"}
    assert client.get(url, headers=api_headers("bureau_c1")).status_code == 200
    assert client.get(url, headers=api_headers("operator_b")).status_code == 404
    assert client.get(url, headers=api_headers("diner_a")).status_code == 403
    assert client.get(url.replace("lunch", "tea"), headers=api_headers("operator_a")).status_code == 422
