"""Every `canteen` command against hostile input: one `error:` line and exit code 2 (or the command's own 1),
never a traceback.

The table runs in-process through typer's CliRunner; a few cases run the console script in a subprocess to
show that nothing but the one line reaches a terminal. A case that ends in "internal error" (exit 1) is a bug
that the central handler in canteen/cli.py caught: the tests fail on it as on a traceback.
"""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from canteen import bounds, cli, cli_bounds

CANTEEN_SCRIPT = Path(sys.executable).parent / "canteen"
HUGE = str(2**70)
PASSWORD = "correct-horse-battery"


def run(database_url: str, *args: str, **env: str) -> Result:
    environment = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "en", "CANTEEN_SECRET_KEY": "test-secret",
                   "CANTEEN_DEBUG": "", **env}
    return CliRunner().invoke(cli.app, list(args), input="", env=environment)


def assert_refused(result: Result, expected: str = "", exit_code: int = 2) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exit_code == exit_code, (result.exit_code, output, result.exception)
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("error: "), output
    assert "internal error" not in result.stderr, output
    assert expected in result.stderr, output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Hostile files: missing, a directory, binary noise, empty, NUL bytes, one very long line, deep JSON."""
    paths = {
        "missing": tmp_path / "missing.csv",
        "directory": tmp_path / "folder",
        "binary": tmp_path / "noise.bin",
        "empty": tmp_path / "empty.csv",
        "nul": tmp_path / "nul.csv",
        "long": tmp_path / "long.csv",
        "deep": tmp_path / "deep.json",
    }
    paths["directory"].mkdir()
    paths["binary"].write_bytes(bytes(range(256)) * 64)
    paths["empty"].write_bytes(b"")
    paths["nul"].write_bytes(b"date,meal,booked,served\n2025-03-03,lunch,1\x000,10\n\x00\x00\x00\n")
    paths["long"].write_text("x" * 1_000_000)
    paths["deep"].write_text("[" * 100_000 + "]" * 100_000)
    return {name: str(path) for name, path in paths.items()}


def history(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "history.csv"
    path.write_text("date,meal,booked,served\n" + "".join(f"{row}\n" for row in rows))
    return str(path)


def test_the_cli_bounds_are_the_apis():
    assert (cli_bounds.MAX_ID, cli_bounds.MAX_COUNT) == (bounds.MAX_ID, bounds.MAX_COUNT)


# ---- files handed to a command ---------------------------------------------------------------------------------

FILE_COMMANDS = [
    ["assess", "score", "--input", "{file}"],
    ["assess", "score", "--input", "{ok_json}", "--standard", "{file}"],
    ["forecast", "backtest", "--history", "{file}"],
    ["calendar", "import", "{file}"],
    ["scale", "decode", "--protocol", "toledo-continuous", "{file}"],
]
FILE_KINDS = ["missing", "directory", "binary", "empty", "nul", "long", "deep"]


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("args", FILE_COMMANDS, ids=lambda args: " ".join(args[:2]) + (" --standard"
                                                                                      if "--standard" in args else ""))
def test_a_hostile_file_is_one_line(database_url, engine, files, tmp_path, args, kind):
    ok_json = tmp_path / "ok.json"
    ok_json.write_text("{}")
    values = {"file": files[kind], "ok_json": str(ok_json)}
    result = run(database_url, *[arg.format(**values) for arg in args])
    if args[0] == "scale" and kind in ("binary", "empty", "nul", "long", "deep") and result.exit_code == 0:
        return  # bytes that hold no frame decode to no reading: not an error for a capture
    assert_refused(result)


# ---- numbers, dates and text out of range ----------------------------------------------------------------------

ARGUMENT_CASES = [
    # ids of 2^70, 0 and negative wherever an id is taken
    (["org", "add-bureau", "--name", "X", "--parent", HUGE], "'--parent'"),
    (["org", "add-bureau", "--name", "X", "--parent", "0"], "'--parent'"),
    (["org", "add-bureau", "--name", "X", "--parent", "-5"], "'--parent'"),
    (["org", "add-canteen", "--bureau", HUGE, "--name", "X"], "'--bureau'"),
    (["org", "add-canteen", "--bureau", "-1", "--name", "X"], "'--bureau'"),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "X", "--seats", HUGE], "seats"),
    (["station", "add", "--canteen", HUGE, "--name", "X"], "'--canteen'"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--baudrate", HUGE], "baudrate"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--bytesize", HUGE], "bytesize"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--capacity-g", HUGE], "capacity_g"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--stopbits", "1e308"], "stopbits"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--stopbits", "nan"], "stopbits"),
    (["user", "add", "--username", "newbie", "--role", "diner", "--password", PASSWORD, "--canteen", HUGE],
     "'--canteen'"),
    (["user", "add", "--username", "newbie", "--role", "bureau", "--password", PASSWORD, "--bureau", HUGE],
     "'--bureau'"),
    (["forecast", "backtest", "--canteen", HUGE], "'--canteen'"),
    (["forecast", "backtest", "--canteen", "0"], "'--canteen'"),
    (["forecast", "backtest", "--canteen", "999999"], ""),
    (["forecast", "backtest", "--canteen", "{a}", "--days-before", HUGE], "'--days-before'"),
    (["forecast", "backtest", "--canteen", "{a}", "--cutoff", "25:99"], "--cutoff"),
    (["calendar", "show", "--year", HUGE], "'--year'"),
    (["calendar", "show", "--year", "0"], "'--year'"),
    (["calendar", "show", "--year", "2199"], "2199"),
    (["calendar", "check", "--year", "-2025"], "'--year'"),
    (["assess", "run", "--period", "9999-12"], "period"),
    (["assess", "run", "--period", "9999-Q4"], "period"),
    (["assess", "run", "--period", "0001-01"], "period"),
    (["assess", "run", "--period", HUGE + "-01"], "period"),
    (["assess", "run", "--period", ""], "period"),
    (["jobs", "run", ""], "unknown job"),
    (["jobs", "run", "x" * 10_000], "unknown job"),
    # empty and very long text, NUL bytes
    (["org", "add-bureau", "--name", ""], "name"),
    (["org", "add-bureau", "--name", "局" * 100_000], "name"),
    (["org", "add-bureau", "--name", "a\x00b"], "NUL"),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "X", "--timezone", "x" * 10_000], "timezone"),
    (["org", "add-canteen", "--bureau", "{k1}", "--name", "X", "--timezone", "../../etc/passwd"], "timezone"),
    (["station", "add", "--canteen", "{a}", "--name", "X", "--protocol", ""], "protocol"),
    (["user", "add", "--username", "u" * 10_000, "--role", "admin", "--password", PASSWORD], "username"),
    (["user", "add", "--username", "newbie", "--role", "admin", "--password", "p" * 1_000_000], "password"),
    (["user", "add", "--username", "newbie", "--role", "admin", "--password", "a\x00" * 20], "NUL"),
    (["serve", "--port", HUGE], "'--port'"),
    (["serve", "--workers", "0"], "'--workers'"),
    (["demo", "--history-days", HUGE], "'--history-days'"),
    (["demo", "--speed", "1e30"], "'--speed'"),
    (["scale", "decode", "--protocol", "", os.devnull], "protocol"),
]


@pytest.mark.parametrize(("args", "expected"), ARGUMENT_CASES,
                         ids=lambda value: " ".join(value)[:60] if isinstance(value, list) else None)
def test_an_argument_out_of_range_is_one_line(database_url, engine, org, args, expected):
    values = {"k1": org.k1, "a": org.canteens["a"]}
    assert_refused(run(database_url, *[arg.format(**values) for arg in args]), expected)


HISTORY_CASES = [
    ("9999-12-31,lunch,10,10", "line 2: date '9999-12-31' is outside 1900–2200"),
    ("0001-01-01,lunch,10,10", "line 2: date '0001-01-01' is outside 1900–2200"),
    ("2262-04-12,lunch,10,10", "outside 1900–2200"),
    ("2025-03-03,lunch,1000000000000000000000000000000,10", "booked 1000000000000000000000000000000 is more than"),
    ("2025-03-03,lunch,10," + "9" * 5000, "served 999"),
    ("2025-03-03,lunch,-1,10", "booked '-1' is not a whole number"),
]


@pytest.mark.parametrize(("row", "expected"), HISTORY_CASES, ids=lambda value: value[:40])
def test_a_history_out_of_range_is_one_line(tmp_path, row, expected):
    assert_refused(run(f"sqlite:///{tmp_path / 'unused.db'}", "forecast", "backtest", "--history",
                       history(tmp_path, row)), expected)


def test_a_history_at_the_edges_of_its_range_is_read(tmp_path):
    # The same meal a week apart at each end of the range: two meals scored, with bookings equal to the count.
    path = history(tmp_path, "1900-01-01,lunch,10,10", "1900-01-08,lunch,10,10",
                   "2200-12-24,lunch,10,10", "2200-12-31,lunch,10,10")
    result = run(f"sqlite:///{tmp_path / 'unused.db'}", "forecast", "backtest", "--history", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 2


def test_deeply_nested_json_to_assess_score_is_one_line(files):
    assert_refused(run("sqlite://", "assess", "score", "--input", files["deep"]), "nested too deeply")


# ---- the database URL and the file behind it -------------------------------------------------------------------

DATABASE_COMMANDS = [["db", "upgrade"], ["jobs", "list"], ["jobs", "run", "rollups"], ["serve"],
                     ["org", "add-bureau", "--name", "X"], ["calendar", "show", "--year", "2025"],
                     ["forecast", "backtest", "--canteen", "1"], ["assess", "run", "--period", "2026-10"]]


def hostile_database(tmp_path: Path, kind: str) -> str:
    """A database URL that cannot be used, of the kind named."""
    if kind == "not sqlite":
        (tmp_path / "noise.db").write_bytes(bytes(range(256)) * 64)
        return f"sqlite:///{tmp_path / 'noise.db'}"
    if kind == "text file":
        (tmp_path / "notes.db").write_text("SQLite format 3? no: shopping list\n" * 100)
        return f"sqlite:///{tmp_path / 'notes.db'}"
    if kind == "directory":
        return f"sqlite:///{tmp_path}"
    if kind == "parent is a file":
        (tmp_path / "file").write_text("")
        return f"sqlite:///{tmp_path / 'file' / 'canteen.db'}"
    if kind == "read-only":
        path = tmp_path / "readonly.db"
        path.write_bytes(b"")
        path.chmod(stat.S_IRUSR)
        return f"sqlite:///{path}"
    return {
        "empty": "",
        "garbled": "::::",
        "unknown scheme": "oracle://scott:tiger@localhost/orcl",
        "http": "http://127.0.0.1/canteen",
        "no driver": "postgresql+nodriver://localhost/canteen",
        "port out of range": "postgresql+psycopg://canteen@127.0.0.1:99999/canteen",
        "port not a number": "postgresql+psycopg://canteen@127.0.0.1:port/canteen",
        "very long": "sqlite:///" + "x" * 100_000,
    }[kind]


DATABASE_KINDS = ["not sqlite", "text file", "directory", "parent is a file", "read-only", "empty", "garbled",
                  "unknown scheme", "http", "no driver", "port out of range", "port not a number", "very long"]


@pytest.mark.parametrize("kind", DATABASE_KINDS)
@pytest.mark.parametrize("args", DATABASE_COMMANDS, ids=" ".join)
def test_a_database_that_cannot_be_used_is_one_line(tmp_path, monkeypatch, args, kind):
    if kind == "read-only" and os.geteuid() == 0 and args == ["db", "upgrade"]:
        # root writes a read-only file all the same; the schema check below still refuses to serve it.
        pytest.skip("root ignores file permissions")
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: pytest.fail("serve started"))
    assert_refused(run(hostile_database(tmp_path, kind), *args))


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("CANTEEN_TIMEZONE", "x" * 10_000, "CANTEEN_TIMEZONE: unknown timezone"),  # longer than a file name may be
    ("CANTEEN_TIMEZONE", "../../../etc/passwd", "CANTEEN_TIMEZONE: unknown timezone"),
    ("CANTEEN_SESSION_HOURS", HUGE + "x", "CANTEEN_SESSION_HOURS"),
    ("CANTEEN_SESSION_HOURS", str(10**21), "CANTEEN_SESSION_HOURS: Input should be less than or equal to 8784"),
    ("CANTEEN_MAX_BODY_BYTES", "0", "CANTEEN_MAX_BODY_BYTES: Input should be greater than 0"),
    ("CANTEEN_LANGUAGE", "x" * 10_000, "CANTEEN_LANGUAGE: language must be one of"),
])
@pytest.mark.parametrize("args", [["org", "add-bureau", "--name", "X"], ["serve"], ["jobs", "list"]], ids=" ".join)
def test_a_hostile_setting_is_one_line(tmp_path, monkeypatch, variable, value, expected, args):
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: pytest.fail("serve started"))
    assert_refused(run(f"sqlite:///{tmp_path / 'canteen.db'}", *args, **{variable: value}), expected)


def test_the_not_sqlite_file_is_named_as_such(tmp_path):
    assert_refused(run(hostile_database(tmp_path, "not sqlite"), "db", "upgrade"),
                   "database: the file is not an SQLite database")


def test_the_not_sqlite_file_is_left_as_it_was(tmp_path):
    url = hostile_database(tmp_path, "not sqlite")
    before = (tmp_path / "noise.db").read_bytes()
    run(url, "db", "upgrade")
    assert (tmp_path / "noise.db").read_bytes() == before


# ---- the central handler ---------------------------------------------------------------------------------------


@pytest.fixture
def broken_command(monkeypatch):
    """`jobs list` with a bug in it: what a user would meet if the code, not the input, were wrong."""
    def bug(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("canteen.jobs.service.runs", bug)


def test_an_unexpected_error_is_one_line_naming_its_traceback_file(tmp_path, broken_command):
    result = run(f"sqlite:///{tmp_path / 'canteen.db'}", "jobs", "list")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: internal error (KeyError: 'a bug'); the traceback is in ")
    log = Path(line.split("the traceback is in ")[1].split(",")[0])
    try:
        assert "Traceback" in log.read_text() and "KeyError: 'a bug'" in log.read_text()
    finally:
        log.unlink()
    assert "Traceback" not in result.stdout + result.stderr


def test_canteen_debug_lets_the_traceback_through(tmp_path, broken_command):
    result = run(f"sqlite:///{tmp_path / 'canteen.db'}", "jobs", "list", CANTEEN_DEBUG="1")
    assert isinstance(result.exception, KeyError)


def test_the_internal_error_line_is_translated(tmp_path, broken_command):
    result = run(f"sqlite:///{tmp_path / 'canteen.db'}", "jobs", "list", CANTEEN_LANGUAGE="zh_CN")
    [line] = result.stderr.splitlines()
    assert line.startswith("error: 内部错误（KeyError: 'a bug'）")
    Path(line.split("错误记录在 ")[1].split("，")[0]).unlink()


# ---- the console script: what a terminal shows -----------------------------------------------------------------


@pytest.mark.parametrize("case", ["deep json", "year 9999", "huge id", "not sqlite", "jobs list not sqlite"])
def test_the_console_script_prints_one_line_and_no_traceback(tmp_path, files, case):
    environment = {**os.environ, "CANTEEN_LANGUAGE": "en", "CANTEEN_SECRET_KEY": "test-secret",
                   "CANTEEN_DATABASE_URL": f"sqlite:///{tmp_path / 'canteen.db'}"}
    environment.pop("CANTEEN_DEBUG", None)
    args = {
        "deep json": ["assess", "score", "--input", files["deep"]],
        "year 9999": ["forecast", "backtest", "--history", history(tmp_path, "9999-12-31,lunch,10,10")],
        "huge id": ["org", "add-bureau", "--name", "X", "--parent", HUGE],
        "not sqlite": ["db", "upgrade"],
        "jobs list not sqlite": ["jobs", "list"],
    }[case]
    if "sqlite" in case:
        environment["CANTEEN_DATABASE_URL"] = hostile_database(tmp_path, "not sqlite")
    result = subprocess.run([str(CANTEEN_SCRIPT), *args], capture_output=True, text=True, timeout=120,
                            env=environment, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
