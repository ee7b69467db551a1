"""Bulletins: content from scorecards, hand-checked (see bulletin_data.py), and the workflow draft -> approved ->
published, with corrections, on both databases."""
import json
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256

import pytest
from sqlmodel import Session, select

from canteen.access import SYSTEM
from canteen.assessment.bulletins import content as bulletin_content
from canteen.assessment.bulletins import service as bulletins
from canteen.assessment.models import AssessmentStandard, Bulletin, BulletinStatus
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.models import CanteenCreate
from tests.assessment.bulletin_data import add_scorecard, jurisdiction, scope_of

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
TEXT = {"opening": "为贯彻落实反食品浪费法，现将评估情况通报如下。", "good_practices": "推行小份菜、半份菜。",
        "requirements": "各单位要对照问题抓好整改。"}


@pytest.fixture
def data(session: Session, org):
    return jurisdiction(session, org)


def content_for(session, org, username="bureau_c1", bureau=None, period="2026-10", **options):
    return bulletin_content.build_content(session, scope_of(session, org, username), bureau or org.c1, period, **options)


# ---- content -----------------------------------------------------------------


def test_summary_figures_are_those_worked_out_by_hand(session, org, data):
    content = content_for(session, org)
    summary = content["summary"]
    assert summary["assessed"] == 4
    assert summary["grades"] == [{"name": "优秀", "count": 1, "share": 0.25}, {"name": "良好", "count": 1, "share": 0.25},
                                 {"name": "合格", "count": 0, "share": 0.0}, {"name": "不合格", "count": 2, "share": 0.5}]
    assert summary["average_total"] == 87.6  # (98.0 + 88.5 + 65.0 + 99.0) / 4 = 87.625
    # (42 × 2000 + 54 × 1000 + 72 × 500 + 36 × 1500) / 5000 diners
    assert summary["plate_waste_g_per_diner"] == 45.6
    assert summary["diners"] == 5000
    assert summary["previous"] == {"period": "2026-09", "label": "2026年9月", "assessed": 2, "average_total": 92.3,
                                   "plate_waste_g_per_diner": 52.0, "diners": 3000}
    assert summary["change"] == {"average_total": -4.7, "plate_waste_pct": -12.3}  # 45.6 / 52.0 - 1
    assert content["period"] == {"code": "2026-10", "kind": "monthly", "label": "2026年10月"}
    assert content["bureau"] == {"id": org.c1, "name": "C1市"}
    assert content["grades"] == ["优秀", "良好", "合格", "不合格"]
    assert [(item["code"], item["canteens"]) for item in content["standards"]] == [("CANTEEN-REF", 4)]


def test_ranking_commendations_and_failing_canteens_in_order(session, org, data):
    content = content_for(session, org, issued_on=date(2026, 11, 23))
    assert [(entry["rank"], entry["canteen"], entry["bureau"], entry["serving_mode"], entry["total"], entry["grade"])
            for entry in content["ranking"]] == [
        (1, "市政府机关食堂", "C1市", "buffet", 99.0, "不合格"),
        (2, "食堂A", "K1县", "buffet", 98.0, "优秀"),
        (3, "食堂H", "C1市", "set-meal", 88.5, "良好"),
        (4, "城关机关食堂", "K1县", "table", 65.0, "不合格"),
    ]
    # A veto outranks the total: the best-scoring canteen is not commended.
    assert [(item["canteen"], item["total"]) for item in content["commended"]] == [("食堂A", 98.0)]
    assert [item["canteen"] for item in content["failing"]] == ["市政府机关食堂", "城关机关食堂"]
    vetoed, failing = content["failing"]
    assert vetoed["vetoes"] == [{"id": "V1", "name": "被查实存在严重浪费问题或被媒体曝光"}]
    assert [(item["id"], item["lost"]) for item in vetoed["indicators"]] == [("W2", 1.0)]
    assert [(item["id"], item["lost"]) for item in failing["indicators"]] == [
        ("W2", 7.0), ("G1", 5.0), ("G2", 5.0), ("M3", 5.0), ("M5", 5.0), ("S2", 5.0), ("M4", 3.0)]
    assert failing["indicators"][0]["reason"].startswith("人均餐余量 72 克/人·餐")
    assert failing["indicators"][1]["reason"] == "自评：未达到"
    assert content["vetoed"] == [{"canteen_id": data.canteens["v"], "canteen": "市政府机关食堂", "bureau": "C1市",
                                  "total": 99.0, "vetoes": [{"id": "V1", "name": "被查实存在严重浪费问题或被媒体曝光"}]}]
    assert content["rectification"] == {"days": 30, "deadline": "2026-12-23"}


def test_equal_totals_share_a_rank(session, org, data):
    tied = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=org.c1, name="食堂T"), "Asia/Shanghai")
    add_scorecard(session, session.get(AssessmentStandard, data.reference), tied.id, "2026-10", waste=42, diners=10)
    ranking = content_for(session, org)["ranking"]
    assert [(entry["rank"], entry["canteen"], entry["total"]) for entry in ranking] == [
        (1, "市政府机关食堂", 99.0), (2, "食堂A", 98.0), (2, "食堂T", 98.0), (4, "食堂H", 88.5), (5, "城关机关食堂", 65.0)]


def test_trend_holds_twelve_periods_with_gaps(session, org, data):
    trend = content_for(session, org)["trend"]
    assert [point["period"] for point in trend][:2] == ["2025-11", "2025-12"]
    assert [point["period"] for point in trend][-1] == "2026-10" and len(trend) == 12
    assert [point["plate_waste_g_per_diner"] for point in trend] == [None] * 10 + [52.0, 45.6]


def test_a_bureau_sees_only_its_subtree(session, org, data):
    county = content_for(session, org, bureau=org.k1)
    assert [entry["canteen"] for entry in county["ranking"]] == ["食堂A", "城关机关食堂"]
    with pytest.raises(NotFound):
        content_for(session, org, bureau=org.province)
    with pytest.raises(NotFound):
        content_for(session, org, username="bureau_k2")
    province = content_for(session, org, username="admin", bureau=org.province)
    assert {entry["canteen"] for entry in province["ranking"]} == {"食堂A", "食堂B", "食堂H", "城关机关食堂", "市政府机关食堂"}


def test_several_standards_are_each_named_and_grade_their_own_canteens(session, org, data):
    content = content_for(session, org, username="admin", bureau=org.province)
    assert [(item["code"], item["canteens"]) for item in content["standards"]] == [
        ("CANTEEN-REF", 4), ("DB36/T 9999-2024", 1)]
    assert [item["canteen"] for item in content["commended"]] == ["食堂B", "食堂A"]


def test_content_is_json_and_deterministic(session, org, data):
    first = content_for(session, org, issued_on=date(2026, 11, 23))
    assert json.loads(json.dumps(first, ensure_ascii=False)) == first
    assert content_for(session, org, issued_on=date(2026, 11, 23)) == first


def test_quarters_read_quarterly_scorecards_only(session, org, data):
    content = content_for(session, org, period="2026-Q4")
    assert content["summary"]["assessed"] == 0 and content["ranking"] == []
    assert content["period"]["label"] == "2026年第四季度"
    with pytest.raises(InvalidInput):
        content_for(session, org, period="2026-13")


@pytest.mark.parametrize("username", ["operator_a", "diner_a"])
def test_operators_and_diners_are_refused(session, org, data, username):
    with pytest.raises(Forbidden):
        content_for(session, org, username=username)
    with pytest.raises(Forbidden):
        bulletins.create_draft(session, scope_of(session, org, username), org.k1, "2026-10", NOW)


# ---- workflow ----------------------------------------------------------------


def test_draft_approve_publish_and_nothing_changes_after(session, org, data):
    scope = scope_of(session, org, "bureau_c1")
    draft = bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text=TEXT)
    assert (draft.status, draft.version, draft.title) == (
        BulletinStatus.draft, 1, "关于2026年10月机关食堂反食品浪费工作成效评估情况的通报")
    bulletins.update_draft(session, scope, draft.id, text={"requirements": "  限期整改。 "})
    assert draft.text == TEXT | {"requirements": "限期整改。"}
    with pytest.raises(Conflict):
        bulletins.create_draft(session, scope, org.c1, "2026-10", NOW)

    approved = bulletins.approve(session, scope, draft.id, NOW)
    assert approved.status is BulletinStatus.approved and approved.approved_by == org.users["bureau_c1"]
    assert approved.content == content_for(session, org, issued_on=date(2026, 11, 23))
    # Frozen: a scorecard computed later does not move the approved figures.
    add_scorecard(session, session.get(AssessmentStandard, data.reference), data.canteens["h"], "2026-08",
                  waste=10, diners=5)
    with pytest.raises(Conflict):
        bulletins.update_draft(session, scope, draft.id, title="改过的标题")
    with pytest.raises(Conflict):
        bulletins.approve(session, scope, draft.id, NOW)

    published = bulletins.publish(session, scope, draft.id, NOW + timedelta(days=1))
    session.commit()
    assert published.status is BulletinStatus.published and published.slug == f"{org.c1}-2026-10-v1"
    assert published.pdf.startswith(b"%PDF-")
    assert published.content_hash == sha256(published.html.encode() + published.pdf).hexdigest()
    assert "关于2026年10月机关食堂反食品浪费工作成效评估情况的通报" in published.html
    assert "2026年11月24日" in published.html and "限期整改。" in published.html
    stored = (published.html, published.pdf, published.content_hash)
    for refused in (lambda: bulletins.update_draft(session, scope, draft.id, text={"opening": "改"}),
                    lambda: bulletins.approve(session, scope, draft.id, NOW),
                    lambda: bulletins.publish(session, scope, draft.id, NOW)):
        with pytest.raises(Conflict):
            refused()
    with pytest.raises(Conflict):
        bulletins.create_draft(session, scope, org.c1, "2026-10", NOW)
    assert bulletins.published(session, published.slug) is published
    assert (published.html, published.pdf, published.content_hash) == stored
    notices = bulletins.failing_canteens(published)
    assert [(item.canteen_id, item.deadline) for item in notices] == [
        (data.canteens["v"], date(2026, 12, 23)), (data.canteens["x"], date(2026, 12, 23))]
    assert [indicator["id"] for indicator in notices[1].failing][:2] == ["W2", "G1"]


def test_a_correction_is_a_new_version_linked_both_ways(session, org, data):
    scope = scope_of(session, org, "bureau_c1")
    first = bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text=TEXT)
    bulletins.approve(session, scope, first.id, NOW)
    bulletins.publish(session, scope, first.id, NOW)
    old_bytes = (first.html, first.pdf)
    with pytest.raises(InvalidInput):
        bulletins.correct(session, scope, first.id, NOW, note="  ")

    second = bulletins.correct(session, scope, first.id, NOW + timedelta(days=2), note="更正食堂H的得分。")
    assert (second.version, second.status, second.supersedes_id) == (2, BulletinStatus.draft, first.id)
    assert second.text == first.text and second.correction_note == "更正食堂H的得分。"
    with pytest.raises(Conflict):
        bulletins.correct(session, scope, first.id, NOW, note="再次更正")
    with pytest.raises(Conflict):
        bulletins.correct(session, scope, second.id, NOW, note="草稿不能更正")
    assert bulletins.successor(session, first) is None  # a draft is not public yet

    bulletins.approve(session, scope, second.id, NOW + timedelta(days=2))
    bulletins.publish(session, scope, second.id, NOW + timedelta(days=2))
    session.commit()
    assert "更正并替代2026年11月23日发布的第1版" in second.html and f'href="/bulletins/{first.slug}"' in second.html
    assert "更正食堂H的得分。" in second.html
    assert second.slug == f"{org.c1}-2026-10-v2"
    assert (first.html, first.pdf) == old_bytes and first.status is BulletinStatus.published
    assert bulletins.successor(session, first).id == second.id

    entries = bulletins.list_published(session).rows
    assert [(entry.bulletin.version, entry.bureau) for entry in entries] == [(2, "C1市"), (1, "C1市")]
    assert entries[0].supersedes.id == first.id and entries[0].superseded_by is None
    assert entries[1].superseded_by.id == second.id and entries[1].supersedes is None
    assert bulletins.list_published(session, bureau_id=org.k2).rows == []
    assert bulletins.list_published(session, bureau_id=org.province).total == 2
    # One a page: each version still names the other, which is on another page.
    (newer,) = bulletins.list_published(session, per_page=1).rows
    (older,) = bulletins.list_published(session, page=2, per_page=1).rows
    assert (newer.bulletin.id, newer.supersedes.id, newer.superseded_by) == (second.id, first.id, None)
    assert (older.bulletin.id, older.supersedes, older.superseded_by.id) == (first.id, None, second.id)


def test_scoping_of_the_workflow(session, org, data):
    c1, k2, admin = (scope_of(session, org, name) for name in ("bureau_c1", "bureau_k2", "admin"))
    county = bulletins.create_draft(session, c1, org.k1, "2026-10", NOW)  # a bureau acts on those below it
    with pytest.raises(NotFound):
        bulletins.create_draft(session, c1, org.province, "2026-10", NOW)
    with pytest.raises(NotFound):
        bulletins.update_draft(session, k2, county.id, title="别人的通报")
    with pytest.raises(NotFound):
        bulletins.approve(session, k2, county.id, NOW)
    with pytest.raises(Forbidden):
        bulletins.approve(session, scope_of(session, org, "operator_a"), county.id, NOW)
    assert bulletins.approve(session, admin, county.id, NOW).content["bureau"]["id"] == org.k1
    assert [bulletin.id for bulletin in bulletins.list_bulletins(session, c1, org.k1).rows] == [county.id]
    system_draft = bulletins.create_draft(session, SYSTEM, org.k2, "2026-10", NOW)
    assert system_draft.created_by is None


def test_bad_drafts_are_refused(session, org, data):
    scope = scope_of(session, org, "bureau_c1")
    with pytest.raises(InvalidInput):
        bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text={"closing": "此致"})
    with pytest.raises(InvalidInput):
        bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, title=" ")
    with pytest.raises(InvalidInput):
        bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text={"opening": "长" * 20_001})
    with pytest.raises(InvalidInput) as refused:
        bulletins.create_draft(session, scope, org.c1, "2026-Q4", NOW)  # no quarterly scorecard yet
    assert (refused.value.field, refused.value.params) == ("period", {"period": "2026-Q4"})
    assert session.exec(select(Bulletin)).all() == []


def test_a_draft_for_a_month_of_scorecards_elsewhere_is_refused(session, org, data):
    """K2's only scorecard is B's in October; C1's September cards are no use to K2."""
    k2 = scope_of(session, org, "bureau_k2")
    with pytest.raises(InvalidInput):
        bulletins.create_draft(session, k2, org.k2, "2026-09", NOW)
    assert bulletins.create_draft(session, k2, org.k2, "2026-10", NOW).version == 1


def test_a_bulletin_not_yet_published_can_be_deleted_a_published_one_cannot(session, org, data):
    scope = scope_of(session, org, "bureau_c1")
    draft = bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text=TEXT)
    with pytest.raises(NotFound):
        bulletins.delete_draft(session, scope_of(session, org, "bureau_k2"), draft.id)
    assert bulletins.delete_draft(session, scope, draft.id) == org.c1
    assert session.get(Bulletin, draft.id) is None
    again = bulletins.create_draft(session, scope, org.c1, "2026-10", NOW)  # the period is free again
    bulletins.approve(session, scope, again.id, NOW)
    bulletins.publish(session, scope, again.id, NOW)
    with pytest.raises(Conflict):
        bulletins.delete_draft(session, scope, again.id)
    correction = bulletins.correct(session, scope, again.id, NOW, note="更正")
    bulletins.delete_draft(session, scope, correction.id)  # an unpublished correction goes; the original stays
    session.commit()
    assert [(row.version, row.status) for row in session.exec(select(Bulletin))] == [(1, BulletinStatus.published)]
    assert bulletins.correct(session, scope, again.id, NOW, note="再次更正").version == 2


def test_lists_are_paged_newest_first(session, org, data):
    scope = scope_of(session, org, "bureau_c1")
    periods = [f"2026-{month:02d}" for month in range(1, 11)]
    standard = session.get(AssessmentStandard, data.reference)
    for period in periods[:8]:  # 2026-09 and 2026-10 have their scorecards already
        add_scorecard(session, standard, data.canteens["h"], period, waste=50, diners=100)
    for period in periods:
        bulletins.create_draft(session, scope, org.c1, period, NOW)
    first = bulletins.list_bulletins(session, scope, org.c1, per_page=4)
    assert [row.period for row in first.rows] == ["2026-10", "2026-09", "2026-08", "2026-07"]
    assert (first.number, first.total, first.pages) == (1, 10, 3)  # 10 / 4 -> 3 pages
    last = bulletins.list_bulletins(session, scope, org.c1, page=3, per_page=4)
    assert [row.period for row in last.rows] == ["2026-02", "2026-01"]
    assert bulletins.list_bulletins(session, scope, org.c1, page=9, per_page=4).number == 3  # past the end
    with pytest.raises(InvalidInput):
        bulletins.list_bulletins(session, scope, org.c1, page=0)
    assert bulletins.list_bulletins(session, scope, org.c1).total == 10  # 20 a page by default
    assert len(bulletins.list_bulletins(session, scope, org.c1).rows) == 10


def test_preview_shows_a_draft_with_todays_figures(session, org, data):
    scope = scope_of(session, org, "bureau_c1")
    draft = bulletins.create_draft(session, scope, org.c1, "2026-10", NOW, text=TEXT)
    html = bulletins.preview_html(session, scope, draft.id, NOW)
    assert "城关机关食堂" in html and "2026年12月23日" in html and TEXT["good_practices"] in html
