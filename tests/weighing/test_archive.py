"""`canteen db archive`: old months of plate weighings exported to checked CSV.gz files and dropped; rollups stay."""
import csv
import gzip
import hashlib
import io
import subprocess
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from canteen import cli
from canteen.access import SYSTEM
from canteen.errors import InvalidInput
from canteen.org.models import Station
from canteen.weighing import archive, partitions, service
from canteen.weighing.models import DailyRollup, DinerCountEntry, KitchenCategory, KitchenEntry, Meal, PlateWeighing

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SEPTEMBER = date(2026, 9, 1)


def plates_in_september_and_october(engine, org) -> list[int]:
    """Three lunch plates on 14 September (12:00, 12:01, 12:02 in Shanghai), one on 2 October; their ids."""
    with Session(engine) as session:
        partitions.ensure_partitions(session.connection(), [SEPTEMBER, date(2026, 10, 1)])
        station = session.get(Station, org.stations["a"])
        for day, seqs, grams in ((14, [1, 2, 3], [10, 30, 0]), ):
            items = [{"seq": seq, "measured_at": datetime(2026, 9, day, 4, minute, tzinfo=UTC).isoformat(),
                      "grams": g} for minute, (seq, g) in enumerate(zip(seqs, grams))]
            service.ingest(session, station, items, datetime(2026, 9, day, 6, 0, tzinfo=UTC))
        service.ingest(session, station, [{"seq": 4, "measured_at": "2026-10-02T04:00:00+00:00", "grams": 5}],
                       datetime(2026, 10, 2, 6, 0, tzinfo=UTC))
        service.refresh_stale(session, NOW)
        session.commit()
        return list(session.exec(select(PlateWeighing.id).order_by(PlateWeighing.id)))


def september_rollup(session) -> DailyRollup:
    return session.exec(select(DailyRollup).where(DailyRollup.service_date == date(2026, 9, 14))).one()


def test_a_month_is_exported_checked_and_dropped_and_its_rollups_stay(engine, org, tmp_path):
    ids = plates_in_september_and_october(engine, org)
    station, canteen = org.stations["a"], org.canteens["a"]

    results = archive.archive(engine, date(2026, 10, 1), tmp_path, NOW)

    name = "plateweighing-2026-09.csv.gz"
    content = (tmp_path / name).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    assert [(r.month, r.plates, r.file, r.sha256, r.skipped) for r in results] == [
        (SEPTEMBER, 3, name, digest, False)]
    assert (tmp_path / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
    assert subprocess.run(["sha256sum", "-c", f"{name}.sha256"], cwd=tmp_path, capture_output=True).returncode == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [name, f"{name}.sha256"]  # no temporary file left
    lines = list(csv.reader(io.StringIO(gzip.decompress(content).decode())))
    assert lines == [
        ["id", "station_id", "seq", "canteen_id", "measured_at", "service_date", "meal", "grams", "diner_ref",
         "received_at"],
        *[[str(ids[i]), str(station), str(i + 1), str(canteen), f"2026-09-14T04:0{i}:00+00:00", "2026-09-14",
           "lunch", str(grams), "", "2026-09-14T06:00:00+00:00"] for i, grams in enumerate([10, 30, 0])]]

    with Session(engine) as session:
        assert list(session.exec(select(PlateWeighing.seq))) == [4]  # October stays
        if session.connection().dialect.name == "postgresql":
            assert SEPTEMBER not in partitions.partitions(session.connection())
        # The rollup stays, and a later recompute (an operator's count and kitchen waste) keeps its plates.
        kept = september_rollup(session)
        assert (kept.plates, kept.plate_waste_g, kept.clean_plates, kept.diners) == (3, 40, 2, 3)
        service.record_diner_count(session, SYSTEM, canteen, DinerCountEntry(
            service_date=date(2026, 9, 14), meal=Meal.lunch, diners=5), NOW)
        service.record_kitchen_waste(session, SYSTEM, canteen, KitchenEntry(
            service_date=date(2026, 9, 14), meal=Meal.lunch, category=KitchenCategory.unserved, grams=2000), NOW)
        service.refresh_stale(session, NOW)
        session.commit()
        after = september_rollup(session)
        assert (after.plates, after.plate_waste_g, after.clean_plates, after.stations_reporting) == (3, 40, 2, 1)
        assert (after.diners, after.counted_diners, after.unserved_g) == (5, 5, 2000)

    # Again: nothing more to do, the month is skipped and its file left as it was.
    again = archive.archive(engine, date(2026, 10, 1), tmp_path, NOW)
    assert [(r.month, r.plates, r.skipped) for r in again] == [(SEPTEMBER, 3, True)]
    assert (tmp_path / name).read_bytes() == content


def test_a_replay_of_an_archived_plate_is_too_old_to_come_back(engine, org, tmp_path):
    plates_in_september_and_october(engine, org)
    archive.archive(engine, date(2026, 10, 1), tmp_path, NOW)
    with Session(engine) as session:
        station = session.get(Station, org.stations["a"])
        result = service.ingest(session, station, [{"seq": 1, "measured_at": "2026-09-14T04:00:00+00:00",
                                                    "grams": 10}], NOW)
        assert (result.rejected, result.results[0].field) == (1, "measured_at")


@pytest.mark.parametrize("text", ["2024-13", "2024-1", "24-01", "january", "2024-01-01", ""])
def test_bad_month_text_is_refused(text):
    with pytest.raises(InvalidInput) as error:
        archive.parse_month(text)
    assert error.value.field == "before"


@pytest.mark.parametrize(("before", "now", "reason"), [
    (date(2026, 12, 1), NOW, "2026-11 is not over yet"),
    (date(2026, 11, 1), NOW, "2026-10 is within the 30 days"),  # 31 October is 23 days ago
    (date(2026, 10, 1), datetime(2026, 10, 31, 23, 0, tzinfo=UTC), "2026-09 is within the 30 days"),
])
def test_months_ingest_may_still_add_to_are_refused(before, now, reason):
    with pytest.raises(InvalidInput) as error:
        archive.check_before(before, now)
    assert error.value.reason.format(**error.value.params).startswith(reason)


def test_the_oldest_month_allowed():
    archive.check_before(date(2026, 10, 1), datetime(2026, 11, 1, 12, 0, tzinfo=UTC))  # 1 October, 31 days back


def canteen(database_url: str, *args: str):
    environment = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "en", "CANTEEN_SECRET_KEY": "test"}
    return CliRunner().invoke(cli.app, list(args), env=environment)


def test_cli(database_url, engine, org, tmp_path):
    with Session(engine) as session:  # plates of March 2025, stored directly (ingest would call them too old)
        for seq, day in ((1, 3), (2, 31)):
            at = datetime(2025, 3, day, 4, 0, tzinfo=UTC)
            session.add(PlateWeighing(station_id=org.stations["b"], seq=seq, canteen_id=org.canteens["b"],
                                      measured_at=at, service_date=at.date(), meal=Meal.lunch, grams=12,
                                      received_at=at))
        session.commit()
    folder = tmp_path / "archive"
    result = canteen(database_url, "db", "archive", "--before", "2025-04", "--to", str(folder))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"2025-03: 2 plates archived to {folder / 'plateweighing-2025-03.csv.gz'}.\n"
    result = canteen(database_url, "db", "archive", "--before", "2025-04", "--to", str(folder))
    assert (result.exit_code, result.stdout) == (0, "2025-03: archived already, skipped.\n")
    assert canteen(database_url, "db", "archive", "--before", "2025-02", "--to", str(folder)).stdout == (
        "No plate weighings before 2025-02 to archive.\n")
    for before, expected in (("2025-13", "before: '2025-13' is not a month such as 2024-01"),
                             ("2099-01", "is not over yet")):
        result = canteen(database_url, "db", "archive", "--before", before, "--to", str(folder))
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith("error: ") and expected in result.stderr
        assert len(result.stderr.splitlines()) == 1
