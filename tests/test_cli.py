"""The `canteen` command: records added from the shell, one-line errors for every user mistake, demo and serve."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from canteen import cli, db, demo
from canteen.access import Role
from canteen.auth import service as auth_service
from canteen.auth.models import User, UserRead
from canteen.logs import uvicorn_config
from canteen.models import metadata
from canteen.org import service as org_service
from canteen.org.deps import keyed_station
from canteen.org.models import Bureau, BureauLevel, BureauRead, Canteen, CanteenRead, StationWithKey

PASSWORD = "correct-horse-battery"
CANTEEN_SCRIPT = Path(sys.executable).parent / "canteen"


def canteen(database_url: str, *args: str, input: str | None = None, **env: str) -> Result:
    environment = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "en", "CANTEEN_SECRET_KEY": "test-secret",
                   **env}
    return CliRunner().invoke(cli.app, list(args), input=input, env=environment)


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return result.stdout


def one_json_object(result: Result) -> dict:
    lines = succeeded(result).splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {table.name: session.exec(select(func.count()).select_from(table)).one()
                for table in metadata.sorted_tables}


def assert_user_mistake(result: Result, expected: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def uvicorn_runs(monkeypatch) -> list[tuple[tuple, dict]]:
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


# ---- adding records ----------------------------------------------------------


def test_add_bureau(database_url, engine):
    province = one_json_object(canteen(database_url, "org", "add-bureau", "--name", "江西省机关事务管理局", "--json"))
    assert set(province) == set(BureauRead.model_fields)
    assert province["level"] == "province" and province["parent_id"] is None

    output = succeeded(canteen(database_url, "org", "add-bureau", "--name", "南昌市机关事务管理局",
                               "--parent", str(province["id"])))
    assert "南昌市机关事务管理局" in output and len(output.splitlines()) == 1

    with Session(engine) as session:
        city = session.exec(select(Bureau).where(Bureau.name == "南昌市机关事务管理局")).one()
        assert (city.parent_id, city.level) == (province["id"], BureauLevel.city)
        assert session.get(Bureau, province["id"]).name == "江西省机关事务管理局"


def test_add_canteen(database_url, engine, org):
    created = one_json_object(canteen(
        database_url, "org", "add-canteen", "--bureau", str(org.k1), "--name", "某县人民医院职工食堂",
        "--serving-mode", "set-meal", "--operating-mode", "outsourced", "--timezone", "Asia/Urumqi",
        "--seats", "240", "--json"))
    assert set(created) == set(CanteenRead.model_fields)
    assert (created["serving_mode"], created["operating_mode"], created["timezone"], created["seats"]) == (
        "set-meal", "outsourced", "Asia/Urumqi", 240)
    assert len(created["meal_windows"]) == 3

    output = succeeded(canteen(database_url, "org", "add-canteen", "--bureau", str(org.k1), "--name", "县一中食堂"))
    assert "县一中食堂" in output

    with Session(engine) as session:
        assert org_service.canteen_read(session, session.get(Canteen, created["id"])).model_dump(mode="json") == created
        plain = session.exec(select(Canteen).where(Canteen.name == "县一中食堂")).one()
        assert (plain.serving_mode, plain.timezone) == ("buffet", "Asia/Shanghai")


def test_add_station_prints_a_working_key(database_url, engine, org):
    created = one_json_object(canteen(
        database_url, "station", "add", "--canteen", str(org.canteens["a"]), "--name", "后厨秤",
        "--kind", "kitchen", "--protocol", "mt-sics", "--baudrate", "19200", "--parity", "E", "--bytesize", "7",
        "--stopbits", "2", "--capacity-g", "150000", "--json"))
    assert set(created) == set(StationWithKey.model_fields)
    assert (created["kind"], created["protocol"], created["baudrate"], created["parity"], created["bytesize"],
            created["stopbits"], created["capacity_g"]) == ("kitchen", "mt-sics", 19200, "E", 7, 2, 150000)

    output = succeeded(canteen(database_url, "station", "add", "--canteen", str(org.canteens["a"]),
                               "--name", "回收台2"))
    [key] = re.findall(r"Station key: (\S+)", output)
    assert "not shown again" in output

    with Session(engine) as session:
        assert keyed_station(session, created["key"])[0].id == created["id"]
        assert keyed_station(session, key)[0].name == "回收台2"


def test_add_user(database_url, engine, org, clock):
    operator = one_json_object(canteen(
        database_url, "user", "add", "--username", "operator_ah", "--role", "operator", "--password", PASSWORD,
        "--display-name", "王芳", "--canteen", str(org.canteens["a"]), "--canteen", str(org.canteens["h"]), "--json"))
    assert set(operator) == set(UserRead.model_fields)
    assert operator["canteen_ids"] == sorted([org.canteens["a"], org.canteens["h"]])
    assert operator["display_name"] == "王芳"

    # Without --password and without a terminal, the password is the first line of standard input.
    output = succeeded(canteen(database_url, "user", "add", "--username", "bureau_k1", "--role", "bureau",
                               "--bureau", str(org.k1), input=f"{PASSWORD}\n"))
    assert "bureau_k1" in output

    with Session(engine) as session:
        for username, role in (("operator_ah", Role.operator), ("bureau_k1", Role.bureau)):
            user = auth_service.authenticate(session, username, PASSWORD, "test", clock(), auth_service.Throttle())
            assert user.role is role
        assert session.exec(select(User).where(User.username == "bureau_k1")).one().bureau_id == org.k1


# ---- user mistakes -----------------------------------------------------------

MISTAKES = [
    (["org", "add-bureau", "--name", "P省机关事务管理局"], "name: a bureau named 'P省机关事务管理局' already exists"),
    (["org", "add-bureau", "--name", "X", "--parent", "999"], "parent_id: parent bureau 999 does not exist"),
    (["org", "add-bureau", "--name", "X", "--parent", "{k1}"], "parent_id: a county bureau cannot have sub-bureaus"),
    (["org", "add-bureau", "--name", "X", "--level", "town"], "'--level'"),
    (["org", "add-bureau", "--name", ""], "name: String should have at least 1 character"),
    (["org", "add-canteen", "--bureau", "999", "--name", "X"], "bureau_id: bureau 999 does not exist"),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "食堂A"], "name: this bureau already has a canteen"),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "X", "--timezone", "Mars/Base"], "timezone: unknown"),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "X", "--seats", "-1"], "seats: "),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "X", "--serving-mode", "cafeteria"], "'--serving-mode'"),
    (["station", "add", "--canteen", "999", "--name", "X"], "canteen_id: canteen 999 does not exist"),
    (["station", "add", "--canteen", "{a}", "--name", "回收台1"], "name: this canteen already has a station"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--protocol", "morse"], "protocol: unknown scale protocol"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--stopbits", "3"], "stopbits: "),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--parity", "Q"], "'--parity'"),
    (["user", "add", "--username", "admin", "--role", "admin", "--password", PASSWORD], "username: the username"),
    (["user", "add", "--username", "newbie", "--role", "bureau", "--password", PASSWORD], "bureau_id: "),
    (["user", "add", "--username", "newbie", "--role", "operator", "--password", PASSWORD], "canteen_ids: "),
    (["user", "add", "--username", "newbie", "--role", "diner", "--password", PASSWORD, "--canteen", "999"],
     "canteen_ids: canteen 999 does not exist"),
    (["user", "add", "--username", "newbie", "--role", "admin", "--password", "short"], "password: "),
    (["user", "add", "--username", "new bie", "--role", "admin", "--password", PASSWORD], "username: "),
    (["user", "add", "--username", "newbie", "--role", "chef", "--password", PASSWORD], "'--role'"),
    (["user", "add", "--username", "newbie", "--role", "admin"], "password: "),  # empty standard input
]


@pytest.mark.parametrize(("args", "expected"), MISTAKES, ids=lambda value: " ".join(value)
                         if isinstance(value, list) else None)
def test_user_mistake_is_one_line_and_changes_nothing(database_url, engine, org, args, expected):
    before = row_counts(engine)
    values = {"k1": org.k1, "a": org.canteens["a"]}
    result = canteen(database_url, *[arg.format(**values) for arg in args], input="")
    assert_user_mistake(result, expected)
    assert row_counts(engine) == before


@pytest.mark.parametrize(("env", "expected"), [
    ({"CANTEEN_TIMEZONE": "Mars/Base"}, "CANTEEN_TIMEZONE: unknown timezone 'Mars/Base'"),
    ({"CANTEEN_LANGUAGE": "fr"}, "CANTEEN_LANGUAGE: language must be one of"),
    ({"CANTEEN_SESSION_HOURS": "soon"}, "CANTEEN_SESSION_HOURS: "),
])
@pytest.mark.parametrize("args", [["org", "add-bureau", "--name", "X"], ["db", "upgrade"], ["serve"], ["demo"]])
def test_invalid_settings(tmp_path, uvicorn_runs, env, expected, args):
    assert_user_mistake(canteen(f"sqlite:///{tmp_path / 'canteen.db'}", *args, **env), expected)


@pytest.mark.parametrize(("url", "expected"), [
    ("nonsense", "database_url: database URL 'nonsense' is not a valid URL"),
    ("mysql://root@localhost/canteen", "database_url: database URL must start with"),
    (f"postgresql+psycopg://canteen@127.0.0.1:{free_port()}/canteen", "database: cannot use the database"),
])
@pytest.mark.parametrize("args", [["org", "add-bureau", "--name", "X"], ["db", "upgrade"], ["serve"]])
def test_bad_database_url(uvicorn_runs, url, expected, args):
    assert_user_mistake(canteen(url, *args), expected)


# ---- migrations --------------------------------------------------------------


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on the same backend as database_url."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"fresh_{uuid.uuid4().hex}"
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def test_db_upgrade_creates_the_schema_once(empty_database_url):
    assert_user_mistake(canteen(empty_database_url, "org", "add-bureau", "--name", "X"), "canteen db upgrade")

    assert "up to date" in succeeded(canteen(empty_database_url, "db", "upgrade"))
    assert "up to date" in succeeded(canteen(empty_database_url, "db", "upgrade"))

    engine = create_engine(empty_database_url)
    try:
        assert {table.name for table in metadata.sorted_tables} < set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    one_json_object(canteen(empty_database_url, "org", "add-bureau", "--name", "X", "--json"))


# ---- serving -----------------------------------------------------------------


def test_serve_runs_the_app_factory(database_url, engine, uvicorn_runs):
    succeeded(canteen(database_url, "serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "3"))
    assert uvicorn_runs == [(("canteen.app:create_app",), {"factory": True, "host": "0.0.0.0", "port": 8123,
                                                           "workers": 3, "log_config": uvicorn_config("text"),
                                                           "timeout_graceful_shutdown": 10})]


def test_serve_refuses_a_database_without_the_schema(empty_database_url, uvicorn_runs):
    assert_user_mistake(canteen(empty_database_url, "serve"),
                        "database: the database has no canteen tables yet; run `canteen db upgrade`")
    assert uvicorn_runs == []


def test_serve_refuses_a_schema_behind_the_head_and_serves_once_upgraded(empty_database_url, engine, uvicorn_runs):
    head = db.schema_state(engine).head
    fresh = db.make_engine(empty_database_url)
    try:
        db.upgrade(fresh, "0001")
    finally:
        fresh.dispose()
    assert_user_mistake(canteen(empty_database_url, "serve"),
                        f"database: the database schema is at revision 0001, behind this version's {head}; run "
                        "`canteen db upgrade`")
    assert uvicorn_runs == []
    succeeded(canteen(empty_database_url, "db", "upgrade"))
    succeeded(canteen(empty_database_url, "serve"))
    assert len(uvicorn_runs) == 1


def test_serve_refuses_a_schema_it_does_not_know(empty_database_url, uvicorn_runs):
    fresh = create_engine(empty_database_url)
    try:
        with fresh.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    finally:
        fresh.dispose()
    assert_user_mistake(canteen(empty_database_url, "serve"),
                        "database: the database schema is at revision 9999_from_the_future, which this version "
                        "does not know")
    assert uvicorn_runs == []


def test_serve_refuses_a_schema_less_database_in_chinese(empty_database_url, uvicorn_runs):
    result = canteen(empty_database_url, "serve", CANTEEN_LANGUAGE="zh_CN")
    assert result.exit_code == 2
    assert result.stderr == "error: database: 数据库中还没有系统数据表；请先运行 `canteen db upgrade`\n"


def test_demo_seeds_once_and_prints_the_logins(database_url, engine, uvicorn_runs):
    first = succeeded(canteen(database_url, "demo", "--history-days", "1", "--no-scales"))
    counts = row_counts(engine)
    second = succeeded(canteen(database_url, "demo", "--port", "8001", "--history-days", "1", "--no-scales"))

    assert row_counts(engine) == counts
    assert counts["canteen"] == len(demo.CANTEENS)
    for login in demo.LOGINS:
        assert re.search(rf"{login.username}\s+{login.password}\s+{login.role.value}\s+\S", first)
    assert "http://127.0.0.1:8000" in first and "http://127.0.0.1:8001" in second
    assert "already present" in second
    assert [kwargs["port"] for _args, kwargs in uvicorn_runs] == [8000, 8001]
    # The demo's own factory: the default CANTEEN_SECRET_KEY is allowed there, and only there.
    assert {args for args, _kwargs in uvicorn_runs} == {("canteen.app:create_demo_app",)}


def test_console_script_reports_a_mistake_in_one_line(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'canteen.db'}"
    succeeded(canteen(database_url, "db", "upgrade"))
    result = subprocess.run([str(CANTEEN_SCRIPT), "org", "add-canteen", "--bureau", "999", "--name", "X"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "CANTEEN_DATABASE_URL": database_url})
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: bureau_id: ")
    assert "Traceback" not in result.stderr


def test_demo_serves_and_a_printed_login_works(tmp_path):
    # Each step waits for what marks it (a line the demo writes, a gateway's log, the demo's exit), never for a
    # fixed time; the demo's output is read as it comes, so a full pipe can never stall it. startup_s only bounds
    # a demo that hangs: migrating, seeding and starting a dozen gateways takes ~10 s on an idle machine and
    # several times that on a loaded one, so the bound is far above either.
    startup_s = 300
    port = free_port()
    env = {**os.environ, "CANTEEN_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "CANTEEN_LANGUAGE": "en"}
    process = subprocess.Popen([str(CANTEEN_SCRIPT), "demo", "--port", str(port), "--history-days", "1"], env=env,
                               cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output: dict[str, list[str]] = {"stdout": [], "stderr": []}
    serving_or_gone = threading.Event()

    def drain(name: str) -> None:
        for line in getattr(process, name):
            output[name].append(line)
            if "Uvicorn running on" in line:
                serving_or_gone.set()
        serving_or_gone.set()  # end of the output: the demo has exited

    readers = [threading.Thread(target=drain, args=(name,), daemon=True) for name in output]
    for reader in readers:
        reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        assert serving_or_gone.wait(startup_s) and process.poll() is None, output
        assert httpx.get(f"{base}/healthz", timeout=startup_s).status_code == 200
        logs = tmp_path / "var" / "demo-scales"
        deadline = time.monotonic() + startup_s
        while sum("gateway started" in log.read_text() for log in logs.glob("gateway-*.log")) < len(demo.CANTEENS):
            assert process.poll() is None, output
            assert time.monotonic() < deadline, "the demo's gateways did not start"
            time.sleep(0.2)
        login = demo.LOGINS[1]
        response = httpx.post(f"{base}/api/v1/auth/token", json={"username": login.username,
                                                                  "password": login.password}, timeout=startup_s)
        assert response.status_code == 200, response.text
    finally:
        process.terminate()
        process.wait(timeout=startup_s)
        for reader in readers:
            reader.join(timeout=startup_s)
    stdout = "".join(output["stdout"])
    assert base in stdout
    for login in demo.LOGINS:
        assert f"{login.username} " in stdout and login.password in stdout
    # The demo ends as SIGTERM asks, and only once the gateway it ran per plate-return station has exited.
    assert process.returncode == -signal.SIGTERM, output["stderr"][-20:]
    outlived = subprocess.run(["pgrep", "-a", "-f", str(tmp_path / "var")], capture_output=True, text=True).stdout
    assert outlived == "", f"the demo's gateways outlived it: {outlived}"


def test_forecast_backtest_is_a_canteen_command(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("date,meal,booked,served\n2026-01-05,lunch,120,abc\n", encoding="utf-8")
    result = canteen("sqlite://", "forecast", "backtest", "--history", str(history))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {history}: line 2: served 'abc' is not a whole number of diners"


# ---- the secret key ----------------------------------------------------------


@pytest.mark.parametrize("key", ["change-me-in-production", "", "  "])
def test_serve_refuses_the_default_secret_key(database_url, engine, uvicorn_runs, key):
    result = canteen(database_url, "serve", CANTEEN_SECRET_KEY=key)
    assert_user_mistake(result, "error: CANTEEN_SECRET_KEY is empty or the default, which only serves the demo")
    assert uvicorn_runs == []


def test_demo_serves_with_the_default_secret_key(database_url, engine, uvicorn_runs):
    succeeded(canteen(database_url, "demo", "--history-days", "0", "--no-scales",
                      CANTEEN_SECRET_KEY="change-me-in-production"))
    assert [args for args, _kwargs in uvicorn_runs] == [("canteen.app:create_demo_app",)]


# ---- the demo and a database that holds other data ----------------------------


def test_demo_refuses_a_database_with_other_data_and_leaves_it_untouched(database_url, engine, org, uvicorn_runs):
    before = row_counts(engine)
    result = canteen(database_url, "demo", "--history-days", "1", "--no-scales")
    assert_user_mistake(result, "database: ")
    assert "--force" in result.stderr and "CANTEEN_DATABASE_URL" in result.stderr
    assert row_counts(engine) == before
    assert uvicorn_runs == []


def test_demo_refuses_a_database_holding_only_a_bureau(tmp_path, uvicorn_runs):
    database_url = f"sqlite:///{tmp_path / 'canteen.db'}"
    succeeded(canteen(database_url, "db", "upgrade"))  # the official calendar alone is not data
    succeeded(canteen(database_url, "org", "add-bureau", "--name", "某省机关事务管理局"))
    engine = create_engine(database_url)
    try:
        before = row_counts(engine)
        assert_user_mistake(canteen(database_url, "demo", "--history-days", "0", "--no-scales"), "--force")
        assert row_counts(engine) == before
    finally:
        engine.dispose()
    assert uvicorn_runs == []


def test_demo_force_adds_the_demo_beside_other_data(tmp_path, uvicorn_runs):
    database_url = f"sqlite:///{tmp_path / 'canteen.db'}"
    succeeded(canteen(database_url, "db", "upgrade"))
    succeeded(canteen(database_url, "org", "add-bureau", "--name", "某省机关事务管理局"))
    output = succeeded(canteen(database_url, "demo", "--history-days", "0", "--no-scales", "--force"))
    assert "Demo data created." in output
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            names = set(session.exec(select(Bureau.name)))
        assert {"某省机关事务管理局", demo.PROVINCE} <= names
        # Now it has the demo province and its admin: the demo's own, reused without --force.
        counts = row_counts(engine)
        assert "already present" in succeeded(canteen(database_url, "demo", "--history-days", "0", "--no-scales"))
        assert row_counts(engine) == counts
    finally:
        engine.dispose()
    assert len(uvicorn_runs) == 2


def test_demo_database_whose_admin_password_changed_is_not_the_demos_any_more(database_url, engine, uvicorn_runs):
    succeeded(canteen(database_url, "demo", "--history-days", "0", "--no-scales"))
    with Session(engine) as session:
        admin = session.exec(select(User).where(User.username == "admin")).one()
        admin.password_hash = auth_service.password_hasher().hash("a-password-of-its-own")
        session.add(admin)
        session.commit()
    before = row_counts(engine)
    assert_user_mistake(canteen(database_url, "demo", "--history-days", "0", "--no-scales"), "--force")
    assert row_counts(engine) == before
    assert len(uvicorn_runs) == 1


def test_demo_history_days_default_is_the_demos():
    assert cli.DEMO_HISTORY_DAYS == demo.HISTORY_DAYS


# ---- what `canteen --help` loads ---------------------------------------------

# The server, the database layer, the demo and the data libraries: only the commands that use them import them.
HEAVY_PACKAGES = ("fastapi", "starlette", "uvicorn", "sqlmodel", "sqlalchemy", "alembic", "pandas", "matplotlib",
                  "statsmodels", "scipy", "numpy", "playwright", "apscheduler")
HEAVY_MODULES = ("canteen.app", "canteen.db", "canteen.demo")
PROBE = """
import atexit, json, sys
from pathlib import Path
listing = Path(sys.argv[1])
atexit.register(lambda: listing.write_text(json.dumps(sorted(sys.modules))))
sys.argv = ["canteen", *sys.argv[2:]]
from canteen import cli
cli.main()
"""


def loaded_modules(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Runs `canteen ARGS` in a fresh interpreter and lists the modules it had loaded when it exited."""
    listing = tmp_path / "modules.json"
    result = subprocess.run([sys.executable, "-c", PROBE, str(listing), *args], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "CANTEEN_LANGUAGE": "en"}, cwd=tmp_path)
    return result, json.loads(listing.read_text())


def heavy(modules: list[str]) -> list[str]:
    return [name for name in modules if name.split(".")[0] in HEAVY_PACKAGES
            or any(name == module or name.startswith(module + ".") for module in HEAVY_MODULES)]


@pytest.mark.parametrize("args", [
    ["--help"], ["gateway", "--help"], ["scale", "--help"], ["demo", "--help"], ["serve", "--help"],
    ["assess", "score", "--help"], ["forecast", "backtest", "--help"], ["jobs", "--help"],
    ["calendar", "show", "--help"], ["station", "add", "--help"], ["user", "add", "--help"],
], ids=" ".join)
def test_help_imports_neither_the_server_nor_the_data_libraries(tmp_path, args):
    result, modules = loaded_modules(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert heavy(modules) == []
    assert "canteen.cli" in modules  # the probe ran the real command


def test_probe_sees_the_heavy_modules_of_a_command_that_needs_them(tmp_path):
    result, modules = loaded_modules(tmp_path, "db", "upgrade")  # a fresh SQLite under tmp_path/var
    assert result.returncode == 0, result.stderr
    assert {"sqlalchemy", "alembic", "canteen.db"} <= set(heavy(modules))


def test_a_mistake_before_the_database_is_loaded_is_still_one_line(tmp_path):
    result, modules = loaded_modules(tmp_path, "scale", "decode", "--protocol", "morse", os.devnull)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: unknown scale protocol 'morse'")
    assert "sqlalchemy" not in modules


def test_console_script_help_works():
    result = subprocess.run([str(CANTEEN_SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "gateway" in result.stdout and "serve" in result.stdout

