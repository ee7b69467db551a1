"""What a page under a paged list needs: the page, and the address of any other page with the same filters."""
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from canteen.paging import Page


def page_address(request: Request) -> Callable[[int], str]:
    """The address of page `number` of this list: this path, its filters kept, only the page changed."""
    filters = {name: value for name, value in request.query_params.items() if name != "page" and value}

    def address(number: int) -> str:
        return f"{request.url.path}?{urlencode({**filters, 'page': number})}"

    return address


def pager(request: Request, page: Page[Any]) -> dict[str, Any]:
    """The template context `_pages.html` reads, and the query (`query.get(...)`) the filter form shows again."""
    return {"page": page, "page_url": page_address(request), "query": request.query_params}
