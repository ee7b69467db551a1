"""A bulletin as HTML (a standalone printable Chinese document with inline SVG charts) and as a PDF whose
Chinese text is real, extractable text in embedded fonts."""
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlmodel import Session

from canteen.assessment.bulletins import content as bulletin_content
from canteen.assessment.bulletins.render import BulletinMeta, PreviousVersion, render_html
from canteen.web.pdf import render_pdf
from tests.assessment.bulletin_data import jurisdiction, scope_of

TITLE = "关于2026年10月机关食堂反食品浪费工作成效评估情况的通报"
TEXT = {"opening": "现将评估情况通报如下。\n\n请各单位认真对照。", "good_practices": "<b>推行</b>小份菜。",
        "requirements": ""}
META = BulletinMeta(title=TITLE, issuer="C1市", version=1, issued_on=date(2026, 11, 23))


@pytest.fixture
def content(session: Session, org):
    jurisdiction(session, org)
    return bulletin_content.build_content(session, scope_of(session, org, "bureau_c1"), org.c1, "2026-10",
                                   issued_on=date(2026, 11, 23))


def test_the_document_reports_the_content(content):
    html = render_html(content, TEXT, META)
    assert html.startswith("<!doctype html>") and f"<title>{TITLE}</title>" in html
    assert "<p>现将评估情况通报如下。</p><p>请各单位认真对照。</p>" in html
    assert "共对C1市辖区内 4 家食堂进行了评估" in html
    assert "优秀 1 家（占 25.0%）" in html and "不合格 2 家（占 50.0%）" in html
    assert "平均得分 87.6 分，较2026年9月（92.3 分）降低 4.7 分" in html
    assert "人均餐余量为 45.6 克/人·餐，较2026年9月（52.0 克/人·餐）下降 12.3%" in html
    assert "食堂A（K1县，98.0 分）。" in html
    assert "否决事项：被查实存在严重浪费问题或被媒体曝光" in html
    assert "W2 人均餐余量（7.00）：人均餐余量 72 克/人·餐" in html
    assert "于<strong>2026年12月23日</strong>前" in html
    assert "工作要求" not in html  # the bureau wrote no requirements
    assert "评估依据：机关食堂反食品浪费工作成效评估（参考）（CANTEEN-REF，第 1.0 版）" in html
    ranking = html[html.index("附件：各食堂评估得分排名"):]
    assert re.findall(r"<tr><td class=\"number\">(\d+)</td><td>([^<]+)</td>", ranking) == [
        ("1", "市政府机关食堂"), ("2", "食堂A"), ("3", "食堂H"), ("4", "城关机关食堂")]
    assert "套餐" in ranking and "桌餐" in ranking


def test_the_document_stands_alone_with_charts_drawn_as_paths(content):
    html = render_html(content, TEXT, META)
    assert html.count("<svg") == 3  # grades, plate-waste trend, ranking
    assert "<text" not in html and "<script" not in html
    assert not re.search(r"""(?:src|href)=["'](?:https?:|/static)""", html)
    assert "@page" in html and "size: A4" in html


def test_the_bureaus_words_are_escaped(content):
    html = render_html(content, TEXT, META)
    assert "&lt;b&gt;推行&lt;/b&gt;小份菜。" in html and "<b>推行</b>" not in html


def test_a_correction_names_the_version_it_replaces(content):
    meta = BulletinMeta(title=TITLE, issuer="C1市", version=2, issued_on=date(2026, 11, 25),
                        supersedes=PreviousVersion(1, TITLE, "/bulletins/2-2026-10-v1", date(2026, 11, 23)),
                        correction_note="食堂H的得分有误，予以更正。")
    html = render_html(content, TEXT, meta)
    assert "（第2版）" in html
    assert f'更正并替代2026年11月23日发布的第1版<a href="/bulletins/2-2026-10-v1">《{TITLE}》</a>' in html
    assert "<p>食堂H的得分有误，予以更正。</p>" in html


def test_without_a_date_the_deadline_counts_from_issue(session, org):
    jurisdiction(session, org)
    undated = bulletin_content.build_content(session, scope_of(session, org, "bureau_c1"), org.c1, "2026-10")
    assert "自本通报印发之日起 30 日内" in render_html(undated, TEXT, META)


def test_the_pdf_embeds_its_fonts_and_holds_the_chinese_names_as_text(content):
    pdf = render_pdf(render_html(content, TEXT, META))
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4, 210 mm
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font
                          else font).get("/FontDescriptor")
            fonts[font.get("/BaseFont")] = font["/Subtype"], sorted(
                key for key in (descriptor.get_object() if descriptor else {}) if key.startswith("/FontFile"))
    assert fonts and all(subtype == "/Type0" and files == ["/FontFile2"] for subtype, files in fonts.values()), fonts
    assert any("NotoSerifCJK" in name for name in fonts) and any("NotoSansCJK" in name for name in fonts)
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    for name in ("城关机关食堂", "市政府机关食堂", "食堂A", "食堂H", TITLE, "人均餐余量为45.6克/人·餐", "2026年12月23日"):
        assert name in text


def test_the_published_page_links_to_its_pdf_and_the_index_which_the_pdf_leaves_out(content):
    meta = BulletinMeta(title=TITLE, issuer="C1市", version=1, issued_on=date(2026, 11, 23),
                        public_url="/bulletins/2-2026-10-v1", index_url="/bulletins")
    html = render_html(content, TEXT, meta)
    links = re.search(r'<nav class="document-links">(.*?)</nav>', html, re.S)[1]
    assert '<a href="/bulletins" rel="index">← 全部通报</a>' in links
    assert '<a href="/bulletins/2-2026-10-v1.pdf" type="application/pdf">下载 PDF 版</a>' in links
    assert "<nav" not in render_html(content, TEXT, META)  # a preview is published nowhere yet
    reader = PdfReader(io.BytesIO(render_pdf(html)))
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    assert TITLE in text and "全部通报" not in text and "下载PDF版" not in text
