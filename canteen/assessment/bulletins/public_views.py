"""Published bulletins for everyone, no sign-in: the index, and each bulletin's stored HTML and PDF byte for byte.

What a stored document cannot say (that a later correction supersedes it) goes in a `Link` header and on the
index page.
"""
from fastapi import APIRouter, Request
from fastapi.responses import Response

from canteen.assessment.bulletins import service as bulletins
from canteen.errors import NotFound
from canteen.web.deps import DbSession, Identified
from canteen.web.templating import render

router = APIRouter(include_in_schema=False)


def _link_header(links: dict[str, str]) -> dict[str, str]:
    return {"Link": ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())} if links else {}


@router.get("/bulletins", dependencies=[Identified])  # the layout shows who is signed in; nobody has to be
def bulletin_index(request: Request, session: DbSession, page: str = "1") -> Response:
    return render(request, "assessment/bulletins.html", {
        "page": bulletins.list_published(session, page=bulletins.page_number(page)),
        "page_url": lambda number: f"{bulletins.INDEX_URL}?page={number}",
        "url": bulletins.bulletin_url, "local_date": bulletins.local_date,
    })


# Before the HTML route, whose {slug} would also match "….pdf".
@router.get("/bulletins/{slug}.pdf")
def bulletin_pdf(slug: str, session: DbSession) -> Response:
    bulletin = bulletins.published(session, slug)
    if bulletin.pdf is None:  # published without Chromium: the HTML alone
        raise NotFound("bulletin {id} was published without its PDF", field="slug", id=slug)
    return Response(bulletin.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{bulletin.slug}.pdf"',
        **_link_header(bulletins.version_links(session, bulletin))})


@router.get("/bulletins/{slug}")
def bulletin_html(slug: str, session: DbSession) -> Response:
    bulletin = bulletins.published(session, slug)
    assert bulletin.html is not None  # stored when it was published
    return Response(bulletin.html.encode("utf-8"), media_type="text/html; charset=utf-8",
                    headers=_link_header(bulletins.version_links(session, bulletin)))
