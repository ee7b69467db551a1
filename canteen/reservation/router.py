from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder

from canteen.bounds import Day, Id
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.forecast import prep
from canteen.reservation.models import (
    BookingCreate,
    BookingRead,
    CardAssign,
    CheckInRead,
    CheckInRequest,
    ClosedDayRead,
    ClosedDayUpdate,
    DishCreate,
    DishPrice,
    DishRead,
    MealCounts,
    MenuRead,
    MenuUpdate,
    NoShows,
    PolicySchema,
    RecurringCreate,
    RecurringRead,
    WalkInRequest,
)
from canteen.web.deps import ApiScope, DbSession, Now
from canteen.weighing.models import CheckIn

router = APIRouter(prefix="/api/v1", tags=["reservation"])
From = Annotated[Day, Query(alias="from")]
To = Annotated[Day, Query(alias="to")]
# Optional ones spelled apart: FastAPI reads the alias only from an Annotated at the top (`From | None` loses it).
FromOrNone = Annotated[Day | None, Query(alias="from")]
ToOrNone = Annotated[Day | None, Query(alias="to")]


# ---- dishes, menus, closed days, policy --------------------------------------


@router.get("/canteens/{canteen_id}/dishes", response_model=list[DishRead])
def list_dishes(canteen_id: Id, scope: ApiScope, session: DbSession) -> list:
    return service.list_dishes(session, scope, canteen_id)


@router.post("/canteens/{canteen_id}/dishes", response_model=DishRead, status_code=201)
def create_dish(canteen_id: Id, body: DishCreate, scope: ApiScope, session: DbSession):
    dish = service.create_dish(session, scope, canteen_id, body)
    session.commit()
    return dish


@router.put("/canteens/{canteen_id}/dishes/{dish_id}/price", response_model=DishRead)
def set_dish_price(canteen_id: Id, dish_id: Id, body: DishPrice, scope: ApiScope, session: DbSession):
    """What a kilogram of the dish costs, used for its unserved food; null: the canteen's price of unserved food."""
    dish = service.set_dish_price(session, scope, canteen_id, dish_id, body.price_yuan_per_kg)
    session.commit()
    return dish


def _menu(canteen_id: int, day: date, meal: Meal, dishes: list) -> MenuRead:
    return MenuRead(canteen_id=canteen_id, service_date=day, meal=meal,
                    dishes=[DishRead.model_validate(dish) for dish in dishes])


@router.get("/canteens/{canteen_id}/menus/{day}/{meal}", response_model=MenuRead)
def get_menu(canteen_id: Id, day: Day, meal: Meal, scope: ApiScope, session: DbSession) -> MenuRead:
    return _menu(canteen_id, day, meal, service.get_menu(session, scope, canteen_id, day, meal))


@router.put("/canteens/{canteen_id}/menus/{day}/{meal}", response_model=MenuRead)
def set_menu(canteen_id: Id, day: Day, meal: Meal, body: MenuUpdate, scope: ApiScope,
             session: DbSession) -> MenuRead:
    dishes = service.set_menu(session, scope, canteen_id, day, meal, body.dish_ids)
    session.commit()
    return _menu(canteen_id, day, meal, dishes)


@router.get("/canteens/{canteen_id}/closed-days", response_model=list[ClosedDayRead])
def list_closed_days(canteen_id: Id, scope: ApiScope, session: DbSession, start: From, end: To) -> list:
    return service.list_closed_days(session, scope, canteen_id, start, end)


@router.put("/canteens/{canteen_id}/closed-days/{day}")
def close_day(canteen_id: Id, day: Day, body: ClosedDayUpdate, scope: ApiScope, session: DbSession,
              now: Now) -> dict:
    closed, cancelled = service.close_day(session, scope, canteen_id, day, body.reason, now)
    session.commit()
    return {**ClosedDayRead.model_validate(closed).model_dump(mode="json"), "cancelled_bookings": cancelled}


@router.delete("/canteens/{canteen_id}/closed-days/{day}", status_code=204)
def reopen_day(canteen_id: Id, day: Day, scope: ApiScope, session: DbSession) -> Response:
    service.reopen_day(session, scope, canteen_id, day)
    session.commit()
    return Response(status_code=204)


@router.get("/canteens/{canteen_id}/booking-policy", response_model=PolicySchema)
def get_policy(canteen_id: Id, scope: ApiScope, session: DbSession):
    return service.get_policy(session, scope, canteen_id)


@router.put("/canteens/{canteen_id}/booking-policy", response_model=PolicySchema)
def set_policy(canteen_id: Id, body: PolicySchema, scope: ApiScope, session: DbSession):
    policy = service.set_policy(session, scope, canteen_id, body)
    session.commit()
    return policy


# ---- bookings ----------------------------------------------------------------


@router.post("/bookings", response_model=BookingRead, status_code=201)
def book(body: BookingCreate, scope: ApiScope, session: DbSession, now: Now) -> BookingRead:
    booking = service.book(session, scope, body, now)
    session.commit()
    return service.booking_reads(session, [booking])[0]


@router.get("/bookings/mine", response_model=list[BookingRead])
def my_bookings(scope: ApiScope, session: DbSession, now: Now, start: FromOrNone = None,
                end: ToOrNone = None) -> list[BookingRead]:
    """The caller's bookings, by default from a week ago to four weeks ahead."""
    start = start or now.date() - timedelta(days=7)
    end = end or now.date() + timedelta(days=28)
    return service.booking_reads(session, service.my_bookings(session, scope, start, end))


@router.get("/bookings/no-shows", response_model=NoShows)
def my_no_shows(scope: ApiScope, session: DbSession, now: Now) -> NoShows:
    bookings = service.my_no_shows(session, scope, now)
    return NoShows(count=len(bookings), bookings=service.booking_reads(session, bookings))


@router.get("/bookings/{booking_id}", response_model=BookingRead)
def get_booking(booking_id: Id, scope: ApiScope, session: DbSession) -> BookingRead:
    return service.booking_reads(session, [service.get_booking(session, scope, booking_id)])[0]


@router.get("/bookings/{booking_id}/qr.svg", response_class=Response)
def booking_qr(booking_id: Id, scope: ApiScope, session: DbSession) -> Response:
    """The booking's token as a QR code, for the diner to show at the entrance."""
    booking = service.get_booking(session, scope, booking_id)
    return Response(service.booking_qr_svg(booking.token), media_type="image/svg+xml")


@router.post("/bookings/{booking_id}/cancel", response_model=BookingRead)
def cancel(booking_id: Id, scope: ApiScope, session: DbSession, now: Now) -> BookingRead:
    booking = service.cancel(session, scope, booking_id, now)
    session.commit()
    return service.booking_reads(session, [booking])[0]


@router.delete("/bookings/{booking_id}", response_model=BookingRead)
def delete_booking(booking_id: Id, scope: ApiScope, session: DbSession, now: Now) -> BookingRead:
    return cancel(booking_id, scope, session, now)


@router.post("/recurring-bookings", status_code=201)
def create_recurring(body: RecurringCreate, scope: ApiScope, session: DbSession, now: Now) -> dict:
    recurring, created = service.create_recurring(session, scope, body, now)
    session.commit()
    return {**RecurringRead.model_validate(recurring).model_dump(mode="json"),
            "bookings": [read.model_dump(mode="json") for read in service.booking_reads(session, created)]}


@router.get("/recurring-bookings/mine", response_model=list[RecurringRead])
def my_recurring(scope: ApiScope, session: DbSession) -> list:
    return service.list_recurring(session, scope)


@router.delete("/recurring-bookings/{recurring_id}", response_model=RecurringRead)
def end_recurring(recurring_id: Id, scope: ApiScope, session: DbSession, now: Now):
    recurring = service.end_recurring(session, scope, recurring_id, now)
    session.commit()
    return recurring


# ---- entrance and counts -----------------------------------------------------


def _check_in_read(row: CheckIn) -> CheckInRead:
    """Built before the commit, which expires the row."""
    return CheckInRead(**row.model_dump(exclude={"by"}), walk_in=row.booking_id is None)


@router.put("/canteens/{canteen_id}/cards/{card_number}", status_code=204)
def assign_card(canteen_id: Id, card_number: str, body: CardAssign, scope: ApiScope,
                session: DbSession) -> Response:
    service.assign_card(session, scope, canteen_id, card_number, body.user_id)
    session.commit()
    return Response(status_code=204)


@router.post("/canteens/{canteen_id}/check-ins", response_model=CheckInRead, status_code=201)
def check_in(canteen_id: Id, body: CheckInRequest, scope: ApiScope, session: DbSession, now: Now) -> CheckInRead:
    """By booking token (the QR code) or card number; a card without a booking for the meal is refused (422):
    a walk-in is recorded with `POST …/walk-ins`."""
    row = service.check_in(session, scope, canteen_id, now, token=body.token, card_number=body.card_number)
    read = _check_in_read(row)
    session.commit()
    return read


@router.post("/canteens/{canteen_id}/walk-ins", response_model=CheckInRead, status_code=201)
def walk_in(canteen_id: Id, body: WalkInRequest, scope: ApiScope, session: DbSession, now: Now) -> CheckInRead:
    """A diner without a booking, anonymous or by a known card (a card whose diner booked checks the booking in)."""
    read = _check_in_read(service.walk_in(session, scope, canteen_id, now, card_number=body.card_number))
    session.commit()
    return read


@router.delete("/canteens/{canteen_id}/walk-ins/{check_in_id}", response_model=CheckInRead)
def undo_walk_in(canteen_id: Id, check_in_id: Id, scope: ApiScope, session: DbSession, now: Now) -> CheckInRead:
    """Take back a walk-in within a minute of recording it (409 after that)."""
    read = _check_in_read(service.undo_walk_in(session, scope, canteen_id, check_in_id, now))
    session.commit()
    return read


@router.get("/canteens/{canteen_id}/meal-counts/{day}/{meal}", response_model=MealCounts)
def meal_counts(canteen_id: Id, day: Day, meal: Meal, scope: ApiScope, session: DbSession,
                now: Now) -> MealCounts:
    return service.meal_counts(session, scope, canteen_id, day, meal, now)


@router.get("/canteens/{canteen_id}/prep/{day}/{meal}")
def meal_prep(canteen_id: Id, day: Day, meal: Meal, scope: ApiScope, session: DbSession, now: Now) -> dict:
    """Expected headcount with its 80% interval and why, and kilograms of raw ingredients per dish."""
    return jsonable_encoder(asdict(prep.meal_prep(session, scope, canteen_id, day, meal, now)))
