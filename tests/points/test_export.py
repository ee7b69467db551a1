"""The export to a points platform: a bureau's month of diner-days as CSV and JSON with their checksums, from the
CLI and from the pull API with a platform's own key, which reads only its bureau's subtree; the same request gives
the same rows and checksum. Expected files are written out by hand from the seeded diner-days."""
import hashlib
import json
import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from canteen import cli, db
from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.points.models import DinerPoints, PointsClient, PointsPreference, PointsRule
from tests.conftest import PASSWORD

HEADER = "key,diner_id,external_id,canteen_id,canteen,date,plates,clean_plates,points,rule_id\n"
SEEDED = datetime(2026, 11, 1, tzinfo=UTC)


def run(database_url: str, *args: str, input: str = "") -> Result:
    environment = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "en", "CANTEEN_SECRET_KEY": "test-secret",
                   "CANTEEN_DEBUG": ""}
    return CliRunner().invoke(cli.app, list(args), input=input, env=environment)


def assert_refused(result: Result, expected: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and expected in line and "internal error" not in line, line


def seed_points(engine, org) -> SimpleNamespace:
    """Diners of canteens A (county K1 under city C1), H (C1 itself) and B (county K2 under C2), with a day each
    around the month's edges, under the province's rule and, from 16 November, city C1's."""
    with db.session_scope(engine) as session:
        diners = {"a": org.users["diner_a"]}
        for key in ("b", "h"):
            diners[key] = auth_service.create_user(session, SYSTEM, UserCreate(
                username=f"diner_{key}", password=PASSWORD, role=Role.diner, canteen_ids=[org.canteens[key]]),
                SEEDED).id
        rules = {}
        for name, bureau, applies_from in (("p", org.province, date(2026, 10, 1)), ("c1", org.c1, date(2026, 11, 16))):
            rule = PointsRule(bureau_id=bureau, applies_from=applies_from, clean_plate_points=10, daily_cap=20,
                              streak_days=0, streak_bonus=0, created_at=SEEDED)
            session.add(rule)
            session.flush()
            rules[name] = rule.id
        days = [  # diner, canteen, day, rule, plates, clean plates, points
            ("a", "a", date(2026, 10, 31), "p", 1, 1, 10),
            ("a", "a", date(2026, 11, 2), "p", 2, 1, 10),
            ("b", "b", date(2026, 11, 2), "p", 1, 1, 10),
            ("h", "h", date(2026, 11, 3), "p", 2, 0, 0),
            ("a", "a", date(2026, 11, 16), "c1", 3, 3, 20),
            ("a", "a", date(2026, 11, 23), "c1", 1, 1, 10),
            ("h", "h", date(2026, 12, 1), "c1", 1, 1, 10),
        ]
        for diner, canteen, day, rule, plates, clean, points in days:
            owner = org.province if rule == "p" else org.c1
            session.add(DinerPoints(diner_id=diners[diner], service_date=day, canteen_id=org.canteens[canteen],
                                    bureau_id=owner, rule_id=rules[rule], plates=plates, clean_plates=clean,
                                    streak=0, points=points, computed_at=SEEDED))
        session.add(PointsPreference(user_id=diners["a"], external_id="LB-0001", updated_at=SEEDED))
        session.add(PointsPreference(user_id=diners["b"], external_id="绿宝,\"b\"", updated_at=SEEDED))
    return SimpleNamespace(diners=diners, rules=rules)


@pytest.fixture
def seeded(engine, org) -> SimpleNamespace:
    return seed_points(engine, org)


def c1_november(org, seeded) -> str:
    """City C1's November by hand: canteens A and H, not B; not October's or December's days."""
    a, h, p, c1 = seeded.diners["a"], seeded.diners["h"], seeded.rules["p"], seeded.rules["c1"]
    ca, ch = org.canteens["a"], org.canteens["h"]
    return (HEADER
            + f"{a}:2026-11-02:{p},{a},LB-0001,{ca},食堂A,2026-11-02,2,1,10,{p}\n"
            + f"{h}:2026-11-03:{p},{h},,{ch},食堂H,2026-11-03,2,0,0,{p}\n"
            + f"{a}:2026-11-16:{c1},{a},LB-0001,{ca},食堂A,2026-11-16,3,3,20,{c1}\n"
            + f"{a}:2026-11-23:{c1},{a},LB-0001,{ca},食堂A,2026-11-23,1,1,10,{c1}\n")


def with_checksum(rows: str) -> str:
    return f"{rows}#sha256:{hashlib.sha256(rows.encode()).hexdigest()}\n"


def test_the_csv_is_a_row_per_diner_day_of_the_subtree_and_the_checksum_of_every_byte_before_it(
        database_url, org, seeded):
    result = run(database_url, "points", "export", "--bureau", str(org.c1), "--month", "2026-11")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == with_checksum(c1_november(org, seeded))


def test_text_with_commas_and_quotes_is_quoted_as_csv(database_url, org, seeded):
    result = run(database_url, "points", "export", "--bureau", str(org.k2), "--month", "2026-11")
    b, p = seeded.diners["b"], seeded.rules["p"]
    rows = HEADER + f'{b}:2026-11-02:{p},{b},"绿宝,""b""",{org.canteens["b"]},食堂B,2026-11-02,1,1,10,{p}\n'
    assert result.stdout == with_checksum(rows)


def test_the_json_carries_the_same_rows_and_the_checksum_of_its_rows_as_written(database_url, org, seeded):
    result = run(database_url, "points", "export", "--bureau", str(org.c1), "--month", "2026-11", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    lines = c1_november(org, seeded).splitlines()
    names = lines[0].split(",")
    integers = {"diner_id", "canteen_id", "plates", "clean_plates", "points", "rule_id"}
    expected = [{name: (int(value) if name in integers else value or None) for name, value in
                 zip(names, line.split(","), strict=True)} for line in lines[1:]]
    assert document["rows"] == expected
    assert (document["bureau_id"], document["month"], document["count"]) == (org.c1, "2026-11", 4)
    written = json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert f'"rows":{written},' in result.stdout  # the rows as written, which the checksum is of
    assert document["sha256"] == hashlib.sha256(written.encode()).hexdigest()


def test_the_output_file_holds_what_standard_output_would(database_url, org, seeded, tmp_path):
    target = tmp_path / "points.csv"
    result = run(database_url, "points", "export", "--bureau", str(org.c1), "--month", "2026-11",
                 "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_bytes() == with_checksum(c1_november(org, seeded)).encode()


def test_a_month_without_points_is_the_header_and_its_checksum(database_url, org, seeded):
    result = run(database_url, "points", "export", "--bureau", str(org.province), "--month", "2026-09")
    assert result.stdout == with_checksum(HEADER)
    empty = run(database_url, "points", "export", "--bureau", str(org.province), "--month", "2026-09",
                "--format", "json")
    assert json.loads(empty.stdout) == {"bureau_id": org.province, "month": "2026-09", "count": 0, "rows": [],
                                        "sha256": hashlib.sha256(b"[]").hexdigest()}


@pytest.mark.parametrize(("args", "expected"), [
    (["--bureau", "999999", "--month", "2026-11"], "bureau 999999 not found"),
    (["--bureau", "0", "--month", "2026-11"], "'--bureau'"),
    (["--bureau", str(2**70), "--month", "2026-11"], "'--bureau'"),
    (["--bureau", "{p}", "--month", "2026-13"], "Month must be a month such as 2026-11"),
    (["--bureau", "{p}", "--month", "11-2026"], "Month must be a month such as 2026-11"),
    (["--bureau", "{p}", "--month", "9999-01"], "Month must be a month such as 2026-11"),
    (["--bureau", "{p}", "--month", ""], "Month must be a month such as 2026-11"),
    (["--bureau", "{p}", "--month", "2026-11", "--format", "xml"], "'--format'"),
])
def test_an_unknown_bureau_or_a_bad_month_is_one_error_line(database_url, org, args, expected):
    assert_refused(run(database_url, "points", "export", *[arg.format(p=org.province) for arg in args]), expected)


def test_an_output_that_cannot_be_written_is_one_error_line(database_url, org, tmp_path):
    assert_refused(run(database_url, "points", "export", "--bureau", str(org.province), "--month", "2026-11",
                       "--output", str(tmp_path)), "")


# ---- the pull API with a platform's key ----------------------------------------------------------------------


def add_client(database_url: str, bureau: int, name: str = "绿宝碳汇") -> str:
    result = run(database_url, "points", "client", "add", "--bureau", str(bureau), "--name", name)
    assert result.exit_code == 0, result.stderr
    [key] = re.findall(r"Key: (ptk_\S+)", result.stdout)
    assert "not shown again" in result.stdout
    return key


def pull(client, key: str, bureau: int, month: str = "2026-11", format: str | None = None):
    params = {"bureau": bureau, "month": month, **({"format": format} if format else {})}
    return client.get("/api/v1/points/export", params=params,
                      headers={"Authorization": f"Bearer {key}", "Accept-Language": "en"})


def test_a_platform_pulls_the_same_csv_the_cli_writes_and_the_same_again(client, database_url, org, seeded):
    key = add_client(database_url, org.c1)
    first = pull(client, key, org.c1, format="csv")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "text/csv; charset=utf-8"
    assert first.text == with_checksum(c1_november(org, seeded))
    assert pull(client, key, org.c1, format="csv").content == first.content


def test_the_json_pull_is_the_cli_json_and_idempotent(client, database_url, org, seeded):
    key = add_client(database_url, org.c1)
    cli_json = run(database_url, "points", "export", "--bureau", str(org.c1), "--month", "2026-11", "--format", "json")
    first, second = pull(client, key, org.c1), pull(client, key, org.c1, format="json")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert first.text == second.text == cli_json.stdout
    assert [row["key"] for row in first.json()["rows"]] == [line.split(",")[0] for line in
                                                            c1_november(org, seeded).splitlines()[1:]]


def test_a_key_reads_a_bureau_under_its_own(client, database_url, org, seeded):
    key = add_client(database_url, org.c1)
    body = pull(client, key, org.k1).json()  # county K1: canteen A only
    assert {row["canteen_id"] for row in body["rows"]} == {org.canteens["a"]} and body["count"] == 3


@pytest.mark.parametrize(("bureau", "status", "reason"), [
    ("province", 403, "reads only bureau"),  # above the key's bureau
    ("c2", 403, "reads only bureau"),  # beside it
    ("k2", 403, "reads only bureau"),
    ("unknown", 404, "not found"),
])
def test_a_key_reads_nothing_outside_its_bureau(client, database_url, org, seeded, bureau, status, reason):
    key = add_client(database_url, org.c1)
    target = 999999 if bureau == "unknown" else getattr(org, bureau)
    response = pull(client, key, target)
    assert response.status_code == status, response.text
    [problem] = response.json()["detail"]
    assert reason in problem["msg"], problem
    assert problem["loc"][-1] == "bureau"


def test_only_a_live_platform_key_pulls(client, database_url, org, seeded, api_headers):
    key = add_client(database_url, org.c1)
    listed = run(database_url, "points", "client", "list")
    [line] = listed.stdout.splitlines()
    client_id, bureau, state, name = line.split("\t")
    assert (int(bureau), state, name) == (org.c1, "active", "绿宝碳汇") and key not in listed.stdout
    assert run(database_url, "points", "client", "revoke", client_id).exit_code == 0
    assert run(database_url, "points", "client", "list").stdout.split("\t")[2] == "revoked"
    assert pull(client, key, org.c1).status_code == 401
    assert pull(client, "ptk_" + "x" * 43, org.c1).status_code == 401
    assert pull(client, org.station_keys["a"], org.c1).status_code == 401
    admin = client.get("/api/v1/points/export", params={"bureau": org.c1, "month": "2026-11"},
                       headers=api_headers("admin"))
    assert admin.status_code == 401  # a user's token is not a platform's key
    assert client.get("/api/v1/points/export", params={"bureau": org.c1, "month": "2026-11"}).status_code == 401


@pytest.mark.parametrize(("params", "field"), [
    ({"month": "2026-13"}, "month"),
    ({"month": "2026-1"}, "month"),
    ({"month": "x" * 100}, "month"),
    ({"bureau": "0"}, "bureau"),
    ({"bureau": str(2**70)}, "bureau"),
    ({"format": "xml"}, "format"),
])
def test_bad_parameters_are_422_with_the_field(client, database_url, org, params, field):
    key = add_client(database_url, org.c1)
    query = {"bureau": org.c1, "month": "2026-11", **params}
    response = client.get("/api/v1/points/export", params=query, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize(("args", "expected"), [
    (["client", "add", "--bureau", "999999", "--name", "X"], "bureau 999999 not found"),
    (["client", "add", "--bureau", "{p}", "--name", " "], "name"),
    (["client", "add", "--bureau", "{p}", "--name", "x" * 101], "name"),
    (["client", "revoke", "999999"], "points platform key 999999 not found"),
    (["client", "revoke", "0"], "client_id"),
])
def test_bad_key_commands_are_one_error_line(database_url, org, args, expected):
    assert_refused(run(database_url, "points", *[arg.format(p=org.province) for arg in args]), expected)


def test_a_key_is_kept_only_as_its_hash(database_url, engine, org):
    key = add_client(database_url, org.province)
    with Session(engine) as session:
        [stored] = session.exec(select(PointsClient)).all()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in stored.model_dump_json()
