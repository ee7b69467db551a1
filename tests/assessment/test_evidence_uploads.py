"""Evidence files are taken for what their bytes are, not for what the browser says they are."""
import io
import re
import zipfile
from datetime import UTC, datetime

import pytest

from canteen.assessment import evidence
from canteen.assessment.models import EvaluationKind
from canteen.assessment.periods import parse_period
from canteen.errors import InvalidInput
from tests.support.files import JPEG, PNG, image_bytes

NOW = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def package(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in parts:
            archive.writestr(part, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "expected"), [
    (PDF, "application/pdf"),
    (JPEG, "image/jpeg"),
    (PNG, "image/png"),
    (image_bytes("WEBP"), "image/webp"),
    (package("[Content_Types].xml", "word/document.xml"), DOCX),
    (package("[Content_Types].xml", "xl/workbook.xml"), XLSX),
], ids=["pdf", "jpeg", "png", "webp", "docx", "xlsx"])
def test_accepted_types_are_known_by_their_bytes(data, expected):
    assert evidence.file_type(data) == expected


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff" + bytes(64),  # a JPEG's first bytes and nothing of a picture
    b"\x89PNG\r\n\x1a\n" + bytes(100),  # a PNG signature, no image
    PNG[: len(PNG) // 2],  # a photo cut off half way
    JPEG[:-40],
    b"<html><script>alert(1)</script></html>",
    b"MZ\x90\x00",  # a Windows program
    image_bytes("GIF"),  # a real picture, of a type not offered
    package("[Content_Types].xml", "ppt/presentation.xml"),  # an Office file of another kind
    package("word/document.xml"),  # no content types: not an Office package
    b"PK\x03\x04" + bytes(30),  # a broken ZIP
    b"%PD",
], ids=["jpeg-header", "png-header", "png-cut", "jpeg-cut", "html", "exe", "gif", "pptx", "bare-zip", "bad-zip",
        "pdf-too-short"])
def test_files_that_are_not_what_is_accepted_are_not_known(data):
    assert evidence.file_type(data) is None


def test_pictures_too_large_to_decode_are_refused_unopened(monkeypatch):
    monkeypatch.setattr(evidence, "MAX_IMAGE_PIXELS", 10 * 10)
    assert evidence.file_type(image_bytes("PNG", (10, 10))) == "image/png"
    assert evidence.file_type(image_bytes("PNG", (11, 10))) is None


def test_the_stored_type_is_the_files_own_whatever_the_browser_said(session, org, scope_of):
    operator = scope_of("operator_a")
    row = evidence.evaluation(session, operator, org.canteens["a"], parse_period("2026-Q4"), EvaluationKind.self, NOW)
    stored = evidence.attach_file(session, operator, row.id, "S1", "制度.pdf", "text/html", PDF, NOW)
    assert stored.content_type == "application/pdf"
    photo = evidence.attach_file(session, operator, row.id, None, "现场.jpg", "application/pdf", JPEG, NOW)
    assert photo.content_type == "image/jpeg"
    with pytest.raises(InvalidInput) as refused:
        evidence.attach_file(session, operator, row.id, None, "x.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(64), NOW)
    assert refused.value.field == "file" and refused.value.status_code == 422


def test_a_page_upload_with_the_wrong_bytes_is_refused_in_place(sign_in, org, csrf):
    client = sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    refused = client.post(url, data={"csrf_token": csrf(), "action": "save", "answer_S1": "met"},
                          files={"photos": ("宣传栏.jpg", b"<svg onload=alert(1)>", "image/jpeg")})
    assert refused.status_code == 422
    assert re.search(r'role="alert">[^<]*该文件不是可以打开的 PDF、Word、Excel 文件或照片', refused.text)
    assert "宣传栏.jpg" not in client.get(url).text  # nothing stored
    taken = client.post(url, data={"csrf_token": csrf(), "action": "save", "answer_S1": "met"},
                        files={"photos": ("宣传栏.png", PNG, "application/octet-stream")}, follow_redirects=False)
    assert taken.status_code == 303
    file_id = re.search(r'data-file="(\d+)">宣传栏.png<', client.get(url).text)[1]
    download = client.get(f"/assessment/files/{file_id}")
    assert download.headers["content-type"] == "image/png" and download.content == PNG


def test_a_rectification_answer_with_the_wrong_bytes_is_refused():
    """The notice's files go through the same check (canteen.assessment.rectification stores them alike)."""
    with pytest.raises(InvalidInput):
        evidence.stored_file("整改.pdf", "application/pdf", b"not a pdf", None, NOW, notice_id=1)
