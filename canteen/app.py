from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from canteen import db
from canteen.admin import views as admin_views
from canteen.assessment import bureau_views as assessment_bureau_views
from canteen.assessment import router as assessment_router
from canteen.assessment import views as assessment_views
from canteen.assessment.bulletins import public_views as assessment_public_views
from canteen.assessment.bulletins import views as assessment_bulletin_views
from canteen.auth import router as auth_router
from canteen.auth import views as auth_views
from canteen.auth.deps import AccountAuthenticator
from canteen.calendar import views as calendar_views
from canteen.config import Settings, get_settings, require_secret_key
from canteen.errors import CanteenError, Unauthorized
from canteen.i18n import error_text
from canteen.jobs import scheduler
from canteen.org import router as org_router
from canteen.org import views as org_views
from canteen.reservation import kitchen_views as reservation_kitchen_views
from canteen.reservation import router as reservation_router
from canteen.reservation import views as reservation_views
from canteen.web.deps import LoginRequired
from canteen.web.templating import render, request_language
from canteen.weighing import router as weighing_router
from canteen.weighing import views as weighing_views

STATIC_DIR = Path(__file__).parent / "web" / "static"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


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

    app = FastAPI(title="canteen", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.database_url)
    app.state.clock = clock
    app.state.authenticator = AccountAuthenticator()
    app.state.page_context = [calendar_views.calendar_banner]

    app.include_router(auth_router.router)
    app.include_router(org_router.router)
    app.include_router(weighing_router.router)
    app.include_router(reservation_router.router)
    app.include_router(assessment_router.router)
    app.include_router(auth_views.router)
    app.include_router(org_views.router)
    app.include_router(admin_views.router)
    app.include_router(calendar_views.router)
    app.include_router(weighing_views.router)
    app.include_router(reservation_views.router)
    app.include_router(reservation_kitchen_views.router)
    app.include_router(assessment_views.router)
    app.include_router(assessment_bureau_views.router)
    app.include_router(assessment_bulletin_views.router)
    app.include_router(assessment_public_views.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        try:
            db.check_database(app.state.engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.exception_handler(CanteenError)
    def domain_error(request: Request, error: CanteenError) -> Response:
        message = error_text(error, request_language(request))
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
            detail = [{"loc": ["body", error.field] if error.field else ["body"], "msg": message,
                       "type": type(error).__name__}]
            return JSONResponse({"detail": detail}, status_code=error.status_code, headers=headers)
        return render(request, "error.html", {"message": message, "field": error.field},
                      status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if _is_api(request):
            return await request_validation_exception_handler(request, error)
        first = error.errors()[0]
        return render(request, "error.html", {"message": first["msg"], "field": first["loc"][-1]}, status_code=422)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, _error: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    return app


def create_demo_app() -> FastAPI:
    """The app as `canteen demo` serves it: the default secret key is allowed (a demo on one machine)."""
    return create_app(demo=True)
