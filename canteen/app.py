import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from canteen import db, metrics
from canteen.admin import views as admin_views
from canteen.assessment import bureau_views as assessment_bureau_views
from canteen.assessment import router as assessment_router
from canteen.assessment import views as assessment_views
from canteen.assessment.bulletins import public_views as assessment_public_views
from canteen.assessment.bulletins import views as assessment_bulletin_views
from canteen.auth import router as auth_router
from canteen.auth import views as auth_views
from canteen.auth.deps import SESSION_COOKIE, AccountAuthenticator
from canteen.calendar import views as calendar_views
from canteen.config import Settings, get_settings, require_secret_key
from canteen.errors import CanteenError, Unauthorized
from canteen.i18n import N_, error_text, gettext, validation_error
from canteen.jobs import scheduler
from canteen.kitchen.dishes import router as dishes_router
from canteen.kitchen.dishes import views as dishes_views
from canteen.kitchen.ledger import router as ledger_router
from canteen.kitchen.ledger import views as ledger_views
from canteen.kitchen.terminal import router as terminal_router
from canteen.kitchen.terminal import views as terminal_views
from canteen.org import router as org_router
from canteen.org import views as org_views
from canteen.points import export_router as points_export_router
from canteen.points import router as points_router
from canteen.points import service as points_service
from canteen.points import settings_views as points_settings_views
from canteen.points import views as points_views
from canteen.reservation import kitchen_views as reservation_kitchen_views
from canteen.reservation import router as reservation_router
from canteen.reservation import views as reservation_views
from canteen.web import api_docs
from canteen.web import headers as security_headers
from canteen.web import metrics as web_metrics
from canteen.web.body_limit import BodyLimit
from canteen.web.deps import LoginRequired
from canteen.web.headers import SecurityHeaders
from canteen.web.nul_guard import NulGuard
from canteen.web.templating import api_language, render, request_language
from canteen.weighing import router as weighing_router
from canteen.weighing import views as weighing_views
from canteen.weighing.costs import router as costs_router
from canteen.weighing.costs import views as costs_views

STATIC_DIR = Path(__file__).parent / "web" / "static"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# Error pages: a title per status, and for errors without a message of their own (an unknown address,
# a method the page does not take) a message too.
ERROR_TITLES = {400: N_("Bad request"), 401: N_("Please sign in"), 403: N_("Access denied"), 404: N_("Not found"),
                405: N_("Not allowed"), 409: N_("Conflict"), 413: N_("Too large"), 422: N_("Invalid input"),
                429: N_("Too many requests"), 500: N_("Server error")}
ERROR_MESSAGES = {404: N_("There is no such page or record, or it is not yours to see."),
                  405: N_("This page cannot be used that way; go back and use its own buttons."),
                  500: N_("Something went wrong on the server. Try again later.")}
REQUEST_REFUSED = N_("Request refused")


def _error_page(request: Request, message: str, status_code: int) -> Response:
    title = ERROR_TITLES.get(status_code, REQUEST_REFUSED)
    return render(request, "error.html", {"title": title, "message": message}, status_code=status_code)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utc_now, *,
               demo: bool = False) -> FastAPI:
    """The app; it refuses the default CANTEEN_SECRET_KEY unless it serves the demo (create_demo_app)."""
    settings = settings or get_settings()
    if not demo:
        require_secret_key(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        background = scheduler.start(settings.database_url, settings.timezone) if settings.scheduler else None
        try:
            yield
        finally:
            if background is not None:
                background.shutdown(wait=False)
            metrics.worker_stopped(os.getpid())

    app = FastAPI(title="canteen", version="0.1.0", docs_url=None, openapi_url="/api/openapi.json",
                  redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.database_url)
    app.state.read_engine = db.read_engine(settings.database_replica_url, app.state.engine)
    app.state.clock = clock
    app.state.authenticator = AccountAuthenticator()
    app.state.session_cookie = SESSION_COOKIE  # CSRF tokens are bound to it (canteen.web.deps)
    app.state.page_context = [calendar_views.calendar_banner]
    # The clean-plate points, which canteen.weighing does not import: plates attributed as they are stored, and
    # the meal's clean plates on the wall display.
    app.state.ingest_hooks = (points_service.attribute_plates,)
    app.state.wall_lines = (points_views.wall_lines,)

    app.include_router(auth_router.router)
    app.include_router(org_router.router)
    app.include_router(weighing_router.router)
    app.include_router(costs_router.router)
    app.include_router(ledger_router.router)
    app.include_router(terminal_router.router)
    app.include_router(dishes_router.router)
    app.include_router(reservation_router.router)
    app.include_router(assessment_router.router)
    app.include_router(points_export_router.router)
    app.include_router(points_router.router)
    app.include_router(auth_views.router)
    app.include_router(org_views.router)
    app.include_router(admin_views.router)
    app.include_router(calendar_views.router)
    app.include_router(weighing_views.router)
    app.include_router(costs_views.router)
    app.include_router(ledger_views.router)
    app.include_router(terminal_views.router)
    app.include_router(dishes_views.router)
    app.include_router(reservation_views.router)
    app.include_router(reservation_kitchen_views.router)
    app.include_router(assessment_views.router)
    app.include_router(assessment_bureau_views.router)
    app.include_router(assessment_bulletin_views.router)
    app.include_router(assessment_public_views.router)
    app.include_router(points_settings_views.router)
    app.include_router(points_views.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api_docs.install(app)  # /api/docs with Swagger UI's assets from the package, not a CDN
    # Added before BodyLimit, so inside it: reads only capped bodies. The station batch refuses a NUL item by item.
    app.add_middleware(NulGuard, per_item_paths=frozenset({"/api/v1/weighings"}))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    # Swagger UI starts from an inline script of FastAPI's own making: the one page whose inline script is allowed.
    app.add_middleware(SecurityHeaders, hashed_paths=["/api/docs"])
    web_metrics.install(app)  # /metrics, and request timing around everything above

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        """503 unless the database answers and its schema is at the head: a server without its tables answers
        every page with an error, so a load balancer should not send it anyone."""
        try:
            schema = db.schema_state(app.state.engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        body = {"status": "ok" if schema.ok else "error", "database": "ok", "schema": schema.state,
                "head": schema.head, "current": schema.current}
        return JSONResponse(body, status_code=200 if schema.ok else 503)

    @app.exception_handler(CanteenError)
    def domain_error(request: Request, error: CanteenError) -> Response:
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
            detail = [{"loc": ["body", error.field] if error.field else ["body"],
                       "msg": error_text(error, api_language(request)), "type": type(error).__name__}]
            return JSONResponse({"detail": detail}, status_code=error.status_code, headers=headers)
        return _error_page(request, error_text(error, request_language(request)), error.status_code)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, error: RequestValidationError) -> Response:
        """FastAPI's own checks (path, query, form and JSON body) in the catalogue's words, one per problem
        for the API (FastAPI's shape, loc and type kept), the first one on an error page."""
        # loc starts with where the value came from ("body", "query", "path"), which people need not read.
        problems = [(details, validation_error(details, loc=details["loc"][1:])) for details in error.errors()]
        if _is_api(request):
            language = api_language(request)
            detail = [{"loc": list(details["loc"]), "msg": error_text(problem, language), "type": details["type"]}
                      for details, problem in problems]
            return JSONResponse({"detail": detail}, status_code=422)
        return _error_page(request, error_text(problems[0][1], request_language(request)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        """Starlette's own refusals (no such route, wrong method) as error pages; the API keeps FastAPI's JSON."""
        if _is_api(request) or error.status_code not in ERROR_MESSAGES:
            return await http_exception_handler(request, error)
        return _error_page(request, gettext(ERROR_MESSAGES[error.status_code], request_language(request)),
                           error.status_code)

    @app.exception_handler(Exception)
    def server_error(request: Request, _error: Exception) -> Response:
        """An unexpected error: a page in the UI language (the error itself still reaches the server's log)."""
        if _is_api(request):
            message = gettext(ERROR_MESSAGES[500], api_language(request))
            response: Response = JSONResponse({"detail": [{"loc": [], "msg": message, "type": "ServerError"}]},
                                              status_code=500)
        else:
            response = _error_page(request, gettext(ERROR_MESSAGES[500], request_language(request)), 500)
        security_headers.add_to(response.headers)
        return response

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, _error: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    return app


def create_demo_app() -> FastAPI:
    """The app as `canteen demo` serves it: the default secret key is allowed (a demo on one machine)."""
    return create_app(demo=True)
