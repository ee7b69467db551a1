"""FastAPI dependencies: database session, clock, who is asking, and CSRF."""
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlmodel import Session

from canteen.auth import service
from canteen.auth.models import User
from canteen.auth.scope import Scope
from canteen.errors import Forbidden, Unauthorized
from canteen.org.models import Station
from canteen.org.service import station_for_key
from canteen.security import same_secret

SESSION_COOKIE = "canteen_session"
CSRF_COOKIE = "canteen_csrf"
LANGUAGE_COOKIE = "canteen_lang"
STATION_KEY_PREFIX = "stk_"


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_now(request: Request) -> datetime:
    return request.app.state.clock()


DbSession = Annotated[Session, Depends(get_session)]
Now = Annotated[datetime, Depends(get_now)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("missing bearer token", field="authorization")
    return credentials.strip()


def api_user(request: Request, session: DbSession, now: Now) -> User:
    token = _bearer(request)
    if token.startswith(STATION_KEY_PREFIX):
        raise Unauthorized("a station key only works for its own station's endpoints", field="authorization")
    user = service.user_for_api_token(session, token, now)
    if user is None:
        raise Unauthorized("unknown or expired token", field="authorization")
    return user


def api_scope(session: DbSession, user: Annotated[User, Depends(api_user)]) -> Scope:
    return service.scope_for(session, user)


def api_station(request: Request, session: DbSession) -> Station:
    token = _bearer(request)
    station = station_for_key(session, token) if token.startswith(STATION_KEY_PREFIX) else None
    if station is None:
        raise Unauthorized("unknown or revoked station key", field="authorization")
    return station


def page_user(request: Request, session: DbSession, now: Now) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    user = service.user_for_session(session, token, now) if token else None
    if user is not None:
        # Detached, so the layout can still show it after a view's rollback or commit.
        session.expunge(user)
    request.state.user = user
    return user


def signed_in_user(user: Annotated[User | None, Depends(page_user)]) -> User:
    if user is None:
        raise LoginRequired()
    return user


def page_scope(session: DbSession, user: Annotated[User, Depends(signed_in_user)]) -> Scope:
    return service.scope_for(session, user)


def csrf_protect(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Double-submit check: the form's hidden token must equal the CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not csrf_token or not same_secret(cookie, csrf_token):
        raise Forbidden("the form has expired or did not come from this site; reload the page and try again",
                        field="csrf_token")


ApiScope = Annotated[Scope, Depends(api_scope)]
PageScope = Annotated[Scope, Depends(page_scope)]
PageUser = Annotated[User, Depends(signed_in_user)]
CsrfChecked = Depends(csrf_protect)
