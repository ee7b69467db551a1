"""The kitchen's dish pages: what was cooked of a meal's dishes (the plan prefilled) beside what came back unserved,
and the month's dishes ranked by the share left over and by the money lost, each with its weekly trend."""
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from canteen.access import Scope, may_operate
from canteen.bounds import MAX_DAY, MAX_ID, MIN_DAY, Day, Id, parse_month
from canteen.errors import CanteenError, InvalidInput
from canteen.kitchen.dishes import service
from canteen.kitchen.dishes.models import MAX_COOKED_KG, CookedUpdate
from canteen.org import service as org_service
from canteen.org.models import Meal
from canteen.reservation.forecast import prep
from canteen.reservation.views import form_date, form_meal
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form, text_fields, validate_form
from canteen.web.templating import render

router = APIRouter(include_in_schema=False)

DateQuery = Annotated[Day | None, Query(alias="date")]
MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]
TREND_WIDTH, TREND_HEIGHT = 120, 32  # the weekly trend's box, in SVG units


def _month(text: str | None, today: date) -> date:
    """The first day of a month given as 2026-11, this month when none is given."""
    return today.replace(day=1) if text is None else parse_month(text)


def _trend(shares: list[float | None], top: float) -> list[tuple[float, float]]:
    """Each week's share as a point in the TREND_WIDTH × TREND_HEIGHT box (0 at the bottom, `top` at the top);
    weeks with nothing cooked are left out."""
    step = TREND_WIDTH / max(len(shares) - 1, 1)
    return [(round(index * step, 1), round(TREND_HEIGHT * (1 - min(share, top) / top), 1))
            for index, share in enumerate(shares) if share is not None]


@router.get("/canteens/{canteen_id}/dishes")
def dishes_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                month: MonthQuery = None, order: Literal["share", "money"] = "share") -> Response:
    """The month's dishes ranked by the share of what was cooked that came back unserved (or by the money it
    stands for), with a trend a week and whether the prep suggestion already cooks less of them."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    first = _month(month, org_service.local_date(canteen, now))
    result = service.month_dishes(session, scope, canteen_id, first, now)
    top = max([prep.LEFTOVER_SHARE * 2, *(share for dish in result.dishes for share in dish.weekly_shares
                                          if share is not None)])
    return render(request, "kitchen/dishes/month.html", {
        "canteen": canteen, "result": result, "order": order,
        "ranked": result.by_money() if order == "money" else result.by_share(),
        "trends": {dish.dish_id: _trend(dish.weekly_shares, top) for dish in result.dishes},
        "trend_box": (TREND_WIDTH, TREND_HEIGHT),
        "threshold_y": round(TREND_HEIGHT * (1 - prep.LEFTOVER_SHARE / top), 1),
        "leftover_share": prep.LEFTOVER_SHARE, "leftover_weeks": prep.LEFTOVER_WEEKS, "recent_weeks": prep.RECENT_WEEKS,
        "previous": (first - timedelta(days=1)).strftime("%Y-%m"),
        "next": (first + timedelta(days=31)).strftime("%Y-%m"),
    })


def _cooked_page(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                 day: date | None, meal: Meal, typed: dict[int, str] | None = None,
                 error: CanteenError | None = None) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    day = day or org_service.local_date(canteen, now)
    rows = service.meal_dishes(session, scope, canteen_id, day, meal, now)

    def shown(row: service.DishMeal) -> str:
        """The form's value: what was typed (after a refusal), else the entry, else the plan."""
        if typed is not None:
            return typed.get(row.dish_id, "")
        return "" if row.cooked is None else f"{row.cooked / 1000:g}"

    return render_form(request, "kitchen/dishes/cooked.html", {
        "canteen": canteen, "day": day, "meal": meal, "meals": list(Meal), "rows": rows,
        "values": {row.dish_id: shown(row) for row in rows}, "can_edit": may_operate(scope, canteen_id),
        "max_kg": MAX_COOKED_KG, "saved": request.query_params.get("saved") == "1",
    }, error)


@router.get("/canteens/{canteen_id}/dishes/cooked")
def cooked_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                day: DateQuery = None, meal: Meal = Meal.lunch) -> Response:
    """A meal's dishes: the plan, what was cooked (prefilled with the plan until the kitchen enters it), the
    unserved food weighed and its share."""
    return _cooked_page(request, session, scope, canteen_id, now, day, meal)


@router.post("/canteens/{canteen_id}/dishes/cooked", dependencies=[CsrfChecked])
async def save_cooked(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    submitted = await request.form()
    form = text_fields(submitted)
    dish_ids = [text for text in submitted.getlist("dish_id") if isinstance(text, str)]
    return await run_in_threadpool(_save_cooked, request, session, scope, canteen_id, now, form, dish_ids)


def _save_cooked(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                 form: dict[str, str], dish_ids: list[str]) -> Response:
    """A blank field leaves the dish to the plan; on a refusal the page again with what was typed."""
    day, meal = form_date(form.get("service_date", "")), form_meal(form.get("meal", ""))
    if day is not None and not MIN_DAY <= day <= MAX_DAY:
        day = None
    known = [dish_id for dish_id in dish_ids if dish_id.isascii() and dish_id.isdigit()
             and len(dish_id) <= len(str(MAX_ID))]
    typed = {int(dish_id): form.get(f"cooked_kg_{dish_id}", "").strip() for dish_id in known}
    try:
        if len(known) < len(dish_ids):
            raise InvalidInput("{field} is not accepted", field="dish_id")
        if day is None:
            raise InvalidInput("{field} must be a date such as 2026-11-23", field="service_date")
        if form.get("meal") not in set(Meal):
            raise InvalidInput("{field} must be one of the choices offered", field="meal")
        data = validate_form(CookedUpdate, dishes=[{"dish_id": dish_id, "cooked_kg": text}
                                                   for dish_id, text in typed.items() if text])
        service.set_cooked(session, scope, canteen_id, day, meal, data, now)
    except CanteenError as error:
        session.rollback()
        return _cooked_page(request, session, scope, canteen_id, now, day, meal, typed, error)
    session.commit()
    return RedirectResponse(f"/canteens/{canteen_id}/dishes/cooked?date={day}&meal={meal.value}&saved=1",
                            status_code=303)
