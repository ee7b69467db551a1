"""/metrics for Prometheus, and the middleware that times every request by its route and writes the access log.

Who may read /metrics: a request bearing CANTEEN_METRICS_TOKEN (`Authorization: Bearer …`) from anywhere;
without it, only a scraper on this machine: a loopback client that came through no reverse proxy (a proxy on
loopback that is not among CANTEEN_TRUSTED_PROXIES would otherwise make every visitor look local) or, through
trusted proxies, whose X-Forwarded-For address is loopback.
"""
import logging
import time
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canteen import metrics
from canteen.errors import Forbidden
from canteen.i18n import N_
from canteen.security import same_secret
from canteen.web.client import Network, client_address, is_trusted, parse_address

access_log = logging.getLogger("canteen.access")
METRICS_REFUSED = N_("Metrics are served only to this machine, or to a request bearing the metrics token.")
PROXY_HEADERS = ("forwarded", "x-real-ip")  # forwarding headers client_address does not read


def is_local(request: Request, trusted: Sequence[Network]) -> bool:
    """The request comes from this machine itself, not through a proxy from elsewhere."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    peer = parse_address(request.client.host) if request.client else None
    if "x-forwarded-for" in request.headers and (peer is None or not is_trusted(peer, trusted)):
        return False
    address = parse_address(client_address(request, trusted))
    return address is not None and address.is_loopback


def may_read_metrics(request: Request, token: str, trusted: Sequence[Network]) -> bool:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and same_secret(credentials.strip(), token):
        return True
    return is_local(request, trusted)


def route_template(scope: Scope) -> str:
    """The template of the route that took the request (`/api/v1/canteens/{canteen_id}/daily`), a mount's path
    for what a mount served (`/static`), else `unmatched`: never the raw path, whose values are unbounded."""
    route = scope.get("route")
    if route is not None and isinstance(getattr(route, "path", None), str):
        return str(route.path)
    app = scope.get("app")
    path = scope.get("path", "")
    for candidate in getattr(app, "routes", ()):
        if isinstance(candidate, Mount) and path.startswith(candidate.path + "/"):
            return candidate.path
    return metrics.UNMATCHED


class RequestMetrics:
    """Times each HTTP request from its arrival to the end of its answer; an error that escapes the app counts
    as a 500 (the server's outermost handler answers it so)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, seconds * 1000,
                                extra={"method": scope["method"], "route": route, "path": scope["path"],
                                       "status": status, "duration_ms": round(seconds * 1000, 3),
                                       "client": client[0] if client else None})


def install(app: FastAPI) -> None:
    """The /metrics route, the timing middleware (outermost of the app's own), and the pools' gauges."""
    metrics.watch_pool(app.state.engine, "primary")
    read_engine = getattr(app.state, "read_engine", app.state.engine)
    if read_engine is not app.state.engine:
        metrics.watch_pool(read_engine, "replica")

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        settings = request.app.state.settings
        if not may_read_metrics(request, settings.metrics_token, settings.trusted_proxies):
            raise Forbidden(METRICS_REFUSED)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app.add_middleware(RequestMetrics)
