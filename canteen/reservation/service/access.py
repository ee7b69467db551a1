"""Whose canteen a scope may read, operate or book at."""
from zoneinfo import ZoneInfo

from sqlmodel import Session

from canteen.access import Role, Scope, may_operate
from canteen.errors import Forbidden
from canteen.org import service as org_service
from canteen.org.models import Canteen


def diner_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    """The caller's own canteen, for a diner; everyone else is refused."""
    if scope.role is not Role.diner:
        raise Forbidden("only diners can book meals")
    canteen = session.get(Canteen, canteen_id) if canteen_id in scope.canteen_ids else None
    if canteen is None:
        raise Forbidden("you are not a diner of this canteen", field="canteen_id")
    return canteen


def readable_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    if scope.role is Role.diner:
        return diner_canteen(session, scope, canteen_id)
    return org_service.get_canteen(session, scope, canteen_id)


def operated_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("only the canteen's operators may do this")
    return canteen


def zone_of(canteen: Canteen) -> ZoneInfo:
    return ZoneInfo(canteen.timezone)
