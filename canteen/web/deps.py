"""FastAPI dependencies every page and endpoint shares: the database session, the clock, CSRF, and who is asking.

Who is asking is answered by the `Authenticator` the app factory puts in `app.state.authenticator` (the
accounts package provides it), so the domain packages depend on this module, not on auth.
"""
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Form, Request
from sqlmodel import Session

from canteen.access import Scope
from canteen.errors import Forbidden, Unauthorized
from canteen.security import same_secret

# The pre-session cookie: a random value a CSRF token is bound to while nobody is signed in (the sign-in form).
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


def get_read_session(request: Request) -> Iterator[Session]:
    """A session on the read replica (CANTEEN_DATABASE_REPLICA_URL), or on the primary without one: for GET pages
    that only read, and can show data a moment old. Its transactions are read-only; who is asking (PageScope)
    is still answered from the primary, which keeps the sign-in's bookkeeping."""
    with Session(request.app.state.read_engine) as session:
        yield session


async def get_now(request: Request) -> datetime:
    """Async: reading the clock needs no thread of the pool."""
    return request.app.state.clock()


DbSession = Annotated[Session, Depends(get_session)]
ReadSession = Annotated[Session, Depends(get_read_session)]
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


def _csrf_binding(request: Request) -> str | None:
    """What a CSRF token is bound to: the web session's cookie once signed in, else the pre-session cookie.

    The session cookie's name comes from the app (`app.state.session_cookie`, set by the app factory from the
    accounts package), so this module need not know the accounts package."""
    session_cookie = request.cookies.get(request.app.state.session_cookie)
    if session_cookie:
        return "session:" + session_cookie
    pre_session = request.cookies.get(CSRF_COOKIE)
    return "anonymous:" + pre_session if pre_session else None


def _sign(request: Request, binding: str) -> str:
    secret = request.app.state.settings.secret_key.encode()
    return hmac.new(secret, b"canteen-csrf\x00" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> tuple[str, str | None]:
    """The token a page's forms carry, and a new pre-session cookie value to set when the request had none.

    The token is an HMAC of the server secret over the session it belongs to: a cookie an attacker plants
    is worthless without the secret, a token from another session does not fit this one, and signing in
    (a new session cookie) retires the token of the sign-in form."""
    binding = _csrf_binding(request)
    new_cookie = None
    if binding is None:
        new_cookie = secrets.token_urlsafe(32)
        binding = "anonymous:" + new_cookie
    return _sign(request, binding), new_cookie


def csrf_protect(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """The form's hidden token must be the one signed for this request's session (or pre-session cookie)."""
    binding = _csrf_binding(request)
    if binding is None or not csrf_token or not same_secret(_sign(request, binding), csrf_token):
        raise Forbidden("the form has expired or did not come from this site; reload the page and try again",
                        field="csrf_token")


ApiScope = Annotated[Scope, Depends(api_scope)]
PageScope = Annotated[Scope, Depends(page_scope)]
CsrfChecked = Depends(csrf_protect)
Identified = Depends(identify)  # public pages: the layout shows who is signed in, nobody has to be
