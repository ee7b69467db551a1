"""Who is asking, for the accounts package: the user behind a bearer token or a session cookie, and the
`AccountAuthenticator` the app factory installs so that `canteen.web.deps` can answer for every package."""
from datetime import datetime

from fastapi import Request
from sqlmodel import Session

from canteen.access import Scope
from canteen.auth import service
from canteen.auth.models import User
from canteen.errors import Unauthorized
from canteen.org.service import STATION_KEY_PREFIX
from canteen.web.deps import LoginRequired, bearer

SESSION_COOKIE = "canteen_session"


def api_user(request: Request, session: Session, now: datetime) -> User:
    token = bearer(request)
    if token.startswith(STATION_KEY_PREFIX):
        raise Unauthorized("a station key only works for its own station's endpoints", field="authorization")
    user = service.user_for_api_token(session, token, now)
    if user is None:
        raise Unauthorized("unknown or expired token", field="authorization")
    return user


def page_user(request: Request, session: Session, now: datetime) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    user = service.user_for_session(session, token, now) if token else None
    if user is not None:
        # Detached, so the layout can still show it after a view's rollback or commit.
        session.expunge(user)
    request.state.user = user
    return user


class AccountAuthenticator:
    """Scopes from the accounts: API tokens, session cookies."""

    def api_scope(self, request: Request, session: Session, now: datetime) -> Scope:
        return service.scope_for(session, api_user(request, session, now))

    def page_scope(self, request: Request, session: Session, now: datetime) -> Scope:
        user = page_user(request, session, now)
        if user is None:
            raise LoginRequired()
        return service.scope_for(session, user)

    def identify(self, request: Request, session: Session, now: datetime) -> None:
        page_user(request, session, now)

