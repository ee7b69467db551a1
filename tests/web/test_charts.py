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


# ---- axes people can read ----------------------------------------------------


def drawn(fig):
    """The figure laid out as it would be saved, and its (first) axes."""
    _render_without_warnings(fig.draw_without_rendering)
    return fig.axes[0]


def visible_ticks(ax, axis: str = "y") -> list[str]:
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    scale = ax.yaxis if axis == "y" else ax.xaxis
    labels = scale.get_ticklabels()
    return [label.get_text() for tick, label in zip(scale.get_majorticklocs(), labels) if low <= tick <= high]


def test_counts_get_whole_number_ticks_only():
    # Two hours with 1 and 2 plates: matplotlib's default ticks would be 0, 0.25, 0.5, … 2.0.
    ax = drawn(charts.bar_figure(["11:00", "12:00"], [1, 2], "每小时回收餐盘数", "盘"))
    assert visible_ticks(ax) == ["0", "1", "2"]
    ax = drawn(charts.line_figure(["一月", "二月", "三月"], {"就餐人数": [1.0, 2.0, 1.0]}, TITLE, "人"))
    assert visible_ticks(ax) == ["0", "1", "2"]  # whole floats count as counts too


def test_a_caller_can_say_values_are_not_counts():
    ax = drawn(charts.bar_figure(["甲", "乙"], [1, 2], TITLE, "克", integer=False))
    assert "0.50" in visible_ticks(ax)


def test_scores_start_at_zero_with_plain_tick_labels():
    # Three quarters scoring 70.3, 70.45 and 70.5: the default axis would run 70.30 … 70.50 and
    # exaggerate 0.2 points into a steep climb.
    ax = drawn(charts.line_figure(["2026-Q1", "2026-Q2", "2026-Q3"], {"季度": [70.3, 70.45, 70.5]}, "总分", "分"))
    low, high = ax.get_ylim()
    assert low == 0 and 70.5 <= high < 80
    ticks = visible_ticks(ax)
    assert ticks[0] == "0" and "70" in ticks
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_a_caller_given_floor_and_no_offset_or_scientific_labels():
    ax = drawn(charts.line_figure(["甲", "乙", "丙"], {"总分": [60.0, 75.5, 90.0]}, "总分", "分", floor=50))
    assert ax.get_ylim()[0] == 50
    ax = drawn(charts.bar_figure(["甲", "乙"], [1_000_000, 2_000_000], "年度浪费", "克"))
    assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e6" above the axis
    assert "2000000" in visible_ticks(ax)


def test_values_below_the_floor_are_not_cut_off():
    ax = drawn(charts.line_figure(["甲", "乙"], {"变化": [-5.0, 3.0]}, TITLE, "克"))
    assert ax.get_ylim()[0] < -5


def test_the_legend_sits_below_the_plot_not_over_the_lines():
    days = [date(2026, 11, day) for day in range(2, 9)]
    fig = charts.line_figure(days, {"午餐": [120, 118, 110, 101, 99, 97, 95], "晚餐": [80.0] * 7}, TITLE, "克")
    ax = drawn(fig)
    assert ax.get_legend() is None and len(fig.legends) == 1
    legend_box = fig.legends[0].get_window_extent()
    assert legend_box.y1 <= ax.get_window_extent().y0  # wholly under the axes
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["午餐", "晚餐"]


def test_a_horizontal_bar_chart_of_scores_starts_at_zero():
    fig = charts.horizontal_bar_figure(["1. 食堂A", "2. 食堂B"], [92.5, 88.25], "各食堂得分", "得分")
    ax = drawn(fig)
    assert ax.get_xlim()[0] == 0 and ax.xaxis.get_offset_text().get_text() == ""


def test_a_trend_of_a_single_value_is_written_out_not_drawn():
    markup = _render_without_warnings(lambda: charts.line_chart(
        ["2026年\n10月", "11月", "12月"], {"人均餐余量": [None, 70.42, None]}, "近3期人均餐余量", "克/人·餐"))
    assert "<svg" not in markup
    assert markup.startswith('<div class="chart-single">')
    assert '<p class="chart-title">近3期人均餐余量</p>' in markup
    assert re.search(r'<span class="name">人均餐余量</span> <strong[^>]*>70\.4</strong> '
                     r'<span class="unit">克/人·餐</span> <span class="at">\(11月\)</span>', markup)


def test_a_single_value_is_escaped_and_a_count_has_no_decimals():
    markup = charts.line_chart([date(2026, 11, 23)], {"<b>就餐</b>": [1234.0]}, "人数", "人")
    assert "<b>" not in markup and "&lt;b&gt;就餐&lt;/b&gt;" in markup
    assert re.search(r"<strong[^>]*>1,234</strong>", markup) and "(2026-11-23)" in markup


def test_two_values_still_make_a_chart():
    assert charts.line_chart(["一月", "二月"], {"午餐": [1.5, 2.5]}, TITLE, "克").startswith("<svg")


def test_a_target_is_a_dashed_reference_line_and_not_a_trend():
    days = [date(2026, 11, day) for day in range(2, 5)]
    fig = charts.line_figure(days, {"人均餐余量": [60.0, 55.5, 52.0]}, TITLE, "克", reference={"目标": 50})
    ax = drawn(fig)
    target = [line for line in ax.get_lines() if line.get_label() == "目标"]
    assert len(target) == 1 and target[0].get_linestyle() == "--" and list(target[0].get_ydata()) == [50, 50]
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["人均餐余量", "目标"]
    # One day of data beside the target: still a single value, written out with the target next to it.
    markup = charts.line_chart(days, {"人均餐余量": [None, 55.5, None]}, TITLE, "克", reference={"目标": 50})
    assert "<svg" not in markup
    assert '<p class="chart-reference"><span class="name">目标</span> 50.0 <span class="unit">克</span></p>' in markup


DOLLAR_NAMES = ["南昌县$\\nope$食堂", "$x^2$", "价格$5"]


def test_names_with_dollar_signs_are_drawn_as_typed_not_as_mathtext():
    """matplotlib reads $…$ as TeX math: "$\\nope$" would be an unknown symbol (an error) and "$x^2$" a superscript."""
    bars = charts.bar_figure(DOLLAR_NAMES, [1, 2, 3], "标题$a$", "克")
    assert [label.get_text() for label in bars.axes[0].get_xticklabels()] == DOLLAR_NAMES
    assert not any(text.get_parse_math() for text in bars.axes[0].get_xticklabels())
    assert charts.figure_svg(bars).startswith("<svg")
    assert charts.horizontal_bar_chart(DOLLAR_NAMES, [1, 2, 3], "$排名$", "分").startswith("<svg")
    lines = charts.line_figure([date(2026, 10, 1), date(2026, 10, 2)], {name: [1, 2] for name in DOLLAR_NAMES},
                               "$趋势$", "克")
    assert sorted(text.get_text() for text in lines.legends[0].get_texts()) == sorted(DOLLAR_NAMES)
    assert charts.figure_svg(lines).startswith("<svg")
