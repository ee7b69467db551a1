"""A bulletin as a standalone, printable Chinese document: HTML from a Jinja2 template with the charts inline as
SVG (canteen.web.pdf prints it to PDF)."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from canteen.web import charts

TEMPLATES = Path(__file__).parent.parent / "templates"
SERVING_MODES = {"buffet": "自助餐", "portioned": "份餐", "table": "桌餐", "set-meal": "套餐"}
SECTION_NUMERALS = "一二三四五六七八九十"
RANKING_CHART_ENDS = 10  # the chart shows the first and the last ten canteens
TOP_COLOUR, BOTTOM_COLOUR = charts.PALETTE[0], charts.PALETTE[4]


@dataclass(frozen=True)
class PreviousVersion:
    version: int
    title: str
    url: str
    published_on: date


@dataclass(frozen=True)
class BulletinMeta:
    title: str
    issuer: str  # the bureau's name
    version: int
    issued_on: date
    supersedes: PreviousVersion | None = None
    correction_note: str = ""
    public_url: str | None = None  # where it is published (its PDF beside it); a preview has none yet
    index_url: str | None = None  # the public list of bulletins
    has_pdf: bool = True  # False: published without its PDF (no Chromium on the server); the page says so


def _fixed(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


def _chinese_date(value: date | str) -> str:
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters.update(fixed=_fixed, percent=_percent, chinese_date=_chinese_date, paragraphs=_paragraphs)


def _axis_label(period: str, first: bool) -> str:
    """"11月", with the year on the first point and at each January (or first quarter)."""
    year, part = period.split("-")
    short = f"{int(part)}月" if part.isdigit() else part
    return f"{year}年\n{short}" if first or part in ("01", "Q1") else short


def _ranking_chart(ranking: Sequence[dict[str, Any]]) -> str:
    if len(ranking) <= 2 * RANKING_CHART_ENDS:
        shown, colours = list(ranking), [TOP_COLOUR] * len(ranking)
        title = "各食堂得分"
    else:
        shown = [*ranking[:RANKING_CHART_ENDS], *ranking[-RANKING_CHART_ENDS:]]
        colours = [TOP_COLOUR] * RANKING_CHART_ENDS + [BOTTOM_COLOUR] * RANKING_CHART_ENDS
        title = f"得分前{RANKING_CHART_ENDS}名与后{RANKING_CHART_ENDS}名"
    return charts.horizontal_bar_chart([f"{entry['rank']}. {entry['canteen']}" for entry in shown],
                                       [entry["total"] for entry in shown], title, "得分", colours)


def _charts(content: dict[str, Any]) -> dict[str, str | None]:
    grades = content["summary"]["grades"]
    trend = content["trend"]
    waste = [point["plate_waste_g_per_diner"] for point in trend]
    return {
        "grades": charts.bar_chart([grade["name"] for grade in grades], [grade["count"] for grade in grades],
                                   "评估等次分布", "食堂数（家）"),
        "trend": charts.line_chart([_axis_label(point["period"], index == 0) for index, point in enumerate(trend)],
                                   {"人均餐余量": waste}, f"近{len(trend)}期人均餐余量（按就餐人次加权）",
                                   "克/人·餐") if any(value is not None for value in waste) else None,
        "ranking": _ranking_chart(content["ranking"]),
    }


def render_html(content: dict[str, Any], text: dict[str, str], meta: BulletinMeta) -> str:
    """`content` from bulletins.content.build_content, `text` the bureau's opening, good practices and requirements."""
    return _env.get_template("assessment/bulletin.html").render(
        content=content, text=text, meta=meta, charts=_charts(content), serving_modes=SERVING_MODES,
        numerals=SECTION_NUMERALS)
