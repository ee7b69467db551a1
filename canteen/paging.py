"""Pages of long lists, filtered, counted and cut in SQL: one Page type, one way to link the pages."""
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any, Generic, TypeVar

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from canteen.errors import InvalidInput

PER_PAGE = 50
LINKS_AROUND = 2  # page links either side of the current page, besides the first and the last

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):
    """One page of a list; `number` counts from 1, `total` is the whole list's length."""

    rows: Sequence[RowT]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    def numbers(self) -> list[int | None]:
        """The page numbers to link to: the first, the last and those near this one; None where some are skipped."""
        shown = sorted({1, self.pages, *range(max(1, self.number - LINKS_AROUND),
                                              min(self.pages, self.number + LINKS_AROUND) + 1)})
        numbers: list[int | None] = []
        for number in shown:
            if numbers and number - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(number)
        return numbers


def page_in_range(number: int, total: int, per_page: int) -> int:
    """The page to show: a page past the last shows the last one (the list may have shrunk since the link)."""
    if number < 1:
        raise InvalidInput("the page number must be 1 or more", field="page")
    return min(number, max(1, ceil(total / per_page)))


def count(session: Session, query: Any) -> int:
    return session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()


def paginate(session: Session, query: Any, number: int, per_page: int = PER_PAGE) -> Page[Any]:
    """The query's rows on page `number`, with the total count. `query` must be ordered, so pages do not overlap."""
    total = count(session, query)
    number = page_in_range(number, total, per_page)
    rows = list(session.exec(query.offset((number - 1) * per_page).limit(per_page)).all())
    return Page(rows=rows, total=total, number=number, per_page=per_page)


def matching(*columns: Any, text: str) -> Any:
    """Rows where any of the columns contains the text (case-insensitive; % and _ are literal)."""
    return or_(*(col(column).icontains(text.strip(), autoescape=True) for column in columns))
