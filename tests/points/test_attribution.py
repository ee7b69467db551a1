"""Plates attributed as the plate-return station posts them: a booking token of the plate's meal or a card of the
plate's canteen names the diner (another canteen's code or another meal's token names no one, and is counted),
the meal is checked in if it was not, and the diner's points of the day follow. A replayed batch attributes
nothing twice; a batch without codes costs no query more, and one with codes a constant number."""
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event

from canteen import db
from canteen.access import SYSTEM
from canteen.org import service as org_service
from canteen.org.models import Meal, StationCreate, StationKind
from canteen.points.models import DinerPoints, PlateAttribution
from canteen.reservation.models import BookingStatus
from canteen.weighing.models import CheckIn
from tests.points.plates import add_booking, add_card, add_diner, add_rule, local, plate, post_plates, rows

TODAY = date(2026, 11, 23)  # a Monday; the clock's default is 10:00 in Shanghai
LUNCH = local(TODAY, 12, 10)


@pytest.fixture
def lunch(client, org, api_headers, clock, engine):
    """The province's rule from today (10 points a clean plate, at most 20 a day); diner_a booked today's lunch
    and dinner, diner_a2 holds card C-2 of canteen A, diner_a3 card C-3 and a lunch booking, diner_b a lunch
    booking and card C-B at canteen B. Then it is 12:30."""
    add_rule(client, api_headers, org.province, TODAY)
    a, b = org.canteens["a"], org.canteens["b"]
    diners = {"a": org.users["diner_a"], "a2": add_diner(engine, org, "diner_a2"),
              "a3": add_diner(engine, org, "diner_a3"), "b": add_diner(engine, org, "diner_b", "b")}
    codes = {"a": add_booking(engine, diners["a"], a, TODAY), "a_dinner": add_booking(engine, diners["a"], a, TODAY,
                                                                                      Meal.dinner),
             "a2": add_card(engine, a, "C-2", diners["a2"]), "a3": add_card(engine, a, "C-3", diners["a3"]),
             "a3_booking": add_booking(engine, diners["a3"], a, TODAY),
             "b": add_booking(engine, diners["b"], b, TODAY), "b_card": add_card(engine, b, "C-B", diners["b"])}
    clock.now = local(TODAY, 12, 30)
    return diners, codes


def unknown_codes_counted() -> float:
    return REGISTRY.get_sample_value("canteen_plate_codes_total", {"result": "unknown"}) or 0.0


def test_tokens_and_cards_name_the_diners_of_the_canteen_only(client, org, api_headers, engine, lunch):
    diners, codes = lunch
    counted = unknown_codes_counted()
    result = post_plates(client, org, [
        plate(1, LUNCH, 8, codes["a"]),  # clean (threshold 10 g)
        plate(2, LUNCH, 40, codes["a2"]),  # a card, no booking
        plate(3, LUNCH, 5, codes["a"]),  # diner_a's soup bowl, clean
        plate(4, LUNCH, 0, codes["a"]),  # and a third clean plate
        plate(5, LUNCH, 10, codes["a3"]),  # a card whose diner booked: clean at exactly the threshold
        plate(6, LUNCH, 3, codes["b"]),  # canteen B's booking at canteen A: no one
        plate(7, LUNCH, 3, codes["b_card"]),  # canteen B's card: no one
        plate(8, LUNCH, 3, codes["a_dinner"]),  # diner_a's dinner token at lunch: no one
        plate(9, LUNCH, 3, "unknown-code"),
        plate(10, LUNCH, 3),  # anonymous, as before
    ])
    assert (result["accepted"], result["rejected"]) == (10, 0)
    attributed = {p.seq: (p.diner_id, p.grams, p.clean, p.meal) for p in rows(engine, PlateAttribution)}
    assert attributed == {1: (diners["a"], 8, True, Meal.lunch), 2: (diners["a2"], 40, False, Meal.lunch),
                          3: (diners["a"], 5, True, Meal.lunch), 4: (diners["a"], 0, True, Meal.lunch),
                          5: (diners["a3"], 10, True, Meal.lunch)}
    assert unknown_codes_counted() - counted == 4

    # The operators' list: five plates of known diners, four codes that named no one.
    listed = client.get(f"/api/v1/canteens/{org.canteens['a']}/plates", params={"date": TODAY.isoformat()},
                        headers=api_headers("operator_a")).json()
    assert sorted(p["seq"] for p in listed["plates"]) == [1, 2, 3, 4, 5]
    assert listed["unknown_codes"] == 4

    # Points: 10 a clean plate, at most 20 a day; a diner-day with none clean earns 0 and ends any streak.
    points = {p.diner_id: (p.plates, p.clean_plates, p.streak, p.points) for p in rows(engine, DinerPoints)}
    assert points == {diners["a"]: (3, 3, 1, 20), diners["a2"]: (1, 0, 0, 0), diners["a3"]: (1, 1, 1, 10)}
    assert {p.diner_id for p in rows(engine, DinerPoints)} == {diners["a"], diners["a2"], diners["a3"]}


def test_each_diner_is_checked_in_once_with_their_booking_or_as_a_walk_in(client, org, engine, lunch):
    diners, codes = lunch
    post_plates(client, org, [plate(1, LUNCH, 8, codes["a"]), plate(2, LUNCH, 40, codes["a2"]),
                              plate(3, LUNCH, 5, codes["a"]), plate(5, LUNCH, 10, codes["a3"]),
                              plate(6, LUNCH, 3, codes["b"])])
    check_ins = {c.diner_id: (c.booking_id is not None, c.card_number, c.meal, c.service_date, c.at)
                 for c in rows(engine, CheckIn)}
    assert check_ins == {diners["a"]: (True, None, Meal.lunch, TODAY, LUNCH),
                         diners["a2"]: (False, "C-2", Meal.lunch, TODAY, LUNCH),
                         diners["a3"]: (True, "C-3", Meal.lunch, TODAY, LUNCH)}
    # Later plates of the same meal check no one in again.
    post_plates(client, org, [plate(11, LUNCH, 8, codes["a"]), plate(12, LUNCH, 8, codes["a2"])])
    assert len(rows(engine, CheckIn)) == 3


def test_a_diner_checked_in_at_the_entrance_is_not_checked_in_again(client, org, api_headers, engine, lunch, clock):
    diners, codes = lunch
    clock.now = local(TODAY, 11, 40)
    response = client.post(f"/api/v1/canteens/{org.canteens['a']}/check-ins", json={"token": codes["a"]},
                           headers=api_headers("operator_a"))
    assert response.status_code in (200, 201), response.text
    clock.now = local(TODAY, 12, 30)
    post_plates(client, org, [plate(1, LUNCH, 8, codes["a"])])
    assert [(c.diner_id, c.at) for c in rows(engine, CheckIn)] == [(diners["a"], local(TODAY, 11, 40))]
    assert len(rows(engine, PlateAttribution)) == 1


def test_a_cancelled_bookings_token_names_its_diner_who_walks_in(client, org, engine, lunch):
    diners, _ = lunch
    token = add_booking(engine, diners["a2"], org.canteens["a"], TODAY, token="bk_cancelled",
                        status=BookingStatus.cancelled)
    post_plates(client, org, [plate(1, LUNCH, 8, token)])
    assert [p.diner_id for p in rows(engine, PlateAttribution)] == [diners["a2"]]
    assert [(c.diner_id, c.booking_id) for c in rows(engine, CheckIn)] == [(diners["a2"], None)]


def test_a_replayed_batch_attributes_nothing_twice(client, org, engine, lunch):
    diners, codes = lunch
    batch = [plate(1, LUNCH, 8, codes["a"]), plate(2, LUNCH, 40, codes["a2"])]
    post_plates(client, org, batch)
    before = ([(p.seq, p.diner_id) for p in rows(engine, PlateAttribution)],
              [(p.diner_id, p.plates, p.clean_plates, p.points) for p in rows(engine, DinerPoints)],
              len(rows(engine, CheckIn)))
    again = post_plates(client, org, batch)
    assert (again["accepted"], again["duplicate"]) == (0, 2)
    assert ([(p.seq, p.diner_id) for p in rows(engine, PlateAttribution)],
            [(p.diner_id, p.plates, p.clean_plates, p.points) for p in rows(engine, DinerPoints)],
            len(rows(engine, CheckIn))) == before
    # A replay with one new plate among the old: only the new one counts (2 clean plates: 20 points).
    mixed = post_plates(client, org, [*batch, plate(3, LUNCH, 2, codes["a"])])
    assert (mixed["accepted"], mixed["duplicate"]) == (1, 2)
    assert len(rows(engine, PlateAttribution)) == 3
    assert [(p.plates, p.clean_plates, p.points) for p in rows(engine, DinerPoints,
                                                               DinerPoints.diner_id == diners["a"])] == [(2, 2, 20)]


def test_clean_by_the_threshold_in_force_that_day(client, org, api_headers, engine, lunch, clock):
    """The administrator raises canteen A's threshold to 20 g from tomorrow: 15 g is food left today, clean then."""
    diners, codes = lunch
    response = client.patch(f"/api/v1/canteens/{org.canteens['a']}", headers=api_headers("admin"),
                            json={"clean_plate_threshold_g": 20, "applies_from": "2026-11-24"})
    assert response.status_code == 200, response.text
    tomorrow = date(2026, 11, 24)
    token = add_booking(engine, diners["a"], org.canteens["a"], tomorrow)
    post_plates(client, org, [plate(1, LUNCH, 15, codes["a"])])
    clock.now = local(tomorrow, 12, 30)
    post_plates(client, org, [plate(2, local(tomorrow, 12, 10), 15, token)])
    assert {p.service_date: p.clean for p in rows(engine, PlateAttribution)} == {TODAY: False, tomorrow: True}


def test_plates_of_one_diner_at_two_stations_at_once_all_count(client, org, engine, lunch):
    """Eight batches of one clean plate each, posted from parallel threads by two stations: the diner's day counts
    all eight plates, and the diner is checked in once."""
    diners, codes = lunch
    with db.session_scope(engine) as session:
        _, second = org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=org.canteens["a"], name="回收台2", kind=StationKind.plate_return))
    keys = [org.station_keys["a"], second]

    def post(index: int):
        return client.post("/api/v1/weighings", json={"items": [plate(index, LUNCH, 5, codes["a2"])]},
                           headers={"Authorization": f"Bearer {keys[index % 2]}"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert [response.status_code for response in pool.map(post, range(8))] == [200] * 8
    assert [(p.plates, p.clean_plates, p.points) for p in rows(engine, DinerPoints)] == [(8, 8, 20)]
    assert len(rows(engine, CheckIn)) == 1


class Statements:
    """SQL statements the app's engine runs, counted."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, *_args) -> None:
        self.count += 1

    def during(self, action) -> int:
        before = self.count
        action()
        return self.count - before

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def statements(app):
    counter = Statements(app.state.engine)
    yield counter
    counter.close()


def test_a_batch_without_codes_costs_no_query_more(client, org, app, lunch, statements):
    post_plates(client, org, [plate(1, LUNCH, 8)])  # the station's key known, the pool warm
    hooked = statements.during(lambda: post_plates(client, org, [plate(seq, LUNCH, 8) for seq in range(2, 52)]))
    app.state.ingest_hooks = ()
    bare = statements.during(lambda: post_plates(client, org, [plate(seq, LUNCH, 8) for seq in range(52, 102)]))
    assert hooked == bare


def test_a_batch_with_codes_costs_the_same_queries_whatever_its_size(client, org, engine, lunch, statements):
    """Two plates of two diners (a token, a card), then forty plates of twenty diners (ten tokens, ten cards):
    each batch resolves, checks in and counts points with the same statements."""
    _, codes = lunch
    small = statements.during(lambda: post_plates(client, org, [plate(1, LUNCH, 8, codes["a"]),
                                                                plate(2, LUNCH, 40, codes["a2"])]))
    items = []
    for index in range(10):
        by_token = add_diner(engine, org, f"token_diner_{index}")
        by_card = add_diner(engine, org, f"card_diner_{index}")
        token = add_booking(engine, by_token, org.canteens["a"], TODAY)
        card = add_card(engine, org.canteens["a"], f"K-{index}", by_card)
        items += [plate(100 + 4 * index + offset, LUNCH, 5 * offset, code)
                  for offset, code in enumerate((token, token, card, card))]
    large = statements.during(lambda: post_plates(client, org, items))
    assert len(rows(engine, PlateAttribution)) == 42
    assert large == small
