from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from canteen.auth import service
from canteen.auth.deps import SESSION_COOKIE
from canteen.config import LANGUAGES
from canteen.errors import TooManyAttempts, Unauthorized
from canteen.i18n import error_text
from canteen.web.client import client_address
from canteen.web.deps import CSRF_COOKIE, LANGUAGE_COOKIE, CsrfChecked, DbSession, Now
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)


def _local_path(target: str) -> str:
    """Only same-site paths are followed after sign-in, never another host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "auth/login.html", {"next": _local_path(next), "username": "", "error": None})


@router.post("/login", dependencies=[CsrfChecked])
def login(request: Request, session: DbSession, now: Now, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=128)], next: Annotated[str, Form()] = "/") -> Response:
    settings = request.app.state.settings
    try:
        user = service.authenticate(session, username, password, client_address(request, settings.trusted_proxies),
                                    now, service.Throttle.of(settings))
    except (Unauthorized, TooManyAttempts) as error:
        context = {"next": _local_path(next), "username": username,
                   "error": error_text(error, request_language(request))}
        return render(request, "auth/login.html", context, status_code=error.status_code)
    lifetime = timedelta(hours=settings.session_hours)
    token = service.start_web_session(session, user, now, lifetime)
    session.commit()
    response = RedirectResponse(_local_path(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="lax", secure=settings.secure_cookies)
    # The pre-session cookie the sign-in form's token was made from is spent: after signing out, a new one.
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: DbSession) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_web_session(session, token)
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{language}")
def switch_language(language: str, next: str = "/") -> Response:
    response = RedirectResponse(_local_path(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax")
    return response
