"""Logging set-up for the server, the scheduler and the CLI: text lines, or one JSON object a line
(CANTEEN_LOG_FORMAT=json) for a log collector.

A JSON line has time (UTC, ISO 8601), level, logger and message, then the record's extras: the access log
(logger `canteen.access`, written by canteen/web/metrics.py) adds method, route, path, status, duration_ms and
client, and an error its exception's traceback. In JSON the access log is canteen's own, which knows the route
template and the duration; in text it stays uvicorn's familiar line.

Only the standard library is imported here: the CLI sets logging up before it knows which command runs.
"""
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
ACCESS_LOGGER = "canteen.access"
# What every LogRecord has: anything else on a record was passed as an extra. uvicorn's color_message is the
# message again, with terminal colours.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                               "color_message", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped by JSON itself)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _formatter(log_format: str) -> dict[str, Any]:
    if log_format == "json":
        return {"()": JsonFormatter}
    return {"format": TEXT_FORMAT}


def config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig for a process of ours: everything to stderr in the chosen format, at
    `level` and up; the access log stays quiet but in JSON (see the module's docstring)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"canteen": _formatter(log_format)},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "canteen",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {ACCESS_LOGGER: {"level": "INFO" if log_format == "json" else "WARNING"},
                    "alembic.runtime.plugins": {"level": "WARNING"}},  # a line per plugin whenever it is loaded
    }


def uvicorn_config(log_format: str) -> dict[str, Any]:
    """The log config `canteen serve` hands uvicorn (each worker applies it): in text, uvicorn's own lines as
    they always were and ours beside them; in JSON, uvicorn's loggers go through the JSON handler and its
    access line gives way to canteen's."""
    if log_format != "json":
        from uvicorn.config import LOGGING_CONFIG

        merged = config("text")
        merged["formatters"].update(LOGGING_CONFIG["formatters"])
        merged["handlers"].update(LOGGING_CONFIG["handlers"])
        merged["loggers"].update(LOGGING_CONFIG["loggers"])
        return merged
    merged = config("json")
    merged["loggers"].update({
        "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
        "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    })
    return merged


def setup(log_format: str, level: str = "INFO") -> None:
    """Set this process's logging up (the scheduler, the CLI); replaces the root logger's handlers."""
    logging.config.dictConfig(config(log_format, level))
