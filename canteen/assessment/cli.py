"""`canteen assess score`: score one canteen offline from a JSON file of its metrics and checklist answers;
`canteen assess run`: score a period for every canteen and draft its bulletins."""
import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from canteen.assessment.scoring import AssessmentInput, Scorecard
    from canteen.assessment.standard import Standard

# The scoring engine, the database and the bulletins (matplotlib) are imported by the commands that use them,
# so that `canteen --help` does not load them.

assess_app = typer.Typer(no_args_is_help=True, help="Assessment: score canteens against a standard.")

def _fail(*lines: str) -> NoReturn:
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


@assess_app.command("score")
def score_command(
    input_path: Annotated[Path, typer.Option("--input", help="JSON file with the canteen's metrics, checklist "
                                                             "answers, vetoes and bonuses.")],
    standard_path: Annotated[Path | None, typer.Option("--standard", help="Standard file (TOML). Default: the "
                                                                          "shipped reference standard.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scorecard as one JSON object.")] = False,
) -> None:
    """Score one canteen against a standard and show every lost point with its reason."""
    from canteen.assessment.scoring import AssessmentInputError, score
    from canteen.assessment.standard import reference_standard

    standard = reference_standard() if standard_path is None else _standard(standard_path)
    data = _input(input_path)
    try:
        card = score(standard, data)
    except AssessmentInputError as error:
        _fail(*(f"{input_path}: {problem}" for problem in error.problems))
    typer.echo(json.dumps(card.to_dict(), ensure_ascii=False, indent=2) if as_json else _table(card))


def _standard(path: Path) -> "Standard":
    from canteen.assessment.standard import StandardFileError, load_standard

    try:
        return load_standard(path)
    except StandardFileError as error:
        _fail(*map(str, error.problems))
    except OSError as error:
        _fail(f"{path}: {error.strerror or error}")


def _input(path: Path) -> "AssessmentInput":
    from pydantic import ValidationError

    from canteen.assessment.scoring import AssessmentInput
    from canteen.assessment.standard import error_message, field_path

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        _fail(f"{path}: {error.strerror or error}")
    except UnicodeDecodeError:
        _fail(f"{path}: the file is not UTF-8 text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"{path}: line {error.lineno} column {error.colno}: {error.msg}")
    except RecursionError:
        _fail(f"{path}: the JSON is nested too deeply")
    except ValueError as error:  # an integer of more digits than Python converts
        _fail(f"{path}: {error}")
    if not isinstance(data, dict):
        _fail(f"{path}: expected a JSON object with metrics, checklist, vetoes and bonuses")
    try:
        return AssessmentInput.model_validate(data)
    except ValidationError as error:
        _fail(*(f"{path}: {field_path(item['loc'])}: {error_message(item)}" for item in error.errors()))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(card: "Scorecard") -> str:
    from canteen.assessment.standard import plain

    lines = [f"{card.standard_code} {card.standard_version}  {card.standard_title}  "
             f"(sha256 {card.standard_hash[:12]})"]
    if card.canteen or card.period:
        lines.append("  ".join(filter(None, (card.canteen, card.period))))
    rows = [("indicator", "points", "earned", "reason for lost points")]
    for dimension in card.dimensions:
        rows.append((dimension.name, plain(dimension.points), f"{dimension.earned:.2f}", ""))
        rows += [(f"  {line.id}  {line.name}", plain(line.points), f"{line.earned:.2f}",
                  line.reason.text if line.reason else "")
                 for line in card.indicators if line.dimension == dimension.id]
    width = max(_width(label) for label, *_ in rows) + 2
    lines.append("")
    lines += [f"{_pad(label, width)}{points:>6}{earned:>8}  {reason}".rstrip()
              for label, points, earned, reason in rows]
    lines.append("")
    if card.bonuses:
        awarded = ", ".join(f"{bonus.id} {bonus.name} +{plain(bonus.points)}" for bonus in card.bonuses)
        lines.append(f"bonuses: {awarded} (counted: +{plain(card.bonus_points)})")
    lines.append(f"total: {card.total} / {plain(card.possible)}")
    lines.append(f"grade: {card.grade}")
    if card.vetoes:
        vetoes = ", ".join(f"{veto.id} {veto.name}" for veto in card.vetoes)
        lines.append(f"vetoed: {vetoes} (grade set to {card.grade})")
    return "\n".join(lines)


@assess_app.command("run")
def run_command(period: Annotated[str, typer.Option(help="A month (2026-10) or a quarter (2026-Q4).")]) -> None:
    """Score every canteen for the period and draft its bulletins, as the monthly job does."""
    from canteen import db
    from canteen.assessment import runs
    from canteen.assessment.periods import parse_period
    from canteen.auth import models as auth_models  # noqa: F401  (the user table the standards' loaded_by names)
    from canteen.config import Settings

    parsed = parse_period(period)
    with db.session_scope(db.make_engine(Settings().database_url)) as session:
        summary = runs.run_period(session, parsed, datetime.now(UTC))
    typer.echo(summary)
