"""Published bulletins are public: the index, and the stored HTML and PDF served byte for byte, with a link from a
superseded version to its correction."""
from datetime import UTC, datetime, timedelta
from hashlib import sha256

import pytest
from sqlmodel import Session

from canteen.assessment.bulletins import service as bulletins
from tests.assessment.bulletin_data import jurisdiction, scope_of

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def versions(session: Session, org):
    """Version 1 published, then corrected by a published version 2, and a draft version 3."""
    jurisdiction(session, org)
    scope = scope_of(session, org, "bureau_c1")
    first = bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text={"opening": "现通报如下。"})
    bulletins.approve(session, scope, first.id, NOW)
    bulletins.publish(session, scope, first.id, NOW)
    second = bulletins.correct(session, scope, first.id, NOW + timedelta(days=1), note="更正食堂H所属单位。")
    bulletins.approve(session, scope, second.id, NOW + timedelta(days=1))
    bulletins.publish(session, scope, second.id, NOW + timedelta(days=1))
    bulletins.correct(session, scope, second.id, NOW + timedelta(days=2), note="尚未发布的更正")
    session.commit()
    return first, second


def test_published_bulletins_are_public_byte_for_byte_and_linked_across_versions(client, versions, org):
    # One test: publishing renders a PDF (seconds), so the versions are made once.
    first, second = versions
    page = client.get(f"/bulletins/{first.slug}", follow_redirects=False)
    pdf = client.get(f"/bulletins/{first.slug}.pdf", follow_redirects=False)
    assert page.status_code == 200 and pdf.status_code == 200  # no sign-in
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == first.html.encode("utf-8") and pdf.content == first.pdf
    assert sha256(page.content + pdf.content).hexdigest() == first.content_hash
    # The page leads to its own PDF and back to the index (the PDF, printed from it, does not show the links).
    assert f'<a href="/bulletins/{first.slug}.pdf" type="application/pdf">' in page.text
    assert '<a href="/bulletins" rel="index">' in page.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'inline; filename="{first.slug}.pdf"'

    # The superseded version points to its correction in a header; the correction names it in its own text.
    assert page.headers["link"] == f'</bulletins/{second.slug}>; rel="successor-version"'
    assert pdf.headers["link"] == page.headers["link"]
    new = client.get(f"/bulletins/{second.slug}")
    assert new.headers["link"] == f'</bulletins/{first.slug}>; rel="predecessor-version"'
    assert f'href="/bulletins/{first.slug}"' in new.text

    index = client.get("/bulletins", follow_redirects=False)
    assert index.status_code == 200
    rows = index.text.split('<tr data-slug="')[1:]
    assert [row.split('"')[0] for row in rows] == [second.slug, first.slug]  # the draft version 3 is not there
    assert 'class="superseded"' in rows[1] and f'href="/bulletins/{second.slug}" rel="successor-version"' in rows[1]
    assert "已被第 2 版更正" in rows[1]
    assert f'href="/bulletins/{first.slug}" rel="predecessor-version"' in rows[0] and "更正第 1 版" in rows[0]
    assert f'href="/bulletins/{first.slug}.pdf"' in rows[1] and "2026-11-23" in rows[1]

    for path in (f"/bulletins/{org.c1}-2026-10-v3", f"/bulletins/{org.c1}-2026-10-v3.pdf", "/bulletins/nothing"):
        assert client.get(path).status_code == 404


def test_the_index_is_empty_before_anything_is_published(client, org):
    assert "尚未发布通报" in client.get("/bulletins").text
