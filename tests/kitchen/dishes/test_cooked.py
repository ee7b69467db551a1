"""What the kitchen cooked of a meal's dishes: the plan until it enters its own figure, stored with the plan,
unserved food and its share beside it; bad entries refused with nothing changed; only operators enter."""
import re
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from canteen.reservation.models import DishCooked

WEDNESDAY = date(2026, 11, 25)
WEDNESDAY_AFTERNOON = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, lunch is over


@pytest.fixture
def lunch(clock, dishes, menu, set_meal_booking):
    """Wednesday lunch: rice and pork on the menu, one set meal booked (the plan: one portion of each)."""
    clock.now = WEDNESDAY_AFTERNOON
    menu(WEDNESDAY, dishes.rice, dishes.pork)
    set_meal_booking(WEDNESDAY)
    return dishes


def url(org, day: date = WEDNESDAY, meal: str = "lunch", canteen: str = "a") -> str:
    return f"/api/v1/canteens/{org.canteens[canteen]}/dishes-cooked/{day}/{meal}"


def by_name(body: dict) -> dict[str, dict]:
    return {dish["name"]: dish for dish in body["dishes"]}


def stored(session) -> list[tuple[int, int, int | None]]:
    session.expire_all()
    return sorted((row.dish_id, row.cooked_grams, row.planned_grams) for row in session.exec(select(DishCooked)))


def test_without_an_entry_each_dish_shows_the_plan(client, org, api_headers, lunch):
    response = client.get(url(org), headers=api_headers("operator_a"))
    assert response.status_code == 200, response.text
    pork = by_name(response.json())["红烧肉"]
    # One full portion of 200 g.
    assert pork == {"dish_id": lunch.pork, "name": "红烧肉", "planned_kg": 0.2, "cooked_kg": 0.2, "entered": False,
                    "unserved_kg": 0.0, "unserved_share": 0.0}
    assert set(by_name(response.json())) == {"米饭", "红烧肉"}


def test_an_entry_is_stored_with_the_plan_and_the_share_left_is_of_what_was_cooked(
        client, org, api_headers, session, lunch, unserved):
    unserved(WEDNESDAY, lunch.pork, 900)
    unserved(WEDNESDAY, lunch.pork, 600)
    response = client.put(url(org), json={"dishes": [{"dish_id": lunch.pork, "cooked_kg": 12.5}]},
                          headers=api_headers("operator_a"))
    assert response.status_code == 200, response.text
    dishes = by_name(response.json())
    # 1.5 kg left of 12.5 kg cooked: 12 %.
    assert (dishes["红烧肉"]["cooked_kg"], dishes["红烧肉"]["planned_kg"], dishes["红烧肉"]["entered"]) == (12.5, 0.2, True)
    assert (dishes["红烧肉"]["unserved_kg"], dishes["红烧肉"]["unserved_share"]) == (1.5, pytest.approx(0.12))
    assert dishes["米饭"]["entered"] is False
    assert stored(session) == [(lunch.pork, 12500, 200)]
    row = session.exec(select(DishCooked)).one()
    assert (row.entered_by, row.entered_at) == (org.users["operator_a"], WEDNESDAY_AFTERNOON)
    assert client.get(url(org), headers=api_headers("bureau_c1")).json() == response.json()

    # Left out of the next entry, pork goes back to the plan: 1.5 kg left of 0.2 kg planned.
    again = client.put(url(org), json={"dishes": []}, headers=api_headers("operator_a"))
    pork = by_name(again.json())["红烧肉"]
    assert (pork["entered"], pork["cooked_kg"], pork["unserved_share"]) == (False, 0.2, pytest.approx(7.5))
    assert stored(session) == []


@pytest.mark.parametrize(("case", "loc"), [
    ("negative", ["body", "dishes", 1, "cooked_kg"]),
    ("over ten tonnes", ["body", "dishes", 1, "cooked_kg"]),
    ("not a number", ["body", "dishes", 1, "cooked_kg"]),
    ("not on this meal's menu", ["body", "dishes.1.dish_id"]),
    ("another canteen's dish", ["body", "dishes.1.dish_id"]),
    ("no such dish", ["body", "dishes.1.dish_id"]),
    ("twice", ["body", "dishes.1.dish_id"]),
    ("a meal to come", ["body", "service_date"]),
])
def test_bad_entries_are_refused_with_field_and_reason_and_nothing_changes(
        client, org, api_headers, session, lunch, case, loc):
    assert client.put(url(org), json={"dishes": [{"dish_id": lunch.pork, "cooked_kg": 10}]},
                      headers=api_headers("operator_a")).status_code == 200
    before = stored(session)
    bad = {"negative": {"dish_id": lunch.rice, "cooked_kg": -1},
           "over ten tonnes": {"dish_id": lunch.rice, "cooked_kg": 10_000.5},
           "not a number": {"dish_id": lunch.rice, "cooked_kg": "viel"},
           "not on this meal's menu": {"dish_id": lunch.greens, "cooked_kg": 3},
           "another canteen's dish": {"dish_id": lunch.fish, "cooked_kg": 3},
           "no such dish": {"dish_id": 999_999, "cooked_kg": 3},
           "twice": {"dish_id": lunch.pork, "cooked_kg": 3},
           "a meal to come": {"dish_id": lunch.rice, "cooked_kg": 3}}[case]
    target = url(org, date(2026, 11, 26)) if case == "a meal to come" else url(org)
    response = client.put(target, json={"dishes": [{"dish_id": lunch.pork, "cooked_kg": 11}, bad]},
                          headers=api_headers("operator_a"))
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == loc and detail["msg"]
    assert stored(session) == before


def test_a_canteen_that_does_not_serve_the_meal_is_refused(client, org, api_headers, lunch):
    response = client.put(url(org, meal="tea"), json={"dishes": []}, headers=api_headers("operator_a"))
    assert response.status_code == 422


@pytest.mark.parametrize(("username", "read", "write"), [
    ("admin", 200, 200), ("operator_a", 200, 200), ("bureau_c1", 200, 403), ("bureau_k2", 404, 404),
    ("operator_b", 404, 404), ("diner_a", 403, 403),
])
def test_the_canteens_operators_enter_and_its_managers_read(client, org, api_headers, session, lunch, username,
                                                            read, write):
    headers = api_headers(username)
    assert client.get(url(org), headers=headers).status_code == read
    response = client.put(url(org), json={"dishes": [{"dish_id": lunch.pork, "cooked_kg": 4}]}, headers=headers)
    assert response.status_code == write
    assert stored(session) == ([(lunch.pork, 4000, 200)] if write == 200 else [])


def field_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert found, page
    return found[1]


def test_the_form_is_prefilled_with_the_plan_and_a_blank_leaves_a_dish_to_it(sign_in, csrf, org, session, lunch):
    client = sign_in("operator_a")
    page_url = f"/canteens/{org.canteens['a']}/dishes/cooked?date={WEDNESDAY}&meal=lunch"
    page = client.get(page_url)
    assert page.status_code == 200
    assert field_value(page.text, f"cooked_kg_{lunch.pork}") == "0.2"
    assert f'data-plan="{lunch.pork}"' in page.text
    response = client.post(f"/canteens/{org.canteens['a']}/dishes/cooked", data={
        "csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
        "dish_id": [str(lunch.rice), str(lunch.pork)], f"cooked_kg_{lunch.pork}": "7.25", f"cooked_kg_{lunch.rice}": ""},
        follow_redirects=False)
    assert response.status_code == 303, response.text
    assert stored(session) == [(lunch.pork, 7250, 200)]
    page = client.get(response.headers["location"])
    assert field_value(page.text, f"cooked_kg_{lunch.pork}") == "7.25" and f'data-plan="{lunch.pork}"' not in page.text


def test_the_form_shows_a_refusal_with_what_was_typed(sign_in, csrf, org, session, lunch):
    client = sign_in("operator_a")
    response = client.post(f"/canteens/{org.canteens['a']}/dishes/cooked", data={
        "csrf_token": csrf(), "service_date": str(WEDNESDAY), "meal": "lunch",
        "dish_id": [str(lunch.pork)], f"cooked_kg_{lunch.pork}": "-3"})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and field_value(response.text, f"cooked_kg_{lunch.pork}") == "-3"
    assert stored(session) == []


def test_a_bureau_sees_the_figures_without_the_form(sign_in, org, lunch):
    page = sign_in("bureau_c1").get(f"/canteens/{org.canteens['a']}/dishes/cooked?date={WEDNESDAY}&meal=lunch")
    assert page.status_code == 200 and "cooked_kg_" not in page.text and f'data-dish="{lunch.pork}"' in page.text


@pytest.mark.parametrize("fields", [
    {"service_date": "0001-01-01"}, {"service_date": "someday"}, {"meal": "tea"},
    {"dish_id": ["²", "9" * 5000]}, {"cooked_kg_{pork}": "nan"}, {"cooked_kg_{pork}": "1e400"},
])
def test_a_forged_form_is_refused_not_failed(sign_in, csrf, org, session, lunch, fields):
    form = {"service_date": str(WEDNESDAY), "meal": "lunch", "dish_id": [str(lunch.pork)],
            f"cooked_kg_{lunch.pork}": "2"}
    form |= {name.format(pork=lunch.pork): value for name, value in fields.items()}
    client = sign_in("operator_a")
    response = client.post(f"/canteens/{org.canteens['a']}/dishes/cooked", data={"csrf_token": csrf(), **form})
    assert response.status_code == 422
    assert stored(session) == []
    assert client.get(f"/canteens/{org.canteens['a']}/dishes/cooked?date=0001-01-01").status_code == 422
