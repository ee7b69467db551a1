"""Pages of long lists: which page numbers are linked, and which page a number past the end shows."""
import pytest

from canteen.errors import InvalidInput
from canteen.paging import Page, page_in_range


@pytest.mark.parametrize(("number", "pages", "shown"), [
    (1, 1, [1]), (1, 3, [1, 2, 3]), (1, 10, [1, 2, 3, None, 10]), (6, 10, [1, None, 4, 5, 6, 7, 8, None, 10]),
    (10, 10, [1, None, 8, 9, 10]), (4, 10, [1, 2, 3, 4, 5, 6, None, 10])])
def test_page_links_keep_the_ends_and_the_pages_near_this_one(number, pages, shown):
    assert Page(rows=[], total=pages * 20, number=number, per_page=20).numbers() == shown


def test_a_page_past_the_end_shows_the_last_and_page_zero_is_refused():
    assert page_in_range(9, total=101, per_page=50) == 3
    assert page_in_range(1, total=0, per_page=50) == 1
    with pytest.raises(InvalidInput):
        page_in_range(0, total=10, per_page=50)
