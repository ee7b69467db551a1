"""Standards as data: a standard file (TOML) parsed and validated into frozen models.

A bureau writes its local standard by hand, so every problem is reported at once, each with the line
number and the field's path, e.g. `reference.toml:42: dimensions[4].points: indicator points add up to
24, dimension monitoring has 25`.
"""
import hashlib
import re
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError
from pydantic_core import ErrorDetails

from canteen.errors import InvalidInput
from canteen.i18n import N_, validation_error


@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str
    fraction: bool = False  # stored as a fraction of 1, shown as a percentage


# Every metric the engine computes per canteen and period (see the assessment reference); a standard may
# score only these.
METRICS: dict[str, MetricInfo] = {
    "diners": MetricInfo("就餐人次", "人次"),
    "plate_waste_g_per_diner": MetricInfo("人均餐余量", "克/人·餐"),
    "kitchen_waste_g_per_diner": MetricInfo("人均餐厨垃圾", "克/人·餐"),
    "surplus_food_g_per_diner": MetricInfo("人均剩余饭菜", "克/人·餐"),
    "clean_plate_rate": MetricInfo("光盘率", "%", fraction=True),
    "plate_waste_change_yoy_pct": MetricInfo("人均餐余量同比变化", "%"),
    "plate_waste_change_pop_pct": MetricInfo("人均餐余量环比变化", "%"),
    "booking_rate": MetricInfo("预约就餐率", "%", fraction=True),
    "forecast_wape": MetricInfo("备餐预测误差（WAPE）", "%", fraction=True),
    "weighing_coverage": MetricInfo("称重计量覆盖率", "%", fraction=True),
    "small_portion_share": MetricInfo("小份菜半份菜占比", "%", fraction=True),
    "kitchen_waste_kg_per_diner": MetricInfo("人均后厨浪费量", "千克/人·餐"),
    "waste_cost_yuan_per_diner": MetricInfo("人均浪费金额", "元/人·餐"),
}
METHODS = ("linear", "bands", "checklist")
EVIDENCE: tuple[Literal["self", "inspection"], ...] = ("self", "inspection")

Loc = tuple[str | int, ...]
Text = Annotated[str, Strict(), Field(min_length=1)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Points = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Grade(_Model):
    name: Text
    min: NonNegative


class Band(_Model):
    at_least: Number | None = None
    at_most: Number | None = None
    points: NonNegative

    @property
    def bound(self) -> Literal["at_least", "at_most"]:
        return "at_least" if self.at_least is not None else "at_most"

    def holds(self, value: Decimal) -> bool:
        if self.at_least is not None:
            return value >= as_decimal(self.at_least)
        return self.at_most is not None and value <= as_decimal(self.at_most)


class _Indicator(_Model):
    id: Text
    name: Text
    points: Points
    no_data: Literal["zero", "full"] = "zero"


class LinearIndicator(_Indicator):
    method: Literal["linear"]
    metric: Text
    full_at: Number
    zero_at: Number


class BandsIndicator(_Indicator):
    method: Literal["bands"]
    metric: Text
    bands: tuple[Band, ...]


class ChecklistIndicator(_Indicator):
    method: Literal["checklist"]
    partial: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.5
    evidence: tuple[Literal["self", "inspection"], ...] = EVIDENCE


Indicator = Annotated[LinearIndicator | BandsIndicator | ChecklistIndicator, Field(discriminator="method")]


class Dimension(_Model):
    id: Text
    name: Text
    points: Points
    indicators: tuple[Indicator, ...]


class Veto(_Model):
    id: Text
    name: Text


class Bonus(_Model):
    id: Text
    name: Text
    points: Points


class _Header(_Model):
    code: Text
    title: Text
    version: Text
    total: Points
    bonus_cap: NonNegative = 0


class _File(_Model):
    """The file as written: a [standard] table and arrays of grades, dimensions, vetoes and bonuses."""

    standard: _Header
    grades: tuple[Grade, ...]
    dimensions: tuple[Dimension, ...]
    vetoes: tuple[Veto, ...] = ()
    bonuses: tuple[Bonus, ...] = ()


@dataclass(frozen=True)
class Standard:
    code: str
    title: str
    version: str
    total: float
    bonus_cap: float
    grades: tuple[Grade, ...]  # highest first; the last starts at 0
    dimensions: tuple[Dimension, ...]
    vetoes: tuple[Veto, ...]
    bonuses: tuple[Bonus, ...]
    source: str  # where it was read from, for messages
    text: str  # the file as loaded, so a stored standard can be parsed again
    content_hash: str  # sha256 of the file's bytes: which standard, to the byte, produced a scorecard

    def indicators(self) -> Iterator[tuple[Dimension, Indicator]]:
        for dimension in self.dimensions:
            for indicator in dimension.indicators:
                yield dimension, indicator


@dataclass(frozen=True)
class Problem:
    """One mistake in a standard file. `message` is a msgid of the catalogue, formatted with `params` (and
    `field`, "this value" in the reader's language, for the messages shared with the forms)."""

    source: str
    line: int | None
    field: str | None
    message: str
    params: dict[str, object] = dataclass_field(default_factory=dict)

    def text(self, this_value: str = "this value") -> str:
        return self.message.format(field=this_value, **self.params)

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return ": ".join(part for part in (where, self.field, self.text()) if part)


class StandardFileError(InvalidInput):
    """Every problem found in a standard file; `path`, `line` and `field` are those of the first."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__("{problems}", field=first.field, problems="\n".join(map(str, problems)))
        self.problems = problems
        self.path, self.line = first.source, first.line

    def __str__(self) -> str:
        return "\n".join(map(str, self.problems))


REFERENCE = resources.files(__package__) / "standards" / "reference.toml"


@cache
def reference_standard() -> Standard:
    return parse_standard(REFERENCE.read_bytes(), REFERENCE.name)


def load_standard(path: Path | str) -> Standard:
    """Raises OSError when the file cannot be read, StandardFileError when it is not a valid standard."""
    return parse_standard(Path(path).read_bytes(), str(path))


def parse_standard(source: str | bytes, name: str = "<standard>") -> Standard:
    raw = source.encode() if isinstance(source, str) else source
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StandardFileError([Problem(name, None, None, N_("the file is not UTF-8 text"))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StandardFileError([_syntax_problem(name, str(error))]) from None
    try:
        file = _File.model_validate(data)
    except ValidationError as error:
        found = [_validation_problem(item) for item in error.errors()]
    else:
        found = list(_check(file))
    if found:
        lines = _Lines(text)
        problems = [Problem(name, lines.of(loc), field_path(loc), message, params) for loc, message, params in found]
        raise StandardFileError(sorted(problems, key=lambda problem: problem.line or 0))
    header = file.standard
    return Standard(code=header.code, title=header.title, version=header.version, total=header.total,
                    bonus_cap=header.bonus_cap, grades=file.grades, dimensions=file.dimensions,
                    vetoes=file.vetoes, bonuses=file.bonuses, source=name, text=text,
                    content_hash=hashlib.sha256(raw).hexdigest())


def as_decimal(value: float | Decimal) -> Decimal:
    """A number at its decimal face value (0.1 is 0.1), so scores match a hand computation to the digit."""
    return Decimal(str(value))


def plain(value: float | Decimal) -> str:
    """A number as a person writes it: 30, 0.95, 52.3."""
    text = format(as_decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


def field_path(loc: Iterable[str | int]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


MISSING, UNKNOWN_FIELD = N_("required field is missing"), N_("unknown field")


def error_message(item: ErrorDetails) -> str:
    """A pydantic error in English words (the CLI's JSON input checks)."""
    if item["type"] == "missing":
        return MISSING
    if item["type"] == "extra_forbidden":
        return UNKNOWN_FIELD
    return item["msg"]


def _pydantic_problem(item: ErrorDetails) -> tuple[str, dict[str, object]]:
    """A pydantic error as a msgid of the catalogue and its parameters ({field} is left to the reader's words)."""
    if item["type"] == "missing":
        return MISSING, {}
    if item["type"] == "extra_forbidden":
        return UNKNOWN_FIELD, {}
    if item["type"] in ("literal_error", "enum") and "expected" in (item.get("ctx") or {}):
        return N_("{field} must be one of {expected}"), {"expected": item["ctx"]["expected"]}
    error = validation_error(item)
    return error.reason, dict(error.params)


def _syntax_problem(name: str, message: str) -> Problem:
    """tomllib's message ("Expected ']' at the end of a table declaration (at line 3, column 9)") said in the
    catalogue's words with its position, tomllib's own words kept in parentheses."""
    position = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if position is None:
        return Problem(name, None, None, N_("not valid TOML ({detail})"), {"detail": message})
    return Problem(name, int(position[1]), None, N_("not valid TOML at line {line}, column {column} ({detail})"),
                   {"line": int(position[1]), "column": int(position[2]), "detail": message[:position.start()]})


def _validation_problem(item: ErrorDetails) -> tuple[Loc, str, dict[str, object]]:
    loc = item["loc"]
    # A discriminated union puts the tag into the location: dimensions.0.indicators.1.linear.points.
    loc = tuple(part for at, part in enumerate(loc)
                if not (part in METHODS and at >= 2 and loc[at - 2] == "indicators" and isinstance(loc[at - 1], int)))
    if item["type"] == "union_tag_invalid":
        return (*loc, "method"), N_("unknown method {method!r}; expected one of {methods}"), {
            "method": item["ctx"]["tag"], "methods": ", ".join(METHODS)}
    if item["type"] == "union_tag_not_found":
        return (*loc, "method"), MISSING, {}
    return (loc, *_pydantic_problem(item))


# Emptiness is checked here rather than by pydantic, which would also report a list whose items are wrong as empty.
EMPTY = N_("at least one is needed")
Found = Iterator[tuple[Loc, str, dict[str, object]]]


def _check(file: _File) -> Found:
    for kind in ("grades", "dimensions"):
        if not getattr(file, kind):
            yield (kind,), EMPTY, {}
    yield from _check_points(file)
    yield from _check_grades(file.grades)
    yield from _check_ids(file)
    for d, dimension in enumerate(file.dimensions):
        if not dimension.indicators:
            yield ("dimensions", d, "indicators"), EMPTY, {}
        for i, indicator in enumerate(dimension.indicators):
            yield from _check_indicator(("dimensions", d, "indicators", i), indicator)


def _sum(values: Iterable[float]) -> Decimal:
    return sum(map(as_decimal, values), Decimal(0))


def _check_points(file: _File) -> Found:
    dimensions, total = _sum(dimension.points for dimension in file.dimensions), file.standard.total
    if dimensions != as_decimal(total):
        yield ("standard", "total"), N_("dimension points add up to {sum}, total is {total}"), {
            "sum": plain(dimensions), "total": plain(total)}
    for d, dimension in enumerate(file.dimensions):
        indicators = _sum(indicator.points for indicator in dimension.indicators)
        if indicators != as_decimal(dimension.points):
            yield ("dimensions", d, "points"), N_("indicator points add up to {sum}, dimension {id} has {points}"), {
                "sum": plain(indicators), "id": dimension.id, "points": plain(dimension.points)}


def _check_grades(grades: tuple[Grade, ...]) -> Found:
    for g in range(1, len(grades)):
        if grades[g].min >= grades[g - 1].min:
            yield ("grades", g, "min"), N_("grades go from the highest min to the lowest: {min} is not below "
                                           "{above} ({name})"), {
                "min": plain(grades[g].min), "above": plain(grades[g - 1].min), "name": grades[g - 1].name}
    if grades and grades[-1].min != 0:
        yield ("grades", len(grades) - 1, "min"), N_("the last grade must start at 0, not {min}"), {
            "min": plain(grades[-1].min)}


def _check_ids(file: _File) -> Found:
    dimensions = [(("dimensions", d), dimension.id) for d, dimension in enumerate(file.dimensions)]
    scored: list[tuple[Loc, str]]
    scored = [(("dimensions", d, "indicators", i), indicator.id)
              for d, dimension in enumerate(file.dimensions) for i, indicator in enumerate(dimension.indicators)]
    scored += [((kind, n), item.id) for kind in ("vetoes", "bonuses") for n, item in enumerate(getattr(file, kind))]
    for items in (dimensions, scored):
        first: dict[str, Loc] = {}
        for loc, id_ in items:
            if id_ in first:
                yield (*loc, "id"), N_("duplicate id {id!r}, already used by {other}"), {
                    "id": id_, "other": field_path(first[id_])}
            first.setdefault(id_, loc)


def _check_indicator(loc: Loc, indicator: Indicator) -> Found:
    if not isinstance(indicator, ChecklistIndicator) and indicator.metric not in METRICS:
        yield (*loc, "metric"), N_("unknown metric {metric!r}; known metrics: {metrics}"), {
            "metric": indicator.metric, "metrics": ", ".join(METRICS)}
    if isinstance(indicator, LinearIndicator) and indicator.full_at == indicator.zero_at:
        yield (*loc, "zero_at"), N_("zero_at equals full_at ({value}); they must differ"), {
            "value": plain(indicator.zero_at)}
    if isinstance(indicator, BandsIndicator):
        yield from _check_bands((*loc, "bands"), indicator)
    if isinstance(indicator, ChecklistIndicator) and not indicator.evidence:
        yield (*loc, "evidence"), EMPTY, {}


def _check_bands(loc: Loc, indicator: BandsIndicator) -> Found:
    if not indicator.bands:
        yield loc, EMPTY, {}
    previous: Band | None = None
    for b, band in enumerate(indicator.bands):
        if (band.at_least is None) == (band.at_most is None):
            yield (*loc, b), N_("a band needs exactly one of at_least and at_most"), {}
            continue
        if band.points > indicator.points:
            yield (*loc, b, "points"), N_("band worth {points}, more than the indicator's {most}"), {
                "points": plain(band.points), "most": plain(indicator.points)}
        if previous is not None:
            yield from _check_band_order((*loc, b, band.bound), previous, band)
        previous = band


def _check_band_order(loc: Loc, previous: Band, band: Band) -> Found:
    if band.bound != previous.bound:
        yield loc, N_("at_least and at_most bands cannot be mixed in one indicator"), {}
    elif band.at_least is not None and previous.at_least is not None and band.at_least >= previous.at_least:
        yield loc, N_("at_least bands go from the highest to the lowest: {value} is not below {previous}"), {
            "value": plain(band.at_least), "previous": plain(previous.at_least)}
    elif band.at_most is not None and previous.at_most is not None and band.at_most <= previous.at_most:
        yield loc, N_("at_most bands go from the lowest to the highest: {value} is not above {previous}"), {
            "value": plain(band.at_most), "previous": plain(previous.at_most)}


class _Lines:
    """The line of each table, key and array element of a TOML text that tomllib has accepted.

    tomllib keeps no positions, so this walks the text once, numbering arrays of tables the way TOML
    does (`[[dimensions.indicators]]` appends to the last dimension), to map a location such as
    ("dimensions", 4, "indicators", 1, "points") to its line.
    """

    BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
    SCALAR = re.compile(r"[^,\]}\n#]*")

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.lines: dict[Loc, int] = {}
        self.arrays: dict[Loc, int] = {}
        self._document()

    def of(self, loc: Loc) -> int | None:
        """The line of `loc`, else of its nearest ancestor in the text (where a missing field belongs)."""
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None

    def _line(self) -> int:
        return bisect_left(self.newlines, self.at) + 1

    def _document(self) -> None:
        table: Loc = ()
        while self._skip(newlines=True) < len(self.text):
            line = self._line()
            if self.text.startswith("[[", self.at):
                self.at += 2
                *parents, last = self._key()
                array = (*self._resolve(parents), last)
                count = self.arrays.get(array, 0)
                self.arrays[array] = count + 1
                self.lines.setdefault(array, line)
                table = (*array, count)
                self.at += 2
            elif self.text[self.at] == "[":
                self.at += 1
                table = self._resolve(self._key())
                self.at += 1
            else:
                self._pair(table)
                continue
            self.lines[table] = line

    def _resolve(self, parts: list[str]) -> Loc:
        loc: Loc = ()
        for part in parts:
            loc = (*loc, part)
            if loc in self.arrays:
                loc = (*loc, self.arrays[loc] - 1)
        return loc

    def _skip(self, newlines: bool = False) -> int:
        space = " \t\r\n" if newlines else " \t"
        while self.at < len(self.text):
            if self.text[self.at] in space:
                self.at += 1
            elif self.text[self.at] == "#":
                end = self.text.find("\n", self.at)
                self.at = len(self.text) if end < 0 else end
            else:
                break
        return self.at

    def _key(self) -> list[str]:
        parts = []
        while True:
            self._skip()
            if self.text[self.at] in "\"'":
                start = self._string()
                parts.append(tomllib.loads(f"k = {self.text[start:self.at]}")["k"])
            else:
                match = self.BARE_KEY.match(self.text, self.at)
                assert match is not None, "tomllib accepted the text"
                parts.append(match.group())
                self.at = match.end()
            self._skip()
            if self.text[self.at] != ".":
                return parts
            self.at += 1

    def _pair(self, table: Loc) -> None:
        line = self._line()
        loc = (*table, *self._key())
        for end in range(len(table) + 1, len(loc) + 1):
            self.lines.setdefault(loc[:end], line)
        self.at += 1  # the "="
        self._value(loc)

    def _value(self, loc: Loc) -> None:
        self._skip()
        char = self.text[self.at]
        if char == "[":
            self.at += 1
            index = 0
            while self.text[self._skip(newlines=True)] != "]":
                self.lines[(*loc, index)] = self._line()
                self._value((*loc, index))
                index += 1
                self._skip_comma()
            self.at += 1
        elif char == "{":
            self.at += 1
            while self.text[self._skip(newlines=True)] != "}":
                self._pair(loc)
                self._skip_comma()
            self.at += 1
        elif char in "\"'":
            self._string()
        else:
            scalar = self.SCALAR.match(self.text, self.at)
            assert scalar is not None  # the pattern matches the empty string too
            self.at = scalar.end()

    def _skip_comma(self) -> None:
        if self.text[self._skip(newlines=True)] == ",":
            self.at += 1

    def _string(self) -> int:
        """Moves past the string that starts here; returns where it started."""
        start, text = self.at, self.text
        quote = next(q for q in ('"""', "'''", '"', "'") if text.startswith(q, start))
        end = start + len(quote)
        while not text.startswith(quote, end):
            end += 2 if quote[0] == '"' and text[end] == "\\" else 1
        end += len(quote)
        if len(quote) == 3:  # up to two quotes right before the closing ones belong to the string
            following = text[end:end + 2]
            end += len(following) - len(following.lstrip(quote[0]))
        self.at = end
        return start
