"""A month's dishes: cooked (entered, else the plan), unserved (classified against the dish, corrections applied),
the share left and the money lost at the canteen's price, ranked both ways, with a weekly trend; worked by hand."""
import re
from datetime import UTC, date, datetime

import pytest

from canteen.access import SYSTEM
from canteen.kitchen.dishes import service
from canteen.weighing.models import KitchenCategory

FRIDAY = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
NOVEMBER = date(2026, 11, 1)
MONDAYS = [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23),
           date(2026, 11, 30)]


@pytest.fixture
def november(client, org, api_headers, clock, dishes, menu, set_meal_booking, unserved):
    """Unserved food at ¥20/kg. 2 Nov lunch: rice, pork, greens, one set meal booked (greens' plan 180 g, shown
    0.2 kg); pork cooked 10 kg, 2 kg left; rice 40 kg, 3 + 1 kg left (a 5 kg weighing corrected by hand, 0.8 kg of
    rice trimmings and 7 kg unserved typed in without a dish do not count); greens not entered, 50 g left.
    9 Nov: pork 8 kg, 1 kg left. 16 Nov: pork 10 kg, 1.5 kg left. Pork left over in October does not count."""
    clock.now = FRIDAY
    operator = api_headers("operator_a")
    base = f"/api/v1/canteens/{org.canteens['a']}"
    assert client.put(f"{base}/waste-factors", json={"prices": {"unserved": 20}}, headers=operator).status_code == 200
    menu(MONDAYS[1], dishes.rice, dishes.pork, dishes.greens)
    set_meal_booking(MONDAYS[1])
    for day in MONDAYS[2:4]:
        menu(day, dishes.pork)
    for day, entries in ((MONDAYS[1], {dishes.pork: 10, dishes.rice: 40}), (MONDAYS[2], {dishes.pork: 8}),
                         (MONDAYS[3], {dishes.pork: 10})):
        response = client.put(f"{base}/dishes-cooked/{day}/lunch", headers=operator, json={
            "dishes": [{"dish_id": dish_id, "cooked_kg": kg} for dish_id, kg in entries.items()]})
        assert response.status_code == 200, response.text
    unserved(MONDAYS[1], dishes.pork, 2000)
    unserved(MONDAYS[1], dishes.rice, 3000)
    unserved(MONDAYS[1], dishes.rice, 1000)
    corrected = unserved(MONDAYS[1], dishes.rice, 5000)
    assert client.post(f"{base}/kitchen-waste?corrects={corrected}", headers=operator, json={
        "service_date": str(MONDAYS[1]), "meal": "lunch", "category": "trimmings", "grams": 500}).status_code == 201
    assert client.post(f"{base}/kitchen-waste", headers=operator, json={
        "service_date": str(MONDAYS[1]), "meal": "lunch", "category": "unserved", "grams": 7000}).status_code == 201
    unserved(MONDAYS[1], dishes.rice, 800, category=KitchenCategory.trimmings)
    unserved(MONDAYS[1], dishes.greens, 50)
    unserved(MONDAYS[2], dishes.pork, 1000)
    unserved(MONDAYS[3], dishes.pork, 1500)
    unserved(date(2026, 10, 30), dishes.pork, 9000)
    return dishes


def test_each_dishs_month_is_summed_by_hand(session, org, november):
    result = service.month_dishes(session, SYSTEM, org.canteens["a"], NOVEMBER, FRIDAY)
    assert result.weeks == MONDAYS and result.price.value == 20.0
    dishes = {dish.name: dish for dish in result.dishes}
    assert set(dishes) == {"米饭", "红烧肉", "清炒时蔬"}
    pork, rice, greens = dishes["红烧肉"], dishes["米饭"], dishes["清炒时蔬"]
    # Pork: 28 kg cooked, 4.5 kg left = 16.07 %, 4.5 kg × ¥20 = ¥90; its plan was one portion on 2 Nov (200 g)
    # and nothing on the days nobody booked.
    assert (pork.meals, pork.unentered, pork.planned, pork.cooked, pork.unserved) == (3, 0, 200, 28000, 4500)
    assert (pork.unserved_share, pork.yuan) == (pytest.approx(4.5 / 28), pytest.approx(90.0))
    assert pork.weekly_shares == [None, 0.2, 0.125, 0.15, None, None]
    # Rice: 4 kg of 40 kg = 10 %, ¥80.
    assert (rice.cooked, rice.unserved, rice.unserved_share, rice.yuan) == (40000, 4000, 0.1, pytest.approx(80.0))
    # Greens: not entered, so the plan (0.2 kg) is what was cooked; 50 g left = 25 %, ¥1.
    assert (greens.unentered, greens.planned, greens.cooked, greens.unserved) == (1, 200, 200, 50)
    assert (greens.unserved_share, greens.yuan) == (0.25, pytest.approx(1.0))
    assert [dish.name for dish in result.by_share()] == ["清炒时蔬", "红烧肉", "米饭"]
    assert [dish.name for dish in result.by_money()] == ["红烧肉", "米饭", "清炒时蔬"]
    # Pork was left over 20 %, 12.5 % and 15 % in the three weeks before this one: the prep cooks 15 % less.
    assert pork.cut is not None and (pork.cut.weeks, pork.cut.cut) == (3, 0.15)
    assert rice.cut is None and all(dish.cook_less for dish in result.dishes)


def ranked(page: str) -> list[tuple[int, str, str]]:
    """(dish, share, ¥) in the order of the page's rows."""
    return [(int(dish), share, yuan) for dish, share, yuan in re.findall(
        r'<tr data-dish="(\d+)" data-rank="\d+">.*?data-share="([^"]*)".*?data-yuan="([^"]*)"', page, re.S)]


def test_the_page_ranks_by_share_left_and_by_money_lost(sign_in, org, november):
    client = sign_in("operator_a")
    base = f"/canteens/{org.canteens['a']}/dishes?month=2026-11"
    page = client.get(base)
    assert page.status_code == 200
    assert ranked(page.text) == [(november.greens, "0.2500", "1.00"), (november.pork, "0.1607", "90.00"),
                                 (november.rice, "0.1000", "80.00")]
    assert [dish for dish, _, _ in ranked(client.get(f"{base}&order=money").text)] == [
        november.pork, november.rice, november.greens]
    assert page.text.count('<svg class="trend"') == 3 and f'data-cut="{november.pork}"' in page.text


def test_a_month_without_dishes_and_bad_months(sign_in, org, november):
    client = sign_in("operator_a")
    base = f"/canteens/{org.canteens['a']}/dishes"
    assert ranked(client.get(f"{base}?month=2026-12").text) == []
    assert client.get(f"{base}?month=2026-13").status_code == 422
    assert client.get(f"{base}?month=11-2026").status_code == 422
    assert client.get(f"{base}?order=kg").status_code == 422


@pytest.mark.parametrize(("username", "status"), [("bureau_c1", 200), ("admin", 200), ("operator_b", 404),
                                                  ("bureau_k2", 404), ("diner_a", 403)])
def test_the_canteens_managers_see_the_page(sign_in, org, november, username, status):
    assert sign_in(username).get(f"/canteens/{org.canteens['a']}/dishes?month=2026-11").status_code == status


def test_a_dish_with_its_own_price_loses_money_at_that_price(client, session, org, api_headers, november):
    url = f"/api/v1/canteens/{org.canteens['a']}/dishes/{november.rice}/price"
    for body in ({"price_yuan_per_kg": -1}, {"price_yuan_per_kg": 1001}, {"price_yuan_per_kg": "cheap"}, {}):
        assert client.put(url, json=body, headers=api_headers("operator_a")).status_code == 422, body
    assert client.put(url, json={"price_yuan_per_kg": 6}, headers=api_headers("operator_b")).status_code == 404
    assert client.put(url, json={"price_yuan_per_kg": 6}, headers=api_headers("bureau_c1")).status_code == 403
    other = f"/api/v1/canteens/{org.canteens['b']}/dishes/{november.rice}/price"  # not canteen B's dish
    assert client.put(other, json={"price_yuan_per_kg": 6}, headers=api_headers("operator_b")).status_code == 404
    response = client.put(url, json={"price_yuan_per_kg": 6}, headers=api_headers("operator_a"))
    assert response.status_code == 200 and response.json()["price_yuan_per_kg"] == 6.0
    session.expire_all()
    dishes = {dish.name: dish for dish in service.month_dishes(session, SYSTEM, org.canteens["a"], NOVEMBER,
                                                                FRIDAY).dishes}
    # Rice's 4 kg left at its own ¥6 = ¥24; pork keeps the canteen's ¥20 (¥90).
    assert dishes["米饭"].yuan == pytest.approx(24.0) and dishes["红烧肉"].yuan == pytest.approx(90.0)
    assert [dish.name for dish in service.month_dishes(session, SYSTEM, org.canteens["a"], NOVEMBER,
                                                        FRIDAY).by_money()] == ["红烧肉", "米饭", "清炒时蔬"]
    assert client.put(url, json={"price_yuan_per_kg": None}, headers=api_headers("operator_a")).json()[
        "price_yuan_per_kg"] is None
