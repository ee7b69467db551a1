"""Server-side charts: matplotlib (Agg, no display) with a CJK font, rendered to SVG with text as paths.

Text becomes glyph outlines inside the SVG, so a browser needs no Chinese font to show a chart. The font is
Noto Sans CJK from Debian's `fonts-noto-cjk` (installed by scripts/install-system-deps.sh); without it
the charts refuse to render rather than draw empty boxes (tofu) in place of Chinese characters.

Figures are built with `matplotlib.figure.Figure`, not pyplot, so charts can be drawn from several request
threads at once.
"""
import io
import threading
from collections.abc import Mapping, Sequence
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
from matplotlib.figure import Figure  # noqa: E402

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


def _style(ax, title: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str) -> str:
    """Bars with their values written on top, as SVG."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values")
    fig = new_figure()
    ax = fig.add_subplot()
    bars = ax.bar(range(len(values)), values, color=PALETTE[0], width=0.6)
    ax.bar_label(bars, fmt="{:.4g}", padding=2, fontsize="small")
    ax.set_xticks(range(len(labels)), labels)
    if len(labels) > 5 or any(len(label) > 8 for label in labels):
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    _style(ax, title, ylabel)
    return figure_svg(fig)


def line_chart(x: Sequence[date | str], series: Mapping[str, Sequence[float | None]], title: str,
               ylabel: str) -> str:
    """One line per series, as SVG; None leaves a gap in the line (a lone value shows as a dot)."""
    fig = new_figure()
    ax = fig.add_subplot()
    xs = cast(Any, list(x))  # matplotlib's stubs do not know it converts dates through its unit registry
    for index, (name, values) in enumerate(series.items()):
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(x)} x positions")
        ys = [float("nan") if value is None else value for value in values]
        ax.plot(xs, ys, label=name, color=PALETTE[index % len(PALETTE)], marker="o", markersize=3,
                linewidth=1.8)
    if x and isinstance(x[0], date):
        if len(x) > 1:
            ax.set_xlim(xs[0], xs[-1])  # the whole range, even where only a few days have values
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
            locator, formats=["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%S"],
            offset_formats=["", "%Y", "%Y", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))
    if len(series) > 1:
        ax.legend(frameon=False, fontsize="small")
    _style(ax, title, ylabel)
    return figure_svg(fig)


def horizontal_bar_chart(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
                         colors: Sequence[str] | None = None) -> str:
    """One bar per label, top to bottom in the given order, values written at the bars' ends, as SVG."""
    if len(labels) != len(values) or (colors is not None and len(colors) != len(values)):
        raise ValueError(f"{len(labels)} labels, {len(values)} values and {len(colors or values)} colours")
    fig = new_figure((FIGSIZE[0], max(FIGSIZE[1], 0.9 + 0.28 * len(labels))))
    ax = fig.add_subplot()
    positions = range(len(values))
    bars = ax.barh(positions, values, color=list(colors) if colors is not None else PALETTE[0], height=0.65)
    ax.bar_label(bars, fmt="{:.4g}", padding=2, fontsize="small")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    return figure_svg(fig)
