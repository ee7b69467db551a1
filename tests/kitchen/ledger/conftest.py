"""November 2026 at canteen A: kitchen waste weighed at a kitchen station and entered by hand, and its hand-overs
(the figures expected from them are in records.py)."""
from types import SimpleNamespace

import pytest
from sqlalchemy import update
from sqlmodel import select

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.org import service as org_service
from canteen.org.models import StationCreate, StationKind
from canteen.weighing.models import KitchenWaste
from tests.kitchen.ledger.records import COOK, HANDOVERS, PASSWORD, STATION, handover, kitchen_waste


@pytest.fixture
def cook(engine, org, clock) -> int:
    with db.session_scope(engine) as session:
        return auth_service.create_user(session, SYSTEM, UserCreate(
            username="cook_a", display_name=COOK, password=PASSWORD, role=Role.operator,
            canteen_ids=[org.canteens["a"]]), clock()).id


@pytest.fixture
def month(client, engine, org, api_headers, cook) -> SimpleNamespace:
    """November 2026 at canteen A (the clock stands at 23 November, 10:00 in Shanghai)."""
    a = org.canteens["a"]
    with db.session_scope(engine) as session:
        station, key = org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=a, name=STATION, kind=StationKind.kitchen))
        station_id = station.id
    weighings = [  # 20th: unserved food (classified by the cook), a bin never classified; 21st: trimmings
        {"seq": 1, "measured_at": "2026-11-20T03:30:00+00:00", "grams": 1200, "meal": "lunch", "category": "unserved"},
        {"seq": 2, "measured_at": "2026-11-20T03:40:00+00:00", "grams": 650, "meal": "lunch"},
        {"seq": 3, "measured_at": "2026-11-21T03:30:00+00:00", "grams": 2000, "meal": "lunch", "category": "trimmings"},
    ]
    sent = client.post("/api/v1/weighings", json={"items": weighings}, headers={"Authorization": f"Bearer {key}"})
    assert sent.json()["accepted"] == 3, sent.text
    with db.session_scope(engine) as session:
        # What the kitchen terminal stores when the cook classifies the first weighing there.
        session.execute(update(KitchenWaste).where(KitchenWaste.station_id == station_id, KitchenWaste.seq == 1)
                        .values(classified_by=cook))
        trimmings_id = session.exec(select(KitchenWaste.id).where(KitchenWaste.station_id == station_id,
                                                                  KitchenWaste.seq == 3)).one()
    operator, by_cook = api_headers("operator_a"), api_headers("cook_a")
    kitchen_waste(client, operator, a, "2026-11-20", "trimmings", 1500)
    kitchen_waste(client, operator, a, "2026-11-20", "storage", 300)
    kitchen_waste(client, by_cook, a, "2026-11-21", "trimmings", 1800, corrects=trimmings_id)  # 2,000 g was wrong
    kitchen_waste(client, operator, a, "2026-11-21", "other", 450)
    kitchen_waste(client, operator, a, "2026-10-31", "unserved", 9000)  # last month
    kitchen_waste(client, api_headers("operator_b"), org.canteens["b"], "2026-11-20", "unserved", 5000)  # canteen B
    for row in HANDOVERS:
        assert handover(client, operator, a, *row).status_code == 201
    return SimpleNamespace(canteen=a, station=station_id)
