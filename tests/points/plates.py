"""Helpers of the 光盘打卡 tests: diners with bookings and cards, plates posted by canteen A's plate-return
station as its gateway would, rules made through the API, and the rows they leave."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, SQLModel, select

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.org.models import Meal
from canteen.reservation.models import Booking, BookingStatus, DinerCard
from tests.conftest import PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment at the canteens (Shanghai), in UTC."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def add_diner(engine, org, username: str, canteen: str = "a") -> int:
    with db.session_scope(engine) as session:
        return auth_service.create_user(session, SYSTEM, UserCreate(
            username=username, password=PASSWORD, role=Role.diner, canteen_ids=[org.canteens[canteen]]),
            datetime(2026, 10, 1, tzinfo=UTC)).id


def add_booking(engine, diner: int, canteen: int, day: date, meal: Meal = Meal.lunch, token: str | None = None,
                status: BookingStatus = BookingStatus.booked) -> str:
    token = token or f"bk_{diner}_{day}_{meal.value}"
    with db.session_scope(engine) as session:
        session.add(Booking(diner_id=diner, canteen_id=canteen, service_date=day, meal=meal, token=token,
                            status=status, created_at=local(day, 8) - timedelta(days=1)))
    return token


def add_card(engine, canteen: int, number: str, diner: int) -> str:
    with db.session_scope(engine) as session:
        session.add(DinerCard(canteen_id=canteen, card_number=number, user_id=diner))
    return number


def plate(seq: int, at: datetime, grams: int, ref: str | None = None) -> dict:
    item = {"seq": seq, "measured_at": at.isoformat(), "grams": grams}
    return item | ({"diner_ref": ref} if ref is not None else {})


def post_plates(client, org, items: list[dict], station: str = "a") -> dict:
    response = client.post("/api/v1/weighings", json={"items": items},
                           headers={"Authorization": f"Bearer {org.station_keys[station]}"})
    assert response.status_code == 200, response.text
    return response.json()


def add_rule(client, api_headers, bureau: int, applies_from: date, user: str = "admin", **fields: int) -> dict:
    body = {"applies_from": applies_from.isoformat(), "clean_plate_points": 10, "daily_cap": 20} | fields
    response = client.post(f"/api/v1/bureaus/{bureau}/points-rules", json=body, headers=api_headers(user))
    assert response.status_code == 201, response.text
    return response.json()


def rows(engine, model: type[SQLModel], *where) -> list:
    with Session(engine) as session:
        return list(session.exec(select(model).where(*where)))
