"""The station a request comes from, by its key (`Authorization: Bearer stk_…`)."""
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam
from sqlmodel import Session, select

from canteen.errors import Unauthorized
from canteen.org.models import Canteen, Station
from canteen.org.service import STATION_KEY_PREFIX
from canteen.security import secret_hash
from canteen.web.deps import DbSession, bearer


async def station_key(request: Request) -> str:
    """The request's station key, refused at once when it cannot be one; async, as it needs no database."""
    token = bearer(request)
    if not token.startswith(STATION_KEY_PREFIX):
        raise Unauthorized("unknown or revoked station key", field="authorization")
    return token


# Built once: every weighing batch runs it.
_STATION_BY_KEY = (select(Station, Canteen).join(Canteen, Canteen.id == Station.canteen_id)  # type: ignore[arg-type]
                   .where(Station.key_hash == bindparam("key_hash")))


def keyed_station(session: Session, key: str) -> tuple[Station, Canteen]:
    """The active station of this key, and its canteen from the same query.

    The session keeps only weak references: while the caller holds the canteen, `session.get(Canteen, id)`
    finds it without a query."""
    found = session.exec(_STATION_BY_KEY, params={"key_hash": secret_hash(key)}).first()
    if found is None or not found[0].active:
        raise Unauthorized("unknown or revoked station key", field="authorization")
    return found[0], found[1]


StationKey = Annotated[str, Depends(station_key)]


def api_station(key: StationKey, session: DbSession) -> Station:
    return keyed_station(session, key)[0]
