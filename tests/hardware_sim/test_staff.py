"""The emulated kitchen staff against the real app over HTTP: they classify most waiting weighings through the
station-keyed terminal API, with a reason that fits the stage and a dish of the meal's menu, and leave the rest."""
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from canteen.weighing.models import KitchenWaste
from hardware_sim.staff import Staff
from tests.scale_driver.test_gateway import served

LUNCH = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai, a Monday: lunch (11:30–13:30)
DAY = "2026-11-23"
FITTING = {"storage": {"expired"}, "trimmings": {"processing"}, "unserved": {"overprepared", "unpopular"},
           "other": {"equipment", "other"}}


@pytest.fixture
def server_url(app) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture
def kitchen(client, org, clock, api_headers) -> dict:
    """A kitchen station in canteen A with a lunch menu of two dishes (and a dinner dish), at lunch."""
    clock.now = LUNCH
    admin = api_headers("admin")
    station = client.post("/api/v1/stations", headers=admin, json={
        "canteen_id": org.canteens["a"], "name": "后厨秤", "kind": "kitchen", "capacity_g": 60_000}).json()
    dishes = [client.post(f"/api/v1/canteens/{org.canteens['a']}/dishes", headers=admin,
                          json={"name": name, "raw_grams": 200}).json()["id"] for name in ("红烧肉", "炒青菜", "晚餐鱼")]
    for meal, on_menu in (("lunch", dishes[:2]), ("dinner", dishes[2:])):
        assert client.put(f"/api/v1/canteens/{org.canteens['a']}/menus/{DAY}/{meal}", headers=admin,
                          json={"dish_ids": on_menu}).status_code == 200
    return {"key": station["key"], "lunch_dishes": set(dishes[:2])}


def weigh(client, key: str, grams: list[int]) -> None:
    items = [{"seq": seq, "measured_at": (LUNCH - timedelta(seconds=10 * seq)).isoformat(), "grams": value}
             for seq, value in enumerate(grams, start=1)]
    response = client.post("/api/v1/weighings", headers={"Authorization": f"Bearer {key}"}, json={"items": items})
    assert response.json()["accepted"] == len(grams), response.text


def stored(engine) -> dict[int, KitchenWaste]:
    with Session(engine) as session:
        return {row.id: row for row in session.exec(select(KitchenWaste))}


def test_staff_classify_most_weighings_with_fitting_reasons_and_leave_the_rest(client, server_url, kitchen,
                                                                                engine):
    grams = [500 + 700 * index for index in range(20)]
    weigh(client, kitchen["key"], grams)
    truth = io.StringIO()
    staff = Staff(server_url, kitchen["key"], seed=5, leave_share=0.25, react_s=(0, 0), truth=truth)
    try:
        staff.look()
        staff.look()  # each weighing is decided once: nothing more happens
    finally:
        staff.close()
    decisions = [json.loads(line) for line in truth.getvalue().splitlines()]
    assert sorted(decision["grams"] for decision in decisions) == grams  # every weighing, once
    left = [decision for decision in decisions if decision["category"] is None]
    assert 0 < len(left) < 10 and staff.left == len(left) and staff.refused == 0
    assert staff.classified == len(decisions) - len(left)
    rows = stored(engine)
    for decision in decisions:
        row = rows[decision["id"]]
        assert row.grams == decision["grams"]
        assert (row.category.value, row.reason, row.dish_id) == (decision["category"] or "unclassified",
                                                                 decision["reason"], decision["dish_id"])
        if decision["category"] in FITTING:
            assert decision["reason"] in FITTING[decision["category"]]
        assert (decision["dish_id"] in kitchen["lunch_dishes"]) == (decision["category"] == "unserved")
    assert {decision["category"] for decision in decisions} >= {"trimmings", "unserved"}


def test_a_weighing_classified_at_the_tablet_meanwhile_is_left_to_it(client, server_url, kitchen, engine):
    weigh(client, kitchen["key"], [1200])
    staff = Staff(server_url, kitchen["key"], seed=1, leave_share=0.0, react_s=(0.2, 0.2))
    try:
        staff.look()  # decided, due in 0.2 s
        [weighing_id] = stored(engine)
        response = client.post(f"/api/v1/kitchen-weighings/{weighing_id}/classification",
                               headers={"Authorization": f"Bearer {kitchen['key']}"},
                               json={"category": "storage", "reason": "expired", "dish_id": None})
        assert response.status_code == 200, response.text
        staff.clock = lambda: float("inf")  # long past due
        staff.look()
    finally:
        staff.close()
    assert (staff.classified, staff.refused) == (0, 0)  # not sent again over the tablet's
    assert stored(engine)[weighing_id].category.value == "storage"


def test_a_server_that_is_gone_is_logged_and_waited_for(caplog):
    staff = Staff("http://127.0.0.1:9", "stk_x", timeout_s=1)  # nothing listens on port 9 of the loopback
    try:
        with caplog.at_level(logging.WARNING, logger="hardware_sim.staff"):
            staff.look()
    finally:
        staff.close()
    assert [record.message.startswith("cannot read the terminal") for record in caplog.records] == [True]
