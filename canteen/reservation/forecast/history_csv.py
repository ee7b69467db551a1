"""Reads the headcount history a canteen exports from its old spreadsheets into a forecast history frame.

Columns (by header name, in any order, extra columns ignored): date, meal, booked, served and optionally
closed. Every bad row is reported with its line number before anything is used. Spreadsheets saved on
Chinese Windows are often GB18030 rather than UTF-8; both are read, with or without a byte-order mark.
"""
import csv
import io
import re
from datetime import date
from pathlib import Path

import pandas as pd

from canteen.reservation.forecast.model import history_frame

REQUIRED = ("date", "meal", "booked", "served")
MEALS = {"breakfast": "breakfast", "lunch": "lunch", "dinner": "dinner",
         "早餐": "breakfast", "午餐": "lunch", "中餐": "lunch", "晚餐": "dinner"}
CLOSED = {"": False, "0": False, "false": False, "no": False, "否": False,
          "1": True, "true": True, "yes": True, "是": True}
# The years a history may cover, as the official calendar's (canteen calendar), and a meal's largest headcount.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 12, 31)
MAX_DINERS = 1_000_000
DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


class HistoryFileError(Exception):
    """One or more problems with the file, each a line of its own."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_history(path: Path) -> pd.DataFrame:
    """The history frame from a CSV file; raises HistoryFileError listing every problem, or OSError."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise HistoryFileError(["the file is neither UTF-8 nor GB18030 text"]) from None
    return parse_history(text)


def parse_history(text: str) -> pd.DataFrame:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise HistoryFileError(["the file is empty; expected a header line: date,meal,booked,served[,closed]"])
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise HistoryFileError([f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                                f"expected date,meal,booked,served[,closed]"])
    columns = {name: names.index(name) for name in (*REQUIRED, "closed") if name in names}
    rows: list[tuple[date, str, int, int, bool]]
    seen: dict[tuple[date, str], int]
    rows, problems, seen = [], [], {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row, reasons = _row(cells, columns)
        if row is not None and (row[0], row[1]) in seen:
            reasons.append(f"{row[1]} on {row[0]} already appears on line {seen[row[0], row[1]]}")
        if reasons:
            problems += [f"line {line}: {reason}" for reason in reasons]
        else:
            assert row is not None  # _row gives a row whenever it gives no reasons
            seen[row[0], row[1]] = line
            rows.append(row)
    if problems:
        raise HistoryFileError(problems)
    if not rows:
        raise HistoryFileError(["the file has a header but no rows"])
    return history_frame(rows)


def _row(cells: list[str], columns: dict[str, int]) -> tuple[tuple[date, str, int, int, bool] | None, list[str]]:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    reasons: list[str] = []
    day = _date(cell("date"), reasons)
    meal = MEALS.get(cell("meal").lower())
    if meal is None:
        reasons.append(f"meal {cell('meal')!r} is not one of breakfast, lunch, dinner, 早餐, 午餐, 晚餐")
    booked, served = _count("booked", cell("booked"), reasons), _count("served", cell("served"), reasons)
    closed = CLOSED.get(cell("closed").lower())
    if closed is None:
        reasons.append(f"closed {cell('closed')!r} is not one of 1, 0, true, false, 是, 否 or empty")
    if reasons:
        return None, reasons
    # Each value that is missing gave a reason.
    assert day is not None and meal is not None and booked is not None and served is not None and closed is not None
    return (day, meal, booked, served, closed), reasons


def _date(text: str, reasons: list[str]) -> date | None:
    match = DATE.fullmatch(text)
    try:
        day = date(*map(int, match.groups())) if match else date.fromisoformat(text)
    except ValueError:
        reasons.append(f"date {text!r} is not a date like 2025-03-01")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:  # pandas' timestamps end in 1677 and 2262
        reasons.append(f"date {text!r} is outside {FIRST_DAY.year}–{LAST_DAY.year}")
        return None
    return day


def _count(name: str, text: str, reasons: list[str]) -> int | None:
    if not text.isascii() or not text.isdigit():
        reasons.append(f"{name} {text!r} is not a whole number of diners" if text else f"{name} is empty")
        return None
    if len(text) > len(str(MAX_DINERS)) or int(text) > MAX_DINERS:
        reasons.append(f"{name} {text} is more than {MAX_DINERS:,} diners")
        return None
    return int(text)
