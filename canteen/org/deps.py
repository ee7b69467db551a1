"""The station a request comes from, by its key (`Authorization: Bearer stk_…`)."""
from fastapi import Request

from canteen.errors import Unauthorized
from canteen.org.models import Station
from canteen.org.service import STATION_KEY_PREFIX, station_for_key
from canteen.web.deps import DbSession, bearer


def api_station(request: Request, session: DbSession) -> Station:
    token = bearer(request)
    station = station_for_key(session, token) if token.startswith(STATION_KEY_PREFIX) else None
    if station is None:
        raise Unauthorized("unknown or revoked station key", field="authorization")
    return station
