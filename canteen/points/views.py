"""光盘打卡 pages: a bureau's points rules and its canteens' totals, a canteen's attributed plates of a day (its
operators'), the diner's own plates and points, and the wall display's clean plates of the meal."""
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from canteen.access import Scope
from canteen.bounds import Day, Id
from canteen.errors import CanteenError
from canteen.i18n import gettext
from canteen.org import service as org_service
from canteen.org.models import Canteen
from canteen.points import service
from canteen.points.models import PointsRuleCreate
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form, server_today, validate_form
from canteen.web.navigation import MODE_LABELS
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)

# The diner's page reads again this often, so a plate just returned shows within seconds.
MY_REFRESH_SECONDS = 15


class RuleForm(BaseModel):
    applies_from: str = ""
    clean_plate_points: str = ""
    daily_cap: str = ""
    streak_days: str = "0"
    streak_bonus: str = "0"

    def rule(self) -> PointsRuleCreate:
        return validate_form(PointsRuleCreate, **{name: value.strip() for name, value in self.model_dump().items()})


def _rules_page(request: Request, session: Session, scope: Scope, bureau_id: int, now: datetime,
                form: RuleForm | None = None, error: CanteenError | None = None) -> Response:
    rules = service.list_rules(session, scope, bureau_id)
    bureau = org_service.get_bureau(session, scope, bureau_id)
    today = server_today(request, now)
    month = today.replace(day=1)
    return render_form(request, "points/rules.html", {
        "bureau": bureau, "rules": rules, "in_force": service.rule_in_force(session, scope, bureau_id, today),
        "today": today, "month": month, "totals": service.bureau_points(session, scope, bureau_id, month, today),
        "form": form or RuleForm(applies_from=today.isoformat()),
    }, error)


@router.get("/bureaus/{bureau_id}/points-rules")
def rules_page(bureau_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    return _rules_page(request, session, scope, bureau_id, now)


@router.post("/bureaus/{bureau_id}/points-rules", dependencies=[CsrfChecked])
def add_rule(bureau_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
             form: Annotated[RuleForm, Form()]) -> Response:
    try:
        service.create_rule(session, scope, bureau_id, form.rule(), server_today(request, now), now)
    except CanteenError as error:
        session.rollback()
        return _rules_page(request, session, scope, bureau_id, now, form, error)
    session.commit()
    return RedirectResponse(f"/bureaus/{bureau_id}/points-rules", status_code=303)


@router.get("/canteens/{canteen_id}/plates")
def plates_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                day: Annotated[Day | None, Query(alias="date")] = None) -> Response:
    """The day's plates with the diners who returned them, for the canteen's operators."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    found = service.canteen_plates(session, scope, canteen_id, day or org_service.local_date(canteen, now))
    return render(request, "points/plates.html", {
        "canteen": canteen, "found": found, "zone": ZoneInfo(canteen.timezone),
        "clean_count": sum(plate.clean for plate, _, _ in found.plates),
    })


@router.get("/me/points")
def my_points_page(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    """The diner's own plates today (read again every few seconds), the month's record and their points."""
    mine = service.my_points(session, scope, now)
    return render(request, "points/me.html", {
        "mine": mine, "zone": ZoneInfo(mine.canteen.timezone), "refresh_seconds": MY_REFRESH_SECONDS,
    })


def wall_lines(request: Request, session: Session, canteen: Canteen, now: datetime) -> list[tuple[str, str]]:
    """The wall display's line for the meal being served: its clean plates scanned so far, no names (installed by
    the app as one of the wall's providers, canteen.weighing.views)."""
    counted = service.meal_clean_plates(session, canteen, now)
    if counted is None:
        return []
    meal, count = counted
    language = request_language(request)
    return [("meal-clean-plates", gettext("Clean plates scanned at {meal} so far: {count}", language).format(
        meal=gettext(MODE_LABELS[meal.value], language), count=count))]
