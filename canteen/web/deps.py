"""FastAPI dependencies every page and endpoint shares: the database session, the clock, CSRF, and who is asking.

Who is asking is answered by the `Authenticator` the app factory puts in `app.state.authenticator` (the
accounts package provides it), so the domain packages depend on this module, not on auth.
"""
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Form, Request
from sqlmodel import Session

from canteen.access import Scope
from canteen.errors import Forbidden, Unauthorized
from canteen.security import same_secret

CSRF_COOKIE = "canteen_csrf"
LANGUAGE_COOKIE = "canteen_lang"


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


class Authenticator(Protocol):
    def api_scope(self, request: Request, session: Session, now: datetime) -> Scope:
        """The bearer token's scope; raises Unauthorized."""

    def page_scope(self, request: Request, session: Session, now: datetime) -> Scope:
        """The signed-in user's scope (setting `request.state.user` for the layout); raises LoginRequired."""

    def identify(self, request: Request, session: Session, now: datetime) -> None:
        """Sets `request.state.user` to the signed-in user, or None, for public pages' layout."""


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_now(request: Request) -> datetime:
    return request.app.state.clock()


DbSession = Annotated[Session, Depends(get_session)]
Now = Annotated[datetime, Depends(get_now)]


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("missing bearer token", field="authorization")
    return credentials.strip()


def _authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


def api_scope(request: Request, session: DbSession, now: Now) -> Scope:
    return _authenticator(request).api_scope(request, session, now)


def page_scope(request: Request, session: DbSession, now: Now) -> Scope:
    return _authenticator(request).page_scope(request, session, now)


def identify(request: Request, session: DbSession, now: Now) -> None:
    _authenticator(request).identify(request, session, now)


def csrf_protect(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Double-submit check: the form's hidden token must equal the CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not csrf_token or not same_secret(cookie, csrf_token):
        raise Forbidden("the form has expired or did not come from this site; reload the page and try again",
                        field="csrf_token")


ApiScope = Annotated[Scope, Depends(api_scope)]
PageScope = Annotated[Scope, Depends(page_scope)]
CsrfChecked = Depends(csrf_protect)
Identified = Depends(identify)  # public pages: the layout shows who is signed in, nobody has to be
