from fastapi import APIRouter

from canteen.bounds import Id
from canteen.web.deps import ApiScope, DbSession, Now
from canteen.weighing.costs import service
from canteen.weighing.costs.models import FactorsRead, FactorsUpdate

router = APIRouter(prefix="/api/v1", tags=["weighing"])


@router.get("/canteens/{canteen_id}/waste-factors", response_model=FactorsRead)
def canteen_factors(canteen_id: Id, scope: ApiScope, session: DbSession) -> FactorsRead:
    """The price per kg of each stage, and the CO2e and water per kg, in force for the canteen, each with its
    source: the canteen's own, a bureau's default, or the built-in default and the publication behind it."""
    return service.canteen_factors(session, scope, canteen_id)


@router.put("/canteens/{canteen_id}/waste-factors", response_model=FactorsRead)
def set_canteen_factors(canteen_id: Id, body: FactorsUpdate, scope: ApiScope, session: DbSession,
                        now: Now) -> FactorsRead:
    """Replace the canteen's own factors; what it leaves out (or sets null) it inherits."""
    factors = service.set_canteen_factors(session, scope, canteen_id, body, now)
    session.commit()
    return factors


@router.get("/bureaus/{bureau_id}/waste-factors", response_model=FactorsRead)
def bureau_factors(bureau_id: Id, scope: ApiScope, session: DbSession) -> FactorsRead:
    """The defaults the bureau's canteens inherit."""
    return service.bureau_factors(session, scope, bureau_id)


@router.put("/bureaus/{bureau_id}/waste-factors", response_model=FactorsRead)
def set_bureau_factors(bureau_id: Id, body: FactorsUpdate, scope: ApiScope, session: DbSession,
                       now: Now) -> FactorsRead:
    """Replace the defaults the bureau gives its canteens (a canteen's own factors still come first)."""
    factors = service.set_bureau_factors(session, scope, bureau_id, body, now)
    session.commit()
    return factors
