"""Pages for a canteen's managers: coming meals with forecast and prep suggestion (with exports and a chart of
forecast against actual), menus and booking rules, and the check-in screen at the entrance."""
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from canteen.access import Scope, may_operate
from canteen.bounds import Id
from canteen.calendar import service as calendar_service
from canteen.errors import CanteenError, InvalidInput, NotFound
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal
from canteen.reservation import service
from canteen.reservation.forecast import prep
from canteen.reservation.models import DishCreate, PolicySchema
from canteen.reservation.views import PORTION_LABELS, form_date, form_meal
from canteen.web import charts
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.exports import csv_response, spreadsheet, xlsx_response
from canteen.web.forms import render_form, text_fields, validate_form
from canteen.web.navigation import MODE_LABELS
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)

CHART_DAYS = 28
CLOSED_DAYS_AHEAD = 90
DateQuery = Annotated[date | None, Query(alias="date")]


def _can_edit(scope: Scope, canteen_id: int) -> bool:
    return may_operate(scope, canteen_id)


# ---- coming meals: forecast, prep, exports ------------------------------------


@router.get("/canteens/{canteen_id}/bookings")
def meal_bookings_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                       day: DateQuery = None, meal: Meal = Meal.lunch) -> Response:
    """Today's remaining and tomorrow's meals at a glance; one meal in detail with what to prepare.

    The chart of forecast against actual diners replays a month of forecasts and draws them: it is its own
    request (an image the page loads after it), so the page does not wait for it.
    """
    canteen = org_service.get_canteen(session, scope, canteen_id)
    today = org_service.local_date(canteen, now)
    day = day or today + timedelta(days=1)
    upcoming = prep.upcoming_meals(session, scope, canteen_id, now)
    wanted = upcoming if (day, meal) in upcoming else [*upcoming, (day, meal)]
    preps = prep.meals_prep(session, scope, canteen_id, wanted, now)
    selected = next(item for item in preps if (item.service_date, item.meal) == (day, meal))
    yesterday = today - timedelta(days=1)
    charted = service.days_with_diners(session, scope, canteen_id, meal, yesterday - timedelta(days=CHART_DAYS - 1),
                                       yesterday) >= 2
    return render(request, "reservation/meal.html", {
        "canteen": canteen, "day": day, "meal": meal, "meals": list(Meal),
        "upcoming": [item for item in preps if (item.service_date, item.meal) in upcoming],
        "counts": service.meal_counts(session, scope, canteen_id, day, meal, now),
        "prep": selected, "portion_labels": PORTION_LABELS, "leftover_share": prep.LEFTOVER_SHARE,
        "chart_url": f"/canteens/{canteen_id}/forecast-chart.svg?meal={meal.value}" if charted else None,
        "guessed_years": calendar_service.load(session).guessed_years(
            min(item_day for item_day, _ in wanted), max(item_day for item_day, _ in wanted)),
    })


@router.get("/canteens/{canteen_id}/forecast-chart.svg")
def forecast_chart(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                   meal: Meal = Meal.lunch) -> Response:
    """The meal's forecast at each day's cut-off against who came, over the last CHART_DAYS days (SVG)."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    chart = _accuracy_chart(session, scope, canteen, meal, now, request_language(request))
    if chart is None or not chart.startswith("<svg"):
        raise NotFound("there is no chart of this meal yet: it needs two days with bookings or diners",
                       field="meal")
    # Past days only: the chart changes once a day, so a browser may keep it a few minutes.
    return Response(chart, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=600"})


def _accuracy_chart(session: Session, scope: Scope, canteen: Canteen, meal: Meal, now: datetime,
                    language: str) -> str | None:
    assert canteen.id is not None
    frame = prep.forecast_vs_actual(session, scope, canteen.id, meal, now, CHART_DAYS)
    if frame.empty or frame["closed"].all():
        return None

    def points(column: str) -> list[float | None]:
        return [None if closed else float(value) for value, closed in zip(frame[column], frame["closed"])]

    title = gettext("{meal}: forecast at the cut-off and actual diners", language).format(
        meal=gettext(MODE_LABELS[meal.value], language))
    return charts.line_chart([stamp.date() for stamp in frame["date"]], {
        gettext("Actual diners", language): points("served"),
        gettext("Forecast", language): points("forecast"),
        gettext("Booked", language): points("booked"),
    }, title, gettext("diners", language))


# The prep sheet's columns (prep.export_frame's names) under the headers the kitchen reads, in this order.
PREP_HEADERS = {
    "date": N_("Date"), "meal": N_("Meal"), "booked": N_("Booked"), "expected_diners": N_("Expected diners"),
    "expected_low": N_("Expected diners, low end of the 80% interval"),
    "expected_high": N_("Expected diners, high end of the 80% interval"), "dish": N_("Dish"),
    "raw_g_per_portion": N_("Raw ingredients per full portion (g)"), "booked_full": N_("Booked full portions"),
    "booked_half": N_("Booked half portions"), "booked_small": N_("Booked small portions"),
    "raw_kg": N_("Raw ingredients (kg)"), "raw_kg_low": N_("Raw ingredients, low end (kg)"),
    "raw_kg_high": N_("Raw ingredients, high end (kg)"),
    "portion_cut_percent": N_("Lowered per portion for leftovers (%)"),
}
PREP_SHEET = N_("Prep")


def _prep_export(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                 day: date | None, meal: Meal | None) -> tuple[pd.DataFrame, str]:
    """The prep sheet in the reader's language (meal names translated, counts whole numbers) and its file name."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    meals = [(day, meal)] if day and meal else prep.upcoming_meals(session, scope, canteen_id, now)
    name = (f"prep-{canteen.id}-{day}-{meal.value}" if day and meal
            else f"prep-{canteen.id}-{org_service.local_date(canteen, now)}")
    language = request_language(request)
    frame = prep.export_frame(prep.meals_prep(session, scope, canteen_id, meals, now))
    if frame.empty:
        frame = pd.DataFrame(columns=list(PREP_HEADERS))
    frame["meal"] = [gettext(MODE_LABELS[value], language) for value in frame["meal"]]
    return spreadsheet(frame, PREP_HEADERS, language), name


@router.get("/canteens/{canteen_id}/prep.csv")
def prep_csv(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
             day: DateQuery = None, meal: Meal | None = None) -> Response:
    """The prep suggestion for one meal (date and meal given) or for the coming meals."""
    frame, name = _prep_export(request, session, scope, canteen_id, now, day, meal)
    return csv_response(frame, f"{name}.csv")


@router.get("/canteens/{canteen_id}/prep.xlsx")
def prep_xlsx(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
              day: DateQuery = None, meal: Meal | None = None) -> Response:
    frame, name = _prep_export(request, session, scope, canteen_id, now, day, meal)
    return xlsx_response(frame, f"{name}.xlsx", gettext(PREP_SHEET, request_language(request)))


# ---- menus, closed days, booking rules ----------------------------------------


def _menus_page(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                day: date | None, meal: Meal, error: CanteenError | None = None) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    today = org_service.local_date(canteen, now)
    day = day or today + timedelta(days=1)
    on_menu = {dish.id for dish in service.get_menu(session, scope, canteen_id, day, meal)}
    return render_form(request, "reservation/menus.html", {
        "canteen": canteen, "day": day, "meal": meal, "meals": list(Meal), "can_edit": _can_edit(scope, canteen_id),
        "dishes": service.list_dishes(session, scope, canteen_id), "on_menu": on_menu,
        "closed_days": service.list_closed_days(session, scope, canteen_id, today,
                                                today + timedelta(days=CLOSED_DAYS_AHEAD)),
        "policy": service.get_policy(session, scope, canteen_id),
    }, error)


@router.get("/canteens/{canteen_id}/menus")
def menus_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
               day: DateQuery = None, meal: Meal = Meal.lunch) -> Response:
    return _menus_page(request, session, scope, canteen_id, now, day, meal)


def _menus_action(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                  form: dict, action) -> Response:
    """Run one change; on success back to the menus page of the form's date and meal, else the page with the error."""
    day, meal = form_date(form.get("service_date", "")), form_meal(form.get("meal", ""))
    try:
        action()
    except CanteenError as error:
        session.rollback()
        return _menus_page(request, session, scope, canteen_id, now, day, meal, error)
    session.commit()
    query = f"?date={day}&meal={meal.value}" if day else ""
    return RedirectResponse(f"/canteens/{canteen_id}/menus{query}", status_code=303)


@router.post("/canteens/{canteen_id}/dishes", dependencies=[CsrfChecked])
async def add_dish(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = text_fields(await request.form())

    def action() -> None:
        data = validate_form(DishCreate, name=form.get("name", "").strip(), raw_grams=form.get("raw_grams", ""),
                             offers_half=form.get("offers_half") == "on", offers_small=form.get("offers_small") == "on",
                             price_yuan_per_kg=form.get("price_yuan_per_kg", "").strip() or None)
        service.create_dish(session, scope, canteen_id, data)

    return await run_in_threadpool(_menus_action, request, session, scope, canteen_id, now, form, action)


class _MenuForm(BaseModel):
    service_date: date
    meal: Meal
    dish_ids: list[int]


class _ClosedDayForm(BaseModel):
    service_date: date
    reason: str = Field(default="", max_length=200)


@router.post("/canteens/{canteen_id}/menus", dependencies=[CsrfChecked])
async def save_menu(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    submitted = await request.form()
    form = text_fields(submitted)

    def action() -> None:
        data = validate_form(_MenuForm, service_date=form.get("service_date", ""), meal=form.get("meal", ""),
                             dish_ids=submitted.getlist("dish_id"))
        service.set_menu(session, scope, canteen_id, data.service_date, data.meal, data.dish_ids)

    return await run_in_threadpool(_menus_action, request, session, scope, canteen_id, now, form, action)


@router.post("/canteens/{canteen_id}/closed-days", dependencies=[CsrfChecked])
async def close_day(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = text_fields(await request.form())

    def action() -> None:
        data = validate_form(_ClosedDayForm, service_date=form.get("closed_date", ""),
                             reason=form.get("reason", "").strip())
        service.close_day(session, scope, canteen_id, data.service_date, data.reason, now)

    return await run_in_threadpool(_menus_action, request, session, scope, canteen_id, now, form, action)


@router.post("/canteens/{canteen_id}/closed-days/{day}/reopen", dependencies=[CsrfChecked])
async def reopen_day(canteen_id: Id, day: date, request: Request, scope: PageScope, session: DbSession,
                     now: Now) -> Response:
    form = text_fields(await request.form())
    return await run_in_threadpool(_menus_action, request, session, scope, canteen_id, now, form,
                                   lambda: service.reopen_day(session, scope, canteen_id, day))


@router.post("/canteens/{canteen_id}/booking-policy", dependencies=[CsrfChecked])
async def save_policy(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = text_fields(await request.form())

    def action() -> None:
        capacities = {f"{meal.value}_capacity": form.get(f"{meal.value}_capacity", "").strip() or None
                      for meal in Meal}
        data = validate_form(PolicySchema, cutoff_days_before=form.get("cutoff_days_before", ""),
                             cutoff_time=form.get("cutoff_time", ""), **capacities)
        service.set_policy(session, scope, canteen_id, data)

    return await run_in_threadpool(_menus_action, request, session, scope, canteen_id, now, form, action)


# ---- check-in screen ------------------------------------------------------------


def _check_in_page(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                   done: str | None = None, error: CanteenError | None = None,
                   undo: int | None = None) -> Response:
    """The check-in screen; `undo` is the walk-in just recorded, which the confirmation offers to take back."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    period = service.serving_now(session, scope, canteen_id, now)
    context: dict[str, Any] = {"canteen": canteen, "period": period, "done": done, "undo": undo,
                               "zone": ZoneInfo(canteen.timezone),
                               "undo_seconds": int(service.UNDO_WALK_IN.total_seconds())}
    if period is not None:
        context["counts"] = service.meal_counts(session, scope, canteen_id, period.service_date, period.meal, now)
        context["recent"] = service.recent_check_ins(session, scope, canteen_id, period.service_date, period.meal)
    return render_form(request, "reservation/checkin.html", context, error)


@router.get("/canteens/{canteen_id}/checkin")
def check_in_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    return _check_in_page(request, session, scope, canteen_id, now)


@router.post("/canteens/{canteen_id}/checkin", dependencies=[CsrfChecked])
async def check_in(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = text_fields(await request.form())
    return await run_in_threadpool(_check_in, request, session, scope, canteen_id, now, form)


def _check_in(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
              form: dict[str, str]) -> Response:
    """A scanned booking QR code (bk_…) or a card number checks a booking in; the walk-in button records a diner
    without one (anonymous, or by card). Anything else is refused, never counted."""
    code = form.get("code", "").strip()
    language = request_language(request)
    try:
        if code.startswith(service.TOKEN_PREFIX):
            row = service.check_in(session, scope, canteen_id, now, token=code)
        elif form.get("walk_in"):
            row = service.walk_in(session, scope, canteen_id, now, card_number=code or None)
        elif code:
            row = service.check_in(session, scope, canteen_id, now, card_number=code)
        else:
            raise InvalidInput("scan a booking code or enter a card number", field="code")
    except CanteenError as error:
        session.rollback()
        return _check_in_page(request, session, scope, canteen_id, now, error=error)
    session.commit()
    if row.booking_id is None:
        return _check_in_page(request, session, scope, canteen_id, now, done=gettext("Walk-in recorded", language),
                              undo=row.id)
    return _check_in_page(request, session, scope, canteen_id, now, done=gettext("Checked in", language))


@router.post("/canteens/{canteen_id}/checkin/{check_in_id}/undo", dependencies=[CsrfChecked])
def undo_walk_in(canteen_id: Id, check_in_id: Id, request: Request, scope: PageScope, session: DbSession,
                 now: Now) -> Response:
    try:
        service.undo_walk_in(session, scope, canteen_id, check_in_id, now)
    except CanteenError as error:
        session.rollback()
        return _check_in_page(request, session, scope, canteen_id, now, error=error)
    session.commit()
    done = gettext("Walk-in undone", request_language(request))
    return _check_in_page(request, session, scope, canteen_id, now, done=done)
