import re
import warnings
from datetime import date
from pathlib import Path

import pytest
from matplotlib import font_manager

from canteen.web import charts

TITLE = "每人餐均浪费（克）"


def _render_without_warnings(render):
    # matplotlib reports a character its fonts lack as "Glyph ... missing from font(s)": make that fatal.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render()


def test_sans_serif_resolves_to_noto_cjk():
    family = charts.configure()
    assert family.startswith("Noto Sans CJK")
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert Path(path).name.startswith("NotoSansCJK")


def test_bar_chart_with_chinese_text_embeds_glyphs_as_paths():
    svg = _render_without_warnings(lambda: charts.bar_chart(
        ["南昌市机关第一食堂", "南昌市第一医院职工食堂", "进贤县机关食堂"], [38.5, 52.0, 41.25], TITLE, "克"))
    assert svg.startswith("<svg")
    assert "<text" not in svg
    assert "<path" in svg
    assert re.search(r'id="NotoSansCJK\w*-Regular-[0-9a-f]+"', svg), "glyphs should come from Noto Sans CJK"


def test_line_chart_leaves_gaps_for_missing_values():
    days = [date(2026, 11, day) for day in range(2, 9)]
    svg = _render_without_warnings(lambda: charts.line_chart(
        days, {"午餐": [120, 118, None, 101, 99, None, 95], "晚餐": [80.0] * 7}, TITLE, "克"))
    assert "<text" not in svg

    def line_path(color: str) -> str:
        # The plotted line is the clipped, unfilled path in the series colour (the legend sample is unclipped).
        for element in re.findall(r"<path [^>]*>", svg):
            if "clip-path" in element and f"stroke: {color}" in element and "fill: none" in element:
                return re.search(r'd="([^"]*)"', element).group(1)
        raise AssertionError(f"no line in {color}")

    lunch = line_path(charts.PALETTE[0]).split()
    # [a, b] gap [c, d] gap [e]: three pieces, each starting with a move; two of them drawn as lines.
    assert lunch.count("M") == 3
    assert lunch.count("L") == 2
    dinner = line_path(charts.PALETTE[1]).split()
    assert dinner.count("M") == 1 and dinner.count("L") == 6


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        charts.bar_chart(["甲", "乙"], [1.0], TITLE, "克")
    with pytest.raises(ValueError):
        charts.line_chart(["一月", "二月"], {"午餐": [1.0]}, TITLE, "克")


def test_png_output():
    png = _render_without_warnings(lambda: charts.figure_png(charts.new_figure()))
    assert png.startswith(b"\x89PNG")


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(charts, "FONT_DIRS", ())
    monkeypatch.setattr(charts, "_cjk_families", lambda: [])
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        charts.find_cjk_family()
