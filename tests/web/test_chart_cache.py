"""Charts keyed by their values: drawn once for the same figures, anew for others."""
from canteen.web import chart_cache


def test_bar_charts_are_keyed_by_their_values():
    first = chart_cache.bar_chart(["11:00", "12:00"], [3, 4], "每小时回收餐盘", "餐盘")
    assert chart_cache.bar_chart(["11:00", "12:00"], [3, 4], "每小时回收餐盘", "餐盘") is first
    assert chart_cache.bar_chart(["11:00", "12:00"], [3, 5], "每小时回收餐盘", "餐盘") != first
