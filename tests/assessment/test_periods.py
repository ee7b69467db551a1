"""Months and quarters: parsing, bounds, the previous period and the same period a year earlier."""
from datetime import date

import pytest

from canteen.assessment.models import ScorecardKind
from canteen.assessment.periods import months_of, parse_period, period_containing
from canteen.errors import InvalidInput


def test_months_and_quarters():
    february = parse_period("2028-02")
    assert (february.starts, february.ends, february.kind) == (date(2028, 2, 1), date(2028, 2, 29),
                                                               ScorecardKind.monthly)
    assert str(parse_period("2026-01").previous) == "2025-12"
    q4 = parse_period("2026-Q4")
    assert (q4.starts, q4.ends, str(q4.previous), str(q4.year_earlier)) == (
        date(2026, 10, 1), date(2026, 12, 31), "2026-Q3", "2025-Q4")
    assert [str(month) for month in months_of(q4)] == ["2026-10", "2026-11", "2026-12"]
    assert str(period_containing(date(2026, 5, 31), ScorecardKind.quarterly)) == "2026-Q2"


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26-10", "2026-10-01", "1999-01", ""])
def test_other_texts_are_refused(text):
    with pytest.raises(InvalidInput) as refused:
        parse_period(text)
    assert refused.value.field == "period"
