"""Diner pages: book with portion choices, upcoming bookings with QR codes, cancel, past bookings and no-shows."""
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from canteen.access import Scope
from canteen.calendar import service as calendar_service
from canteen.errors import CanteenError
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal
from canteen.reservation import service
from canteen.reservation.models import BookingCreate, BookingRead, BookingStatus, Portion
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form, text_fields, validate_form
from canteen.web.templating import render

router = APIRouter(include_in_schema=False)

UPCOMING_DAYS = 14
HISTORY_DAYS = 90
OUTCOME_LABELS = {"eaten": N_("eaten"), "cancelled": N_("cancelled"), "no_show": N_("did not come")}
PORTION_LABELS = {Portion.full: N_("full portion"), Portion.half: N_("half portion"),
                  Portion.small: N_("small portion")}


def _own_canteen(session: Session, scope: Scope) -> Canteen:
    """The diner's canteen (a diner belongs to one; the lowest id if ever several)."""
    return service.diner_canteen(session, scope, min(scope.canteen_ids, default=0))


def _page(request: Request, session: Session, scope: Scope, now: datetime, day: date | None, meal: Meal,
          error: CanteenError | None = None) -> Response:
    canteen = _own_canteen(session, scope)
    assert canteen.id is not None
    today = org_service.local_date(canteen, now)
    day = day or today + timedelta(days=1)
    bookings = service.booking_reads(session, service.my_bookings(session, scope, today,
                                                                  today + timedelta(days=UPCOMING_DAYS)))
    live = [booking for booking in bookings if booking.status == "booked"]
    return render_form(request, "reservation/bookings.html", {
        "canteen": canteen, "day": day, "meal": meal, "meals": list(Meal),
        "menu": service.get_menu(session, scope, canteen.id, day, meal),
        "bookings": [(booking, service.booking_qr_svg(booking.token)) for booking in live],
        "no_shows": len(service.my_no_shows(session, scope, now)),
        "portions": list(Portion),
        "guessed_years": calendar_service.load(session).guessed_years(
            today, max(day, today + timedelta(days=UPCOMING_DAYS))),
    }, error)


@router.get("/bookings")
def bookings_page(request: Request, scope: PageScope, session: DbSession, now: Now,
                  day: Annotated[date | None, Query(alias="date")] = None, meal: Meal = Meal.lunch) -> Response:
    return _page(request, session, scope, now, day, meal)


@router.post("/bookings", dependencies=[CsrfChecked])
async def book(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = await request.form()
    return await run_in_threadpool(_book, request, session, scope, now, text_fields(form))


def _book(request: Request, session: Session, scope: Scope, now: datetime, form: dict[str, str]) -> Response:
    canteen = _own_canteen(session, scope)
    choices = [{"dish_id": key.removeprefix("portion_"), "portion": value}
               for key, value in form.items() if key.startswith("portion_") and value]
    try:
        data = validate_form(BookingCreate, canteen_id=canteen.id, service_date=form.get("service_date", ""),
                             meal=form.get("meal", ""), set_meal=form.get("set_meal") == "on",
                             choices=choices)
        service.book(session, scope, data, now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, scope, now, form_date(form.get("service_date", "")),
                     form_meal(form.get("meal", "")), error)
    session.commit()
    return RedirectResponse(f"/bookings?date={data.service_date}&meal={data.meal.value}", status_code=303)


def form_meal(text: str) -> Meal:
    """The meal a form names; lunch when it names none (the page to show again after a refusal)."""
    return Meal(text) if text in set(Meal) else Meal.lunch


def form_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.post("/bookings/{booking_id}/cancel", dependencies=[CsrfChecked])
def cancel(booking_id: int, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    try:
        booking = service.cancel(session, scope, booking_id, now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, scope, now, None, Meal.lunch, error)
    session.commit()
    return RedirectResponse(f"/bookings?date={booking.service_date}&meal={booking.meal.value}", status_code=303)


@router.get("/bookings/history")
def history_page(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    """The diner's past bookings: eaten, cancelled or not come to (a no-show), newest first."""
    canteen = _own_canteen(session, scope)
    today = org_service.local_date(canteen, now)
    past = service.my_bookings(session, scope, today - timedelta(days=HISTORY_DAYS), today)
    no_shows = {booking.id for booking in service.my_no_shows(session, scope, now)}
    rows = [(booking, "no_show" if booking.id in no_shows else _outcome(booking))
            for booking in reversed(service.booking_reads(session, past))]
    return render(request, "reservation/history.html", {
        "canteen": canteen, "rows": [(booking, outcome) for booking, outcome in rows if outcome],
        "no_shows": len(no_shows), "days": HISTORY_DAYS, "outcome_labels": OUTCOME_LABELS,
    })


def _outcome(booking: BookingRead) -> str | None:
    """None for a live booking of a meal that is not over yet."""
    if booking.status == BookingStatus.cancelled:
        return "cancelled"
    return "eaten" if booking.checked_in_at else None
