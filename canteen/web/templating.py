"""One Jinja2 environment over every package's templates, with per-request language and CSRF token."""
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from canteen.i18n import accepted_language, gettext, pick_language
from canteen.web.deps import CSRF_COOKIE, LANGUAGE_COOKIE, csrf_token
from canteen.web.navigation import MODE_LABELS, NAVIGATION, ROLE_LABELS

PACKAGE_DIR = Path(__file__).parent.parent
templates = Jinja2Templates(directory=sorted(str(path) for path in PACKAGE_DIR.glob("*/templates")))


def request_language(request: Request) -> str:
    return pick_language(request.cookies.get(LANGUAGE_COOKIE), request.app.state.settings.language)


def api_language(request: Request) -> str:
    """An API client's language: the one its Accept-Language prefers, else the page language's rule."""
    return accepted_language(request.headers.get("accept-language")) or request_language(request)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    language = request_language(request)
    token, new_pre_session = csrf_token(request)
    user = getattr(request.state, "user", None)
    response = templates.TemplateResponse(request, name, {
        "_": lambda message: gettext(message, language),
        "language": language,
        "csrf_token": token,
        "user": user,
        "navigation": NAVIGATION.get(user.role, []) if user else [],
        "role_labels": ROLE_LABELS,
        "mode_labels": MODE_LABELS,
        # What the app adds to every page (the calendar banner): each provider gets the request and the user.
        **{key: value for provide in getattr(request.app.state, "page_context", ())
           for key, value in provide(request, user).items()},
        **(context or {}),
    }, status_code=status_code)
    if new_pre_session is not None:
        response.set_cookie(CSRF_COOKIE, new_pre_session, httponly=True, samesite="strict",
                            secure=request.app.state.settings.secure_cookies)
    return response


def _number(value: float | None, digits: int = 1) -> str:
    """A figure for people: no data shows as a dash, never as zero or NaN."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "–"
    return f"{value:,.{digits}f}"


def _percent(value: float | None, digits: int = 1) -> str:
    text = _number(None if value is None else value * 100, digits)
    return text if text == "–" else f"{text}%"


def _signed_percent(value: float | None) -> str:
    text = _percent(value)
    return text if text == "–" or text.startswith("-") else f"+{text}"


templates.env.filters.update(number=_number, percent=_percent, signed_percent=_signed_percent)
