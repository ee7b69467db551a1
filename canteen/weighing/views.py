"""Operator pages: today's dashboard, the dining-hall wall display, history with charts and exports,
and hand entry of kitchen waste and diner counts."""
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from canteen.access import Scope, may_operate
from canteen.bounds import Id
from canteen.errors import CanteenError
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal, StationKind
from canteen.org.views import station_status
from canteen.web import chart_cache, charts
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.exports import csv_response, spreadsheet, xlsx_response
from canteen.web.forms import render_form, validate_form
from canteen.web.navigation import MODE_LABELS
from canteen.web.templating import render, request_language
from canteen.weighing import service
from canteen.weighing.costs import service as costs_service
from canteen.weighing.costs.models import WasteStage
from canteen.weighing.costs.views import FACTOR_SOURCE_LABELS, STAGE_LABELS
from canteen.weighing.models import CLASSIFIED_CATEGORIES, DinerCountEntry, DinerSource, KitchenCategory, KitchenEntry

router = APIRouter(include_in_schema=False)

HISTORY_DAYS = 28
KITCHEN_LIST_DAYS = 14
WALL_REFRESH_SECONDS = 15
DASHBOARD_REFRESH_SECONDS = 30
CATEGORY_LABELS = {category: STAGE_LABELS[WasteStage(category.value)] for category in KitchenCategory}

DINER_SOURCE_LABELS = {
    DinerSource.checkins: N_("check-ins"),
    DinerSource.operator: N_("count at the door"),
    DinerSource.plates: N_("plates weighed"),
}
EXPORT_HEADERS = {
    "date": N_("Date"),
    "diners": N_("Diners"),
    "checkins": N_("Check-ins"),
    "plates": N_("Plates"),
    "plate_waste_g": N_("Plate waste (g)"),
    "plate_waste_per_diner_g": N_("Per diner (g)"),
    "clean_plates": N_("Clean plates"),
    "clean_plate_rate": N_("Clean-plate rate"),
    "storage_g": N_("Storage losses (g)"),
    "kitchen_scraps_g": N_("Kitchen scraps (g)"),
    "trimmings_g": N_("Prep trimmings (g)"),
    "unserved_g": N_("Cooked but unserved (g)"),
    "other_kitchen_g": N_("Other kitchen waste (g)"),
    "unclassified_g": N_("Unclassified kitchen waste (g)"),
    "kitchen_total_g": N_("Kitchen waste (g)"),
    "kitchen_per_diner_g": N_("Kitchen per diner (g)"),
    "coverage": N_("Coverage"),
    "plate_waste_per_diner_g_wow": N_("Per diner, week on week"),
    "plate_waste_per_diner_g_yoy": N_("Per diner, year on year"),
}


def diner_note(meal: Meal, row: pd.Series, language: str) -> str | None:
    """Why a meal's diners are not its check-ins (or the count at the door): the smaller counts, and the one used.

    A few check-ins among many plates means most diners walked past the check-in: the note says so, where
    the figure per diner is read.
    """
    diners = int(row["diners"])
    smaller = []
    if 0 < row["checkins"] < diners:
        smaller.append(gettext("{count} checked in", language).format(count=int(row["checkins"])))
    if pd.notna(row["counted_diners"]) and row["counted_diners"] < diners:
        smaller.append(gettext("{count} counted at the door", language).format(count=int(row["counted_diners"])))
    if not smaller:
        return None
    return gettext("{meal}: {counts}; the meal counts {diners} diners, from the {source}.", language).format(
        meal=gettext(MODE_LABELS[meal], language), counts=gettext(", ", language).join(smaller), diners=diners,
        source=gettext(DINER_SOURCE_LABELS[row["diner_source"]], language))


def _today_context(session: Session, scope: Scope, canteen_id: int, now: datetime, language: str) -> dict:
    today = service.today(session, scope, canteen_id, now)
    zone = ZoneInfo(today.canteen.timezone)
    per_diner = today.total["plate_waste_per_diner_g"]
    return {
        "today": today,
        "canteen": today.canteen,
        "per_diner": per_diner,
        "over_target": bool(pd.notna(per_diner) and per_diner > today.canteen.plate_waste_target_g),
        # The threshold today's plates are counted with (a new value may already be set for tomorrow).
        "clean_threshold_g": org_service.settings_on(session, today.canteen, "clean_plate_threshold_g",
                                                     [today.service_date])[today.service_date],
        "meals": [(meal, row) for meal, row in today.meals.iterrows()],
        "diner_notes": [note for meal, row in today.meals.iterrows() if (note := diner_note(meal, row, language))],
        "diner_source_labels": DINER_SOURCE_LABELS,
        "stations": [station_status(station, today.canteen.timezone, now, language) for station in today.stations],
        "now_local": now.astimezone(zone),
    }


@router.get("/canteens/{canteen_id}/dashboard")
def dashboard(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    language = request_language(request)
    context = _today_context(session, scope, canteen_id, now, language)
    hourly = context["today"].hourly
    # Redrawn only when a plate has come in since (the hours' counts are the cache key), not on every refresh.
    context["hourly_chart"] = chart_cache.bar_chart(
        [f"{hour:02d}:00" for hour, _, _ in hourly], [plates for _, plates, _ in hourly],
        gettext("Plates returned per hour", language), gettext("Plates", language)) if hourly else None
    context["refresh_seconds"] = DASHBOARD_REFRESH_SECONDS
    context.update(_month_waste(session, context))
    context["stage_labels"], context["factor_sources"] = STAGE_LABELS, FACTOR_SOURCE_LABELS
    return render(request, "weighing/dashboard.html", context)


def _month_waste(session: Session, context: dict) -> dict:
    """The month's waste so far, valued, and the factors used."""
    day = context["today"].service_date
    month_waste, factors = costs_service.valued_waste(session, context["canteen"], day.replace(day=1), day)
    return {"month_waste": month_waste, "factors": factors}


@router.get("/canteens/{canteen_id}/wall")
def wall_display(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    context = _today_context(session, scope, canteen_id, now, request_language(request))
    context["refresh_seconds"] = WALL_REFRESH_SECONDS
    context.update(_month_waste(session, context))
    # Lines the app adds under the figures (the meal's clean plates scanned, canteen.points): (key, text) each.
    context["wall_lines"] = [line for provide in getattr(request.app.state, "wall_lines", ())
                             for line in provide(request, session, context["canteen"], now)]
    return render(request, "weighing/wall.html", context)


def _history_range(canteen: Canteen, now: datetime, start: date | None, end: date | None) -> tuple[date, date]:
    end = end or org_service.local_date(canteen, now)
    return start or end - timedelta(days=HISTORY_DAYS - 1), end


def _history_frame(session: Session, scope: Scope, canteen_id: int, now: datetime, start: date | None,
                   end: date | None, meal: Meal | None) -> tuple[Canteen, date, date, pd.DataFrame]:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    start, end = _history_range(canteen, now, start, end)
    return canteen, start, end, service.daily_series(session, scope, canteen_id, start, end, now, meal)


def _points(values: pd.Series) -> list[float | None]:
    return [round(value, 1) if pd.notna(value) else None for value in values]


Start = Annotated[date | None, Query(alias="from")]
End = Annotated[date | None, Query(alias="to")]


@router.get("/canteens/{canteen_id}/history")
def history(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
            start: Start = None, end: End = None, meal: Meal | None = None) -> Response:
    canteen, start, end, frame = _history_frame(session, scope, canteen_id, now, start, end, meal)
    language = request_language(request)
    days = list(frame.index)
    per_diner = _points(frame["plate_waste_per_diner_g"])
    clean_rate = _points(frame["clean_plate_rate"] * 100)
    kitchen = _points(frame["kitchen_per_diner_g"])
    has_data = any(value is not None for value in per_diner + kitchen)
    waste_chart = charts.line_chart(days, {
        gettext("Plate waste per diner", language): per_diner,
        gettext("Kitchen waste per diner", language): kitchen,
    }, gettext("Waste per diner (g per meal)", language), gettext("grams", language),
        reference={gettext("Target", language): canteen.plate_waste_target_g}) if has_data else None
    clean_chart = charts.line_chart(days, {gettext("Clean-plate rate", language): clean_rate},
                                    gettext("Clean-plate rate (%)", language), "%") if has_data else None
    query = f"from={start}&to={end}" + (f"&meal={meal.value}" if meal else "")
    assert canteen.id is not None
    factors = costs_service.factors_of(session, [canteen.id])[canteen.id]
    valued = costs_service.valued_days(frame, factors)
    return render(request, "weighing/history.html", {
        "canteen": canteen, "start": start, "end": end, "meal": meal, "meals": list(Meal), "query": query,
        "rows": list(frame.iloc[::-1].iterrows()), "waste_chart": waste_chart, "clean_chart": clean_chart,
        "valued": valued, "valued_total": valued.sum(), "factors": factors, "stage_labels": STAGE_LABELS,
        "factor_sources": FACTOR_SOURCE_LABELS,
    })


@router.get("/canteens/{canteen_id}/history.csv")
def history_csv(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                start: Start = None, end: End = None, meal: Meal | None = None) -> Response:
    canteen, start, end, frame = _history_frame(session, scope, canteen_id, now, start, end, meal)
    table = spreadsheet(service.export_frame(frame), EXPORT_HEADERS, request_language(request))
    return csv_response(table, f"canteen-{canteen.id}-{start}-{end}.csv")


@router.get("/canteens/{canteen_id}/history.xlsx")
def history_xlsx(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                 start: Start = None, end: End = None, meal: Meal | None = None) -> Response:
    canteen, start, end, frame = _history_frame(session, scope, canteen_id, now, start, end, meal)
    language = request_language(request)
    table = spreadsheet(service.export_frame(frame), EXPORT_HEADERS, language)
    return xlsx_response(table, f"canteen-{canteen.id}-{start}-{end}.xlsx", gettext("Daily figures", language))


# ---- hand entry ------------------------------------------------------------------


class KitchenForm(BaseModel):
    service_date: str = ""
    meal: str = ""
    category: str = ""
    grams: str = ""
    note: str = ""
    corrects: str = ""


class _Corrects(BaseModel):
    corrects: int | None = None


class DinerCountForm(BaseModel):
    service_date: str = ""
    meal: str = ""
    diners: str = ""


def _records_page(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                  kitchen_form: KitchenForm | None = None, count_form: DinerCountForm | None = None,
                  error: CanteenError | None = None) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    today = org_service.local_date(canteen, now)
    start = today - timedelta(days=KITCHEN_LIST_DAYS - 1)
    records = service.kitchen_records(session, scope, canteen_id, start, today)
    return render_form(request, "weighing/records.html", {
        "canteen": canteen, "records": records, "counts": service.diner_counts(session, scope, canteen_id, start,
                                                                                today),
        "can_record": may_operate(scope, canteen_id),
        "kitchen_form": kitchen_form or KitchenForm(service_date=today.isoformat()),
        "count_form": count_form or DinerCountForm(service_date=today.isoformat()),
        "meals": list(Meal), "categories": CLASSIFIED_CATEGORIES, "category_labels": CATEGORY_LABELS,
        "kitchen_stations": [station for station in org_service.list_stations(session, scope, canteen_id)
                             if station.kind is StationKind.kitchen],
        "zone": ZoneInfo(canteen.timezone),
    }, error)


@router.get("/canteens/{canteen_id}/records")
def records_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    return _records_page(request, session, scope, canteen_id, now)


@router.post("/canteens/{canteen_id}/kitchen-waste", dependencies=[CsrfChecked])
def add_kitchen_waste(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                      form: Annotated[KitchenForm, Form()]) -> Response:
    try:
        entry = validate_form(KitchenEntry, service_date=form.service_date, meal=form.meal, category=form.category,
                              grams=form.grams, note=form.note)
        corrects = validate_form(_Corrects, corrects=form.corrects or None).corrects
        service.record_kitchen_waste(session, scope, canteen_id, entry, now, corrects)
    except CanteenError as error:
        session.rollback()
        return _records_page(request, session, scope, canteen_id, now, kitchen_form=form, error=error)
    session.commit()
    return RedirectResponse(f"/canteens/{canteen_id}/records", status_code=303)


@router.post("/canteens/{canteen_id}/diner-counts", dependencies=[CsrfChecked])
def add_diner_count(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                    form: Annotated[DinerCountForm, Form()]) -> Response:
    try:
        entry = validate_form(DinerCountEntry, service_date=form.service_date, meal=form.meal, diners=form.diners)
        service.record_diner_count(session, scope, canteen_id, entry, now)
    except CanteenError as error:
        session.rollback()
        return _records_page(request, session, scope, canteen_id, now, count_form=form, error=error)
    session.commit()
    return RedirectResponse(f"/canteens/{canteen_id}/records", status_code=303)
