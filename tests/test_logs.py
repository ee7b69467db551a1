"""CANTEEN_LOG_FORMAT=json: one JSON object a line, from the formatter and from a real `canteen scheduler`.

The server's JSON lines (uvicorn's and the access log) are checked where a real `canteen serve` runs:
tests/web/test_metrics.py.
"""
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from canteen import db
from canteen.logs import JsonFormatter, uvicorn_config
from tests.live import wait_for

BIN = Path(sys.executable).parent


def record(message: str, *args: object, exc_info=None, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("canteen.test", logging.WARNING, __file__, 1, message, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_a_record_is_one_json_line_with_its_extras():
    line = JsonFormatter().format(record("第 %d 行\nnext", 1, route="/api/v1/canteens/{canteen_id}/daily",
                                         status=200, duration_ms=1.5, at=Path("/tmp")))
    assert "\n" not in line
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "route", "status", "duration_ms", "at"}
    assert (entry["level"], entry["logger"], entry["message"]) == ("WARNING", "canteen.test", "第 1 行\nnext")
    assert (entry["route"], entry["status"], entry["duration_ms"], entry["at"]) == (
        "/api/v1/canteens/{canteen_id}/daily", 200, 1.5, "/tmp")
    assert entry["time"].endswith("+00:00")


def test_an_exception_is_kept_in_its_line():
    try:
        raise ValueError("boom")
    except ValueError:
        entry = json.loads(JsonFormatter().format(record("failed", exc_info=sys.exc_info())))
    assert entry["message"] == "failed"
    assert "ValueError: boom" in entry["exception"] and "Traceback" in entry["exception"]


def test_uvicorn_keeps_its_text_lines_and_gives_its_access_line_away_in_json():
    text, as_json = uvicorn_config("text"), uvicorn_config("json")
    assert text["loggers"]["uvicorn.access"]["handlers"] == ["access"]  # uvicorn's own access line
    assert text["loggers"]["canteen.access"]["level"] == "WARNING"
    assert as_json["loggers"]["uvicorn.access"]["level"] == "WARNING"
    assert as_json["loggers"]["canteen.access"]["level"] == "INFO"
    assert as_json["handlers"]["stderr"]["formatter"] == "canteen"


def test_the_scheduler_logs_json_lines(tmp_path):
    url = f"sqlite:///{tmp_path / 'canteen.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    env = {**os.environ, "CANTEEN_DATABASE_URL": url, "CANTEEN_LOG_FORMAT": "json"}
    process = subprocess.Popen([BIN / "canteen", "scheduler"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("Scheduler started" in line for line in lines) or process.poll() is not None, 120,
                 "the scheduler")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
    entries = [json.loads(line) for line in lines]
    started = [entry for entry in entries if entry["message"] == "Scheduler started"]
    assert started and started[0]["level"] == "INFO" and started[0]["logger"].startswith("apscheduler")
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
