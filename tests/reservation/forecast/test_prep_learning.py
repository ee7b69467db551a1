"""The prep suggestion learns from leftovers: a dish left over week after week (unserved share of 10 % or more
in 3 of its last 4 weeks with entries, within 8 weeks) has its raw grams per portion lowered by the median
weekly share, at most 30 %; hand-made weeks that should and should not trigger it."""
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from canteen import db
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.forecast import prep
from canteen.reservation.models import BookingCreate, ChoiceSchema, DishCooked, Portion
from canteen.weighing.models import KitchenCategory, KitchenSource, KitchenWaste

WEDNESDAY = date(2026, 11, 25)
THIS_MONDAY = date(2026, 11, 23)
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def weeks_ago(count: int, weekday: int = 0) -> date:
    return THIS_MONDAY - timedelta(weeks=count) + timedelta(days=weekday)


@pytest.fixture
def bookings(session, org, scope_of, add_menu):
    """Wednesday lunch: diner_a half a portion of rice and a full pork, diner_a2 a set meal: pork is 2 portions."""
    menu = add_menu(WEDNESDAY)
    service.book(session, scope_of("diner_a"), BookingCreate(
        canteen_id=org.canteens["a"], service_date=WEDNESDAY, meal=Meal.lunch,
        choices=[ChoiceSchema(dish_id=menu.rice, portion=Portion.half),
                 ChoiceSchema(dish_id=menu.pork, portion=Portion.full)]), MONDAY_MORNING)
    service.book(session, scope_of("diner_a2"), BookingCreate(
        canteen_id=org.canteens["a"], service_date=WEDNESDAY, meal=Meal.lunch, set_meal=True), MONDAY_MORNING)
    session.commit()
    return menu


@pytest.fixture
def meal_of(engine, org):
    """One lunch of the dish: grams cooked as the kitchen entered them (None: not entered) and grams unserved."""
    def add(day: date, dish_id: int, cooked: int | None, unserved: int) -> None:
        at = datetime.combine(day, time(6), tzinfo=UTC)
        with db.session_scope(engine) as session:
            if cooked is not None:
                session.add(DishCooked(canteen_id=org.canteens["a"], service_date=day, meal=Meal.lunch, dish_id=dish_id,
                                       cooked_grams=cooked, planned_grams=cooked, entered_at=at))
            if unserved:
                session.add(KitchenWaste(canteen_id=org.canteens["a"], service_date=day, meal=Meal.lunch,
                                         category=KitchenCategory.unserved, grams=unserved,
                                         source=KitchenSource.station, recorded_at=at, dish_id=dish_id))

    return add


def pork_prep(session, org, scope_of, bookings) -> prep.DishPrep:
    result = prep.meal_prep(session, scope_of("operator_a"), org.canteens["a"], WEDNESDAY, Meal.lunch, MONDAY_MORNING)
    return next(dish for dish in result.dishes if dish.dish_id == bookings.pork)


def test_a_dish_left_over_in_three_of_its_last_four_weeks_is_cut_by_the_median_share(
        session, org, scope_of, bookings, meal_of):
    # Last week on two days, 1.5 kg of 10 kg (15 %); then 11 %, 6 % and 20 %.
    meal_of(weeks_ago(1), bookings.pork, 5000, 1000)
    meal_of(weeks_ago(1, 3), bookings.pork, 5000, 500)
    meal_of(weeks_ago(2), bookings.pork, 10000, 1100)
    meal_of(weeks_ago(3), bookings.pork, 10000, 600)
    meal_of(weeks_ago(4), bookings.pork, 10000, 2000)
    pork = pork_prep(session, org, scope_of, bookings)
    # Median of 6, 11, 15, 20 % = 13 %: 200 g × 0.87 = 174 g; two portions 0.348 kg, shown as 0.3.
    assert pork.cut == prep.PortionCut(weeks=4, leftover_weeks=3, median_share=pytest.approx(0.13), cut=0.13)
    assert (pork.dish_raw_grams, pork.raw_grams_per_portion, pork.kg) == (200, 174, 0.3)
    rice = next(dish for dish in prep.meal_prep(session, scope_of("operator_a"), org.canteens["a"], WEDNESDAY,
                                                Meal.lunch, MONDAY_MORNING).dishes if dish.dish_id == bookings.rice)
    assert (rice.cut, rice.raw_grams_per_portion) == (None, 150)


@pytest.mark.parametrize("weeks", [
    pytest.param({1: 0.15, 2: 0.09, 3: 0.05, 4: 0.20}, id="two of four weeks"),
    pytest.param({1: 0.05, 2: 0.05, 3: 0.15, 4: 0.15, 5: 0.15}, id="three of five, two of the last four"),
    pytest.param({1: 0.20, 2: 0.20, 9: 0.20}, id="the third week over eight weeks back"),
    pytest.param({0: 0.20, 1: 0.20, 2: 0.20}, id="one of them this week"),
])
def test_weeks_that_do_not_make_three_of_the_last_four_leave_the_grams(session, org, scope_of, bookings, meal_of,
                                                                       weeks):
    for back, share in weeks.items():
        meal_of(weeks_ago(back), bookings.pork, 10000, round(10000 * share))
    pork = pork_prep(session, org, scope_of, bookings)
    assert (pork.cut, pork.raw_grams_per_portion, pork.kg) == (None, 200, 0.4)


def test_weighed_leftovers_without_an_entry_of_what_was_cooked_teach_nothing(session, org, scope_of, bookings,
                                                                            meal_of):
    for back in (1, 2, 3):
        meal_of(weeks_ago(back), bookings.pork, None, 3000)
    assert pork_prep(session, org, scope_of, bookings).cut is None


def test_weeks_without_entries_are_skipped_and_the_cut_is_at_most_thirty_percent(session, org, scope_of, bookings,
                                                                                 meal_of):
    for back, share in ((1, 0.5), (3, 0.45), (6, 0.4)):
        meal_of(weeks_ago(back), bookings.pork, 10000, round(10000 * share))
    pork = pork_prep(session, org, scope_of, bookings)
    assert (pork.cut.weeks, pork.cut.leftover_weeks, pork.cut.median_share) == (3, 3, pytest.approx(0.45))
    assert (pork.cut.cut, pork.raw_grams_per_portion) == (0.30, 140)


@pytest.mark.parametrize(("shares", "cut"), [
    ([0.10, 0.10, 0.10], 0.10),  # exactly 10 % counts
    ([0.0999, 0.5, 0.5], None),
    ([0.12, 0.125, 0.0, 0.13], 0.12),  # median 12.25 %, a whole percent
    ([0.9, 0.9, 0.9, 0.9], 0.30),
    ([], None),
])
def test_the_rule_on_weekly_shares(shares, cut):
    found = prep.portion_cut(shares)
    assert (found.cut if found else None) == cut


def test_the_prep_page_api_and_sheet_show_the_lowered_grams_with_the_reason(client, sign_in, api_headers, org,
                                                                           bookings, meal_of, clock):
    clock.now = MONDAY_MORNING
    for back, unserved in ((1, 1500), (2, 1100), (3, 600), (4, 2000)):
        meal_of(weeks_ago(back), bookings.pork, 10000, unserved)
    body = client.get(f"/api/v1/canteens/{org.canteens['a']}/prep/{WEDNESDAY}/lunch",
                      headers=api_headers("operator_a")).json()
    pork = next(dish for dish in body["dishes"] if dish["dish_id"] == bookings.pork)
    assert (pork["raw_grams_per_portion"], pork["dish_raw_grams"], pork["cut"]["cut"]) == (174, 200, 0.13)

    browser = sign_in("operator_a")
    browser.cookies.set("canteen_lang", "en")
    page = browser.get(f"/canteens/{org.canteens['a']}/bookings?date={WEDNESDAY}&meal=lunch").text
    row = re.search(rf'<tr data-dish="{bookings.pork}">(.*?)</tr>', page, re.S)[1]
    assert 'data-grams="174"' in row and "<del>200</del> 174" in row
    assert "In 3 of the last 4 weeks at least 10% was left over: 13% less per portion" in row
    sheet = browser.get(f"/canteens/{org.canteens['a']}/prep.csv?date={WEDNESDAY}&meal=lunch").content.decode("utf-8-sig")
    pork_line = next(line for line in sheet.splitlines() if "红烧肉" in line)
    # Two full portions of 174 g: 0.348 kg, shown as 0.3; the last column is the cut in percent.
    assert pork_line == "2026-11-25,Lunch,2,2,2,2,红烧肉,174,2,0,0,0.3,0.3,0.3,13"
