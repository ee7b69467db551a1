from typing import Annotated

from fastapi import APIRouter, Query, Request

from canteen.bounds import Day, Id
from canteen.points import service
from canteen.points.models import (
    AttributedPlateRead,
    CanteenPlatesRead,
    CanteenPointsRead,
    MyDayRead,
    MyPlateRead,
    MyPointsRead,
    PointsRuleCreate,
    PointsRuleRead,
)
from canteen.web.deps import ApiScope, DbSession, Now
from canteen.web.forms import server_today

router = APIRouter(prefix="/api/v1", tags=["points"])


@router.get("/bureaus/{bureau_id}/points-rules", response_model=list[PointsRuleRead])
def rules(bureau_id: Id, scope: ApiScope, session: DbSession) -> list[PointsRuleRead]:
    """The bureau's own clean-plate points rules, the latest first."""
    return [PointsRuleRead.model_validate(rule) for rule in service.list_rules(session, scope, bureau_id)]


@router.post("/bureaus/{bureau_id}/points-rules", status_code=201, response_model=PointsRuleRead)
def add_rule(bureau_id: Id, body: PointsRuleCreate, request: Request, scope: ApiScope, session: DbSession,
             now: Now) -> PointsRuleRead:
    """A new rule for the canteens under the bureau from `applies_from` (today or later) on; the rules before it
    stay for the days before."""
    rule = service.create_rule(session, scope, bureau_id, body, server_today(request, now), now)
    stored = PointsRuleRead.model_validate(rule)  # before the commit expires it
    session.commit()
    return stored


@router.get("/bureaus/{bureau_id}/points-summary", response_model=list[CanteenPointsRead])
def summary(bureau_id: Id, scope: ApiScope, session: DbSession, start: Annotated[Day, Query(alias="from")],
            end: Annotated[Day, Query(alias="to")]) -> list[CanteenPointsRead]:
    """Per canteen under the bureau: diners with points, their plates, clean plates and points in the period."""
    return [CanteenPointsRead.model_validate(row)
            for row in service.bureau_points(session, scope, bureau_id, start, end)]


@router.get("/canteens/{canteen_id}/plates", response_model=CanteenPlatesRead)
def plates(canteen_id: Id, scope: ApiScope, session: DbSession,
           day: Annotated[Day, Query(alias="date")]) -> CanteenPlatesRead:
    """The day's plates attributed to diners, with their weights: for the canteen's operators only."""
    found = service.canteen_plates(session, scope, canteen_id, day)
    return CanteenPlatesRead(canteen_id=canteen_id, service_date=day, unknown_codes=found.unknown_codes, plates=[
        AttributedPlateRead(station_id=plate.station_id, seq=plate.seq, diner_id=plate.diner_id, diner=name,
                            meal=plate.meal, grams=plate.grams, clean=plate.clean, measured_at=plate.measured_at)
        for plate, name, _ in found.plates])


@router.get("/me/points", response_model=MyPointsRead)
def my_points(scope: ApiScope, session: DbSession, now: Now) -> MyPointsRead:
    """The diner's own plates today, the month's clean plates, their streak and points, and the last days'."""
    mine = service.my_points(session, scope, now)
    return MyPointsRead(service_date=mine.today, month_plates=mine.month_plates,
                        month_clean_plates=mine.month_clean, streak=mine.streak, month_points=mine.month_points,
                        total_points=mine.total_points,
                        plates_today=[MyPlateRead.model_validate(plate) for plate in mine.plates_today],
                        history=[MyDayRead.model_validate(day) for day in mine.history])
