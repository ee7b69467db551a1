"""Schemathesis against the app's own OpenAPI schema, once per role and once with a station key.

Every operation gets valid (positive) and invalid (negative) requests, and about half of them have their id path
parameters set to ids that exist, so requests reach the services and not only the 404s. The test fails on any 5xx,
any response that breaks its declared schema, and any stored row changed by a refused (4xx) request. It collects
every problem before failing, so one run names them all, and it prints its figures (requests, 5xx, schema
violations per identity; `pytest -s` shows them).

Bounded for `make test`: a few examples per operation and mode on SQLite alone. `make fuzz` runs it longer and on
both databases: CANTEEN_FUZZ_EXAMPLES (examples per operation and mode), CANTEEN_FUZZ_DATABASES ("sqlite,postgresql").
"""
import hashlib
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import response_schema_conformance
from schemathesis.core.failures import Failure, FailureGroup
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

EXAMPLES = int(os.environ.get("CANTEEN_FUZZ_EXAMPLES", "3"))
DATABASES = os.environ.get("CANTEEN_FUZZ_DATABASES", "sqlite").split(",")
IDENTITIES = ["admin", "bureau_c1", "operator_a", "diner_a", "station"]
# A refused sign-in is recorded on purpose (it is what throttling counts), so a 401 from the token endpoint
# may add a row there.
RECORDED_WHEN_REFUSED = {"loginattempt"}
# Ids the org fixture creates (1..6 users, 1..5 bureaus, 1..3 canteens and stations, ...): path parameters set
# to one of them reach the services' own checks. The edges of the 32- and 64-bit integer columns besides: the
# generated values seldom land there, and on PostgreSQL a lookup with an id past 2**31 - 1 fails.
KNOWN_IDS = st.integers(min_value=1, max_value=6) | st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63])


# The standard upload's body is TOML text.
schemathesis.serializer.alias("application/toml", "text/plain")


def table_queries(engine: Engine) -> list[str]:
    """A query for each table in the database as it stands (not as the models say it should), rows in order."""
    stored = MetaData()
    stored.reflect(engine)
    return [str(select(table).order_by(*table.primary_key.columns or table.columns).compile(engine))
            for name, table in sorted(stored.tables.items()) if name not in RECORDED_WHEN_REFUSED]


def database_digest(engine: Engine, queries: list[str]) -> str:
    """A hash of every row the queries read (through the driver: SQLAlchemy's own layer would cost more than
    the request under test)."""
    digest = hashlib.sha256()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for query in queries:
            digest.update(query.encode())
            cursor.execute(query)
            digest.update(repr(cursor.fetchall()).encode())
        connection.rollback()
    finally:
        connection.close()
    return digest.hexdigest()


@dataclass
class Tally:
    """What one identity's run saw; `problems` keeps the first example of each kind of problem per operation."""

    requests: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    changed_by_refusal: int = 0
    statuses: Counter = field(default_factory=Counter)
    problems: dict[tuple[str, str], str] = field(default_factory=dict)

    def problem(self, operation: str, kind: str, detail: str) -> None:
        self.problems.setdefault((operation, kind), detail)

    def figures(self) -> str:
        return (f"{self.requests} requests, {self.server_errors} 5xx, {self.schema_violations} schema violations, "
                f"{self.changed_by_refusal} refused requests that changed rows; statuses {dict(self.statuses)}")


def _where(error: Exception) -> str:
    """The exception and the project's own frames it passed through (the libraries' would bury them)."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if "/canteen/" in frame.filename]
    return "".join(traceback.format_list(frames[-5:])) + "".join(traceback.format_exception_only(error))


def _identity_headers(identity: str, org, api_headers) -> dict[str, str]:
    if identity == "station":
        return {"Authorization": f"Bearer {org.station_keys['a']}"}
    return api_headers(identity)


def _with_known_ids(case: schemathesis.Case, ids: dict[str, int]) -> None:
    for name, value in ids.items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value


def _id_parameters(operation: schemathesis.APIOperation) -> list[str]:
    return [parameter.name for parameter in operation.path_parameters
            if parameter.definition.get("schema", {}).get("type") == "integer"]


def _exercise(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str],
              engine: Engine, queries: list[str], tally: Tally, digest: list[str]) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    id_names = _id_parameters(operation)
    known = st.fixed_dictionaries({name: KNOWN_IDS for name in id_names}) if id_names else st.just({})

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize="CANTEEN_FUZZ_EXAMPLES" not in os.environ,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), ids=st.none() | known)
    def run(case: schemathesis.Case, ids: dict[str, int] | None) -> None:
        if ids:
            _with_known_ids(case, ids)
        tally.requests += 1
        try:
            response = case.call(headers=headers)
        except Exception as error:  # the app's exception escaped: a 500 to the client
            tally.server_errors += 1
            tally.statuses[500] += 1
            tally.problem(label, "5xx", f"{case.as_curl_command()}\n{_where(error)}")
            digest[0] = database_digest(engine, queries)
            return
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.server_errors += 1
            tally.problem(label, "5xx", f"{case.as_curl_command()}\n-> {response.status_code} {response.text[:300]}")
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except (Failure, FailureGroup) as failure:
            tally.schema_violations += 1
            tally.problem(label, "schema", f"{case.as_curl_command()}\n-> {response.status_code} {failure}"[:1500])
        after = database_digest(engine, queries)
        if 400 <= response.status_code < 500 and after != digest[0]:
            tally.changed_by_refusal += 1
            tally.problem(label, "changed by a refused request",
                          f"{case.as_curl_command()}\n-> {response.status_code} {response.text[:300]}")
        digest[0] = after

    try:
        run()
    except Unsatisfiable:  # negative mode on an operation without parameters or body: nothing to get wrong
        assert mode is GenerationMode.NEGATIVE, label


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
@pytest.mark.parametrize("identity", IDENTITIES)
def test_api_holds_under_fuzzing(identity: str, app, client, org, api_headers, engine: Engine) -> None:
    headers = _identity_headers(identity, org, api_headers)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    tally = Tally()
    queries = table_queries(engine)
    digest = [database_digest(engine, queries)]
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            began = time.monotonic()
            _exercise(operation, mode, headers, engine, queries, tally, digest)
            if os.environ.get("H1_PROFILE"):
                print(f"{time.monotonic() - began:6.2f} s {mode.value} {operation.method.upper()} {operation.path}")
    print(f"\nfuzz {identity} on {engine.dialect.name}: {tally.figures()} in {time.monotonic() - started:.0f} s")
    assert not tally.problems, f"{identity}: {tally.figures()}\n\n" + "\n\n".join(
        f"[{kind}] {operation}\n{detail}" for (operation, kind), detail in tally.problems.items())
