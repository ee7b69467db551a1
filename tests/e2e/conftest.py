"""Real-browser tests: the app served by uvicorn in a thread, driven by Debian's Chromium through Playwright.

Browser tests run on SQLite only (a fresh temporary database per test), not on the SQLite/PostgreSQL
parametrized fixtures of tests/conftest.py. Chromium and the CJK font come from
scripts/install-system-deps.sh (`make system-deps`); Playwright's own browser download is not used.
"""
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy.engine import Engine

from canteen import db, demo
from canteen.app import create_app
from canteen.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium keeps calling home, which on a closed network only produces noise and delays.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAUNCH_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
SERVER_START_TIMEOUT_S = 15.0


@dataclass
class LiveServer:
    url: str
    engine: Engine  # the test's own engine on the server's database, for seeding and checking


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Starts the app on a fresh migrated SQLite database: `live_server_factory(seed=..., clock=...)`.

    `seed(engine)` runs before the server starts; the server reads the database on every request, so
    tests may also write through `.engine` later. `clock` is passed to `create_app`.
    """
    started: list[tuple[uvicorn.Server, threading.Thread, object, Engine]] = []

    def start(seed: Callable[[Engine], object] | None = None,
              clock: Callable[[], datetime] | None = None) -> LiveServer:
        database_url = f"sqlite:///{tmp_path / f'live{len(started)}.db'}"
        engine = db.make_engine(database_url)
        db.upgrade(engine)
        if seed is not None:
            seed(engine)
        settings = Settings(database_url=database_url, secret_key="e2e-secret", language="zh_CN")
        app = create_app(settings, clock=clock) if clock is not None else create_app(settings)
        # Binding the socket here (port 0) leaves no window for another process to take the port.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                timeout_graceful_shutdown=5))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}",
                                  daemon=True)
        thread.start()
        started.append((server, thread, app, engine))
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the live server stopped while starting (see the captured log)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live server did not start within {SERVER_START_TIMEOUT_S} s")
            time.sleep(0.02)
        return LiveServer(url=f"http://127.0.0.1:{port}", engine=engine)

    yield start

    for server, thread, app, engine in reversed(started):
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
        engine.dispose()
        assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture
def live_server(live_server_factory, clock) -> LiveServer:
    """An empty migrated database served on the test clock (tests/conftest.py's settable `clock`)."""
    return live_server_factory(clock=clock)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (installs Debian's chromium)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             timeout=LAUNCH_TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def demo_server(live_server_factory, clock) -> LiveServer:
    """The demo province with a day of weighing history, served on the test clock."""
    def seed(engine):
        with db.session_scope(engine) as session:
            demo.seed(session, clock(), history_days=1)

    return live_server_factory(seed=seed, clock=clock)


# A Monday morning late in November: last month (2026-10) is over, its scorecards and draft bulletins exist.
OCTOBER_DONE = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def demo_with_october(live_server_factory, clock) -> LiveServer:
    """The demo province on the morning of 2026-11-23, with two days of weighing history."""
    clock.now = OCTOBER_DONE

    def seed(engine):
        with db.session_scope(engine) as session:
            demo.seed(session, clock(), history_days=2)

    return live_server_factory(seed=seed, clock=clock)
