"""Diner pages: home (next meal, this month), book with portion choices, upcoming bookings with QR codes, cancel,
past bookings and no-shows."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from canteen.access import Scope
from canteen.bounds import Id
from canteen.calendar import service as calendar_service
from canteen.errors import CanteenError
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal
from canteen.reservation import service
from canteen.reservation.models import BookingCreate, BookingRead, Portion
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form, text_fields, validate_form
from canteen.web.navigation import MODE_LABELS
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)

UPCOMING_DAYS = 14
HISTORY_DAYS = 90
OUTCOME_LABELS = {"eaten": N_("eaten"), "cancelled": N_("cancelled"), "no_show": N_("did not come")}
PORTION_LABELS = service.PORTION_NAMES
NOTICES = {"booked": N_("Booked: {meal} on {date}"), "cancelled": N_("Cancelled: {meal} on {date}")}


@dataclass(frozen=True)
class BookingCard:
    """A booking as the diner's pages show it: its dishes by name with their portions, the QR code, and whether
    it can still be cancelled."""

    booking: BookingRead
    dishes: list[tuple[str, str]]  # dish name, portion label (msgid)
    qr: str
    cancellable: bool


def _own_canteen(session: Session, scope: Scope) -> Canteen:
    """The diner's canteen (a diner belongs to one; the lowest id if ever several)."""
    return service.diner_canteen(session, scope, min(scope.canteen_ids, default=0))


def _dish_names(session: Session, scope: Scope, canteen_id: int) -> dict[int, str]:
    return {dish.id: dish.name for dish in service.list_dishes(session, scope, canteen_id) if dish.id is not None}


def _dishes(booking: BookingRead, names: dict[int, str]) -> list[tuple[str, str]]:
    return [(names.get(choice.dish_id, "–"), PORTION_LABELS[choice.portion]) for choice in booking.choices]


def booking_cards(session: Session, scope: Scope, canteen: Canteen, bookings: list[BookingRead],
                  now: datetime) -> list[BookingCard]:
    assert canteen.id is not None
    names = _dish_names(session, scope, canteen.id)
    policy = service.get_policy(session, scope, canteen.id)
    return [BookingCard(booking, _dishes(booking, names), service.booking_qr_svg(booking.token),
                        now < service.cutoff(policy, canteen, booking.service_date)) for booking in bookings]


def short_date(day: date, language: str) -> str:
    """A date as people say it, without the year: 12月2日."""
    return gettext("{month}/{day}", language).format(month=day.month, day=day.day)


def _notice(session: Session, scope: Scope, language: str, kind: str | None, booking_id: int | None) -> str | None:
    """The confirmation after a booking was made or cancelled (the redirect names it), for the caller's own only."""
    if kind not in NOTICES or booking_id is None:
        return None
    try:
        booking = service.get_booking(session, scope, booking_id)
    except CanteenError:
        return None
    return gettext(NOTICES[kind], language).format(meal=gettext(MODE_LABELS[booking.meal.value], language),
                                                   date=short_date(booking.service_date, language))


def _page(request: Request, session: Session, scope: Scope, now: datetime, day: date | None, meal: Meal,
          error: CanteenError | None = None, notice: str | None = None) -> Response:
    canteen = _own_canteen(session, scope)
    assert canteen.id is not None
    today = org_service.local_date(canteen, now)
    day = day or today + timedelta(days=1)
    upcoming = service.my_upcoming(session, scope, today, today + timedelta(days=UPCOMING_DAYS), now)
    return render_form(request, "reservation/bookings.html", {
        "canteen": canteen, "day": day, "meal": meal, "meals": list(Meal), "notice": notice,
        "menu": service.get_menu(session, scope, canteen.id, day, meal),
        "bookings": booking_cards(session, scope, canteen, upcoming, now),
        "no_shows": len(service.my_no_shows(session, scope, now)),
        "portions": list(Portion),
        "guessed_years": calendar_service.load(session).guessed_years(
            today, max(day, today + timedelta(days=UPCOMING_DAYS))),
    }, error)


@router.get("/bookings")
def bookings_page(request: Request, scope: PageScope, session: DbSession, now: Now,
                  day: Annotated[date | None, Query(alias="date")] = None, meal: Meal = Meal.lunch,
                  done: str | None = None, booking: int | None = None) -> Response:
    """The booking form and the meals to come; `done` and `booking` name the change just made, to confirm it."""
    notice = _notice(session, scope, request_language(request), done, booking)
    return _page(request, session, scope, now, day, meal, notice=notice)


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
        booking = service.book(session, scope, data, now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, scope, now, form_date(form.get("service_date", "")),
                     form_meal(form.get("meal", "")), error)
    session.commit()
    return RedirectResponse(f"/bookings?date={data.service_date}&meal={data.meal.value}&done=booked"
                            f"&booking={booking.id}", status_code=303)


def form_meal(text: str) -> Meal:
    """The meal a form names; lunch when it names none (the page to show again after a refusal)."""
    return Meal(text) if text in set(Meal) else Meal.lunch


def form_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.post("/bookings/{booking_id}/cancel", dependencies=[CsrfChecked])
def cancel(booking_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    try:
        booking = service.cancel(session, scope, booking_id, now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, scope, now, None, Meal.lunch, error)
    session.commit()
    return RedirectResponse(f"/bookings?date={booking.service_date}&meal={booking.meal.value}&done=cancelled"
                            f"&booking={booking.id}", status_code=303)


@router.get("/bookings/history")
def history_page(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    """The diner's past bookings: eaten, cancelled or not come to (a no-show), newest first."""
    canteen = _own_canteen(session, scope)
    assert canteen.id is not None
    today = org_service.local_date(canteen, now)
    past = service.my_bookings(session, scope, today - timedelta(days=HISTORY_DAYS), today)
    no_shows = {booking.id for booking in service.my_no_shows(session, scope, now)}
    names = _dish_names(session, scope, canteen.id)
    rows = [(booking, _dishes(booking, names), service.outcome(booking, booking.id in no_shows))
            for booking in reversed(service.booking_reads(session, past))]
    return render(request, "reservation/history.html", {
        "canteen": canteen, "rows": [row for row in rows if row[2]], "no_shows": len(no_shows),
        "days": HISTORY_DAYS, "outcome_labels": OUTCOME_LABELS,
    })


@router.get("/me")
def home_page(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    """The diner's home: the next meal booked (with its code) and this month's record."""
    canteen = _own_canteen(session, scope)
    today = org_service.local_date(canteen, now)
    upcoming = service.my_upcoming(session, scope, today, today + timedelta(days=UPCOMING_DAYS), now)
    return render(request, "reservation/home.html", {
        "canteen": canteen, "next": next(iter(booking_cards(session, scope, canteen, upcoming[:1], now)), None),
        "month": service.my_month(session, scope, canteen, now), "month_start": today.replace(day=1),
    })
