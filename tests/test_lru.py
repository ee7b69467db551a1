"""The bounded cache behind the charts and the overview's sums, and the charts keyed by their values."""
from canteen.lru import BoundedCache
from canteen.web import chart_cache


def test_a_value_is_made_once_per_key_and_the_least_recently_used_leave_first():
    made: list[str] = []
    cache: BoundedCache[str] = BoundedCache(3)

    def make(name: str):
        return lambda: made.append(name) or name.upper()

    assert cache.get("a", make("a")) == "A" and cache.get("a", make("a again")) == "A" and made == ["a"]
    cache.get("b", make("b"))
    cache.get("c", make("c"))
    cache.get("a", make("a again"))  # a is now the most recently used; b the least
    cache.get("d", make("d"))  # one past the bound: b leaves
    assert cache.get("a", make("a again")) == "A" and cache.get("c", make("c again")) == "C"
    assert cache.get("b", make("b again")) == "B AGAIN" and made == ["a", "b", "c", "d", "b again"]  # made anew


def test_bar_charts_are_keyed_by_their_values():
    first = chart_cache.bar_chart(["11:00", "12:00"], [3, 4], "每小时回收餐盘", "餐盘")
    assert chart_cache.bar_chart(["11:00", "12:00"], [3, 4], "每小时回收餐盘", "餐盘") is first
    assert chart_cache.bar_chart(["11:00", "12:00"], [3, 5], "每小时回收餐盘", "餐盘") != first
