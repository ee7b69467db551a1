"""The demo's default history (13 months) on a machine without Chromium: year-on-year figures for the current
month, model canteens graded 优秀 by the real scoring, the bulletin published as HTML alone, phases reported.

One demo is seeded per database backend for the whole module, as `canteen demo` seeds it, up to Monday
23 November 2026, 13:00 in Shanghai. The latest closed quarter is then 2026-Q3; its year-earlier quarter lies
before the history, so its 同比 indicator has no data and the model canteens reach 优秀 on the rest.
"""
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from canteen import demo
from canteen.access import SYSTEM
from canteen.assessment.bulletins.content import build_content
from canteen.assessment.models import Bulletin, BulletinStatus, Scorecard, ScorecardKind
from canteen.demo import levels, progress
from canteen.org.models import Bureau, Canteen
from canteen.web import pdf
from canteen.weighing import service as weighing_service
from tests.support import database

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def seeded(migrated_engine: Engine, tmp_path_factory) -> Iterator[tuple[Engine, demo.DemoData, progress.Progress]]:
    # Where the bulletins' renderer looks for Chromium holds nothing: the lookup fails as on a fresh machine.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "CHROMIUM", str(tmp_path_factory.mktemp("no-chromium") / "chromium"))
        shown = progress.Progress(io.StringIO(), "en")
        with Session(migrated_engine) as session:
            data = demo.seed(session, NOW, progress=shown)
            session.commit()
    yield migrated_engine, data, shown
    database.empty(migrated_engine)


@pytest.fixture
def session(seeded) -> Iterator[Session]:
    with Session(seeded[0]) as session:
        yield session


def test_the_current_month_has_year_on_year_figures(session):
    canteen = session.exec(select(Canteen).where(Canteen.name == "南昌市机关第一食堂")).one()
    series = weighing_service.daily_series(session, SYSTEM, canteen.id, date(2026, 11, 1), TODAY, NOW)
    # Weekdays of the month so far, each against the same weekday 52 weeks (364 days) earlier; a day the canteen
    # was closed, this year or last, has none.
    weekdays = [day for day in series.index if day.weekday() < 5]
    changes = series.loc[weekdays, "plate_waste_per_diner_g_yoy"]
    assert changes.notna().sum() >= 0.9 * len(weekdays)
    assert changes.iloc[-3:].notna().all()  # the last days, today's lunch included
    # The campaign worked: plate waste per diner fell on the year, by as much as surveys report after such work.
    assert -0.35 < changes.mean() < -0.1


def test_last_month_scores_a_year_on_year_fall(session):
    cards = session.exec(select(Scorecard).where(Scorecard.kind == ScorecardKind.monthly,
                                                 Scorecard.period == "2026-10")).all()
    w3 = [next(item for item in card.body["indicators"] if item["id"] == "W3") for card in cards]
    assert len(w3) == len(demo.CANTEENS)
    assert all(item["value"] is not None for item in w3)
    assert max(item["earned"] for item in w3) == 5  # a fall of 15% or more earns the full points


def test_model_canteens_are_excellent_in_the_latest_quarter_and_commended(session):
    cards = session.exec(select(Scorecard, Canteen).join(Canteen).where(
        Scorecard.kind == ScorecardKind.quarterly, Scorecard.period == "2026-Q3")).all()
    assert len(cards) == len(demo.CANTEENS)
    grades = {canteen.name: card.grade for card, canteen in cards}
    # Graded by the reference standard's bands (优秀 from 90 points), the total summed from the indicators.
    excellent = {name for name, grade in grades.items() if grade == "优秀"}
    # The model canteen that does all the work is among them; most canteens are not (a bulletin commends few).
    assert "江西省人民医院职工食堂" in excellent and len(excellent) <= len(cards) // 3
    for card, _canteen in cards:  # the demo awards no bonus: the total is the indicators' points
        assert card.total == pytest.approx(round(sum(item["earned"] for item in card.body["indicators"]), 1))
    assert grades[levels.LAGGING] != "优秀"
    province = session.exec(select(Bureau).where(Bureau.name == demo.PROVINCE)).one()
    content = build_content(session, SYSTEM, province.id, "2026-Q3")
    assert {entry["canteen"] for entry in content["commended"]} == excellent


def test_without_chromium_the_bulletin_is_published_as_html_alone(session, seeded):
    _engine, data, _shown = seeded
    assert not data.bulletin_pdf
    published = session.exec(select(Bulletin).where(Bulletin.status == BulletinStatus.published)).one()
    assert published.period == "2026-09"  # the month before last
    assert published.pdf is None
    assert published.html is not None and "本通报未生成 PDF 版" in published.html
    assert "下载 PDF 版" not in published.html


def test_seeding_reports_each_phase_and_its_time(seeded):
    _engine, _data, shown = seeded
    assert [name for name, _seconds in shown.timings] == [
        progress.ORGANISATIONS, progress.BOOKINGS, progress.HISTORY, progress.ROLLUPS, progress.POINTS,
        progress.ASSESSMENT, progress.BULLETIN]
    assert all(seconds >= 0 for _name, seconds in shown.timings)
    bars = shown.stream.getvalue()
    assert "history per canteen" in bars and "12/12" in bars
    summary = shown.summary()
    assert summary.startswith("Seeded in ") and "bulletin" in summary
