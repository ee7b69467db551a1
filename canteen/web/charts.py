"""Server-side charts: matplotlib (Agg, no display) with a CJK font, rendered to SVG with text as paths.

Text becomes glyph outlines inside the SVG, so a browser needs no Chinese font to show a chart. The font is
Noto Sans CJK from Debian's `fonts-noto-cjk` (installed by scripts/install-system-deps.sh); without it
the charts refuse to render rather than draw empty boxes (tofu) in place of Chinese characters.

Mathtext is off: every string drawn is shown as given, so a `$` in a canteen's name is a dollar sign.

Figures are built with `matplotlib.figure.Figure`, not pyplot, so charts can be drawn from several request
threads at once.

Axes read the way people expect: the value axis starts at a meaningful floor (0 unless the caller gives
another), never with an offset or in scientific notation; counts get whole-number ticks only (a series is
a count when every value is a whole number, unless the caller says otherwise); a legend sits below the plot,
never over the lines; and a trend with a single value is written out as that value rather than drawn as a dot.
Each `*_figure` function returns the matplotlib figure (tests read its axes), each `*_chart` the markup.
"""
import html
import io
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402  (the backend is chosen first)
from matplotlib import (
    font_manager,  # noqa: E402
    pyplot,  # noqa: E402
)
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, ScalarFormatter  # noqa: E402

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
FONT_FAMILY_PREFIX = "Noto Sans CJK"
PREFERRED_FAMILY = "Noto Sans CJK SC"
PALETTE = ("#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#827717", "#4e342e")
FIGSIZE = (7.0, 3.6)  # inches

_lock = threading.Lock()
_configured_family: str | None = None


def _cjk_families() -> list[font_manager.FontEntry]:
    return [entry for entry in font_manager.fontManager.ttflist
            if entry.name.startswith(FONT_FAMILY_PREFIX) and "Mono" not in entry.name]


def find_cjk_family() -> str:
    """The name of an installed Noto Sans CJK family, Simplified Chinese (SC) when there is one.

    matplotlib's font list is cached from when it first ran, so fonts installed later are looked up in
    the system font folders and registered.
    """
    entries = _cjk_families()
    if not entries:
        for folder in FONT_DIRS:
            if folder.is_dir():
                for path in sorted(folder.rglob("NotoSansCJK*")):
                    if path.suffix.lower() in (".ttc", ".otf", ".ttf"):
                        font_manager.fontManager.addfont(str(path))
        entries = _cjk_families()
    if not entries:
        raise RuntimeError("no CJK font for charts: install Debian's fonts-noto-cjk package "
                           "(`make system-deps` or scripts/install-system-deps.sh)")
    names = {entry.name for entry in entries}
    return PREFERRED_FAMILY if PREFERRED_FAMILY in names else sorted(names)[0]


def configure() -> str:
    """Makes the CJK font the first sans-serif choice and keeps text as paths in SVG; returns the family."""
    global _configured_family
    with _lock:
        if _configured_family is None:
            family = find_cjk_family()
            others = [name for name in matplotlib.rcParams["font.sans-serif"] if name != family]
            matplotlib.rcParams.update({
                "font.family": "sans-serif",
                "font.sans-serif": [family, *others],
                "axes.unicode_minus": False,
                "svg.fonttype": "path",
                # Names are people's text, never TeX: "南昌县$\nope$食堂" must show as typed, not be parsed as math.
                "text.parse_math": False,
            })
            _configured_family = family
        return _configured_family


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A figure that uses the CJK font (fonts are fixed when text is created, so configure first)."""
    configure()
    return Figure(figsize=figsize, layout="constrained")


def _save(fig: Figure, fmt: str, **options) -> bytes:
    configure()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=fmt, **options)
    finally:
        pyplot.close(fig)  # a no-op for figures not made by pyplot; frees those that were
    return buffer.getvalue()


def figure_svg(fig: Figure) -> str:
    """The figure as an `<svg>` element (no XML prologue, ready to inline in HTML), text as paths."""
    svg = _save(fig, "svg", metadata={"Date": None}).decode("utf-8")
    return svg[svg.index("<svg"):]


def figure_png(fig: Figure, dpi: int = 144) -> bytes:
    return _save(fig, "png", dpi=dpi)


def _style(ax: Axes, title: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def is_count(values: Iterable[float | None]) -> bool:
    """Whether every value given is a whole number (a count, or grams), so ticks between them mean nothing."""
    present = [value for value in values if value is not None and value == value]
    return bool(present) and all(float(value).is_integer() for value in present)


def _value_axis(axis: Axis, values: Sequence[float], integer: bool, floor: float | None) -> None:
    """Whole-number ticks for counts, plain tick labels (no offset, no 1e3), and the floor as the axis start
    when no value lies below it."""
    if integer:
        axis.set_major_locator(MaxNLocator(integer=True))
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)
    if floor is not None and values and min(values) >= floor:
        low, high = axis.get_view_interval()
        top = max(high, floor + 1) if max(values) <= floor else high
        if axis is axis.axes.yaxis:
            axis.axes.set_ylim(floor, top)
        else:
            axis.axes.set_xlim(floor, top)


def _number_text(value: float, integer: bool) -> str:
    if integer:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"


def bar_figure(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str, *,
               integer: bool | None = None, floor: float | None = 0) -> Figure:
    """Bars with their values written on top; `integer` defaults to whether every value is whole."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values")
    integer = is_count(values) if integer is None else integer
    fig = new_figure()
    ax = fig.add_subplot()
    bars = ax.bar(range(len(values)), values, color=PALETTE[0], width=0.6)
    ax.bar_label(bars, labels=[_number_text(value, integer) for value in values], padding=2, fontsize="small")
    ax.set_xticks(range(len(labels)), labels)
    if len(labels) > 5 or any(len(label) > 8 for label in labels):
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    _value_axis(ax.yaxis, [float(value) for value in values], integer, floor)
    _style(ax, title, ylabel)
    return fig


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str, *,
              integer: bool | None = None, floor: float | None = 0) -> str:
    """`bar_figure` as SVG."""
    return figure_svg(bar_figure(labels, values, title, ylabel, integer=integer, floor=floor))


def _present(values: Sequence[float | None]) -> list[float]:
    return [float(value) for value in values if value is not None and value == value]


def _check_lengths(x: Sequence[date | str], series: Mapping[str, Sequence[float | None]]) -> None:
    for name, values in series.items():
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(x)} x positions")


def line_figure(x: Sequence[date | str], series: Mapping[str, Sequence[float | None]], title: str,
                ylabel: str, *, integer: bool | None = None, floor: float | None = 0,
                reference: Mapping[str, float] | None = None) -> Figure:
    """One line per series; None leaves a gap in the line (a lone value shows as a dot). `reference`
    values (a target) are dashed horizontal lines across the plot. With more than one line, the legend
    goes below the plot."""
    _check_lengths(x, series)
    reference = reference or {}
    every = [value for values in series.values() for value in _present(values)] + list(reference.values())
    integer = is_count(every) if integer is None else integer
    fig = new_figure()
    ax = fig.add_subplot()
    xs = cast(Any, list(x))  # matplotlib's stubs do not know it converts dates through its unit registry
    for index, (name, values) in enumerate(series.items()):
        ys = [float("nan") if value is None else value for value in values]
        ax.plot(xs, ys, label=name, color=PALETTE[index % len(PALETTE)], marker="o", markersize=3,
                linewidth=1.8)
    for index, (name, value) in enumerate(reference.items(), start=len(series)):
        ax.axhline(value, label=name, color=PALETTE[index % len(PALETTE)], linestyle="--", linewidth=1.2)
    if x and isinstance(x[0], date):
        if len(x) > 1:
            ax.set_xlim(xs[0], xs[-1])  # the whole range, even where only a few days have values
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
            locator, formats=["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%S"],
            offset_formats=["", "%Y", "%Y", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))
    _value_axis(ax.yaxis, every, integer, floor)
    if len(series) + len(reference) > 1:
        # Below the axes, outside them: constrained layout makes room, so it never covers a line.
        fig.legend(loc="outside lower center", ncols=min(len(series), 4), frameon=False, fontsize="small")
    _style(ax, title, ylabel)
    return fig


def single_values(x: Sequence[date | str], series: Mapping[str, Sequence[float | None]], title: str,
                  unit: str, *, integer: bool | None = None, reference: Mapping[str, float] | None = None) -> str:
    """Each series' only value written out large, with its name and where it falls, and the reference
    values beside them, as an HTML block."""
    reference = reference or {}
    every = [value for values in series.values() for value in _present(values)] + list(reference.values())
    integer = is_count(every) if integer is None else integer
    items = []
    for name, values in series.items():
        found = [(position, value) for position, value in zip(x, values) if value is not None and value == value]
        if not found:
            continue
        position, value = found[0]
        at = position.isoformat() if isinstance(position, date) else str(position).replace("\n", " ")
        items.append(
            '<p class="chart-value">'
            f'<span class="name">{html.escape(name)}</span> '
            f'<strong style="font-size: 2em">{_number_text(float(value), integer)}</strong> '
            f'<span class="unit">{html.escape(unit)}</span> <span class="at">({html.escape(at)})</span></p>')
    if not items:
        items.append('<p class="chart-value"><strong style="font-size: 2em">–</strong></p>')
    items.extend(f'<p class="chart-reference"><span class="name">{html.escape(name)}</span> '
                 f'{_number_text(float(value), integer)} <span class="unit">{html.escape(unit)}</span></p>'
                 for name, value in reference.items())
    return f'<div class="chart-single"><p class="chart-title">{html.escape(title)}</p>{"".join(items)}</div>'


def line_chart(x: Sequence[date | str], series: Mapping[str, Sequence[float | None]], title: str,
               ylabel: str, *, integer: bool | None = None, floor: float | None = 0,
               reference: Mapping[str, float] | None = None) -> str:
    """`line_figure` as SVG; when no series has two values to join, the values as HTML instead
    (`single_values`): a trend of one point is a number, not a chart. Pass a constant line (a target)
    as `reference`, not as a series, so it does not count as a trend."""
    if all(len(_present(values)) < 2 for values in series.values()):
        _check_lengths(x, series)
        return single_values(x, series, title, ylabel, integer=integer, reference=reference)
    return figure_svg(line_figure(x, series, title, ylabel, integer=integer, floor=floor, reference=reference))


def horizontal_bar_figure(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
                          colors: Sequence[str] | None = None, *, integer: bool | None = None,
                          floor: float | None = 0) -> Figure:
    """One bar per label, top to bottom in the given order, values written at the bars' ends."""
    if len(labels) != len(values) or (colors is not None and len(colors) != len(values)):
        raise ValueError(f"{len(labels)} labels, {len(values)} values and {len(colors or values)} colours")
    integer = is_count(values) if integer is None else integer
    fig = new_figure((FIGSIZE[0], max(FIGSIZE[1], 0.9 + 0.28 * len(labels))))
    ax = fig.add_subplot()
    positions = range(len(values))
    bars = ax.barh(positions, values, color=list(colors) if colors is not None else PALETTE[0], height=0.65)
    ax.bar_label(bars, labels=[_number_text(value, integer) for value in values], padding=2, fontsize="small")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    _value_axis(ax.xaxis, [float(value) for value in values], integer, floor)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig


def horizontal_bar_chart(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
                         colors: Sequence[str] | None = None, *, integer: bool | None = None,
                         floor: float | None = 0) -> str:
    """`horizontal_bar_figure` as SVG."""
    return figure_svg(horizontal_bar_figure(labels, values, title, xlabel, colors, integer=integer, floor=floor))
