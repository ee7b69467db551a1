"""The deployment in deploy/ run as a province runs it, on loopback: PostgreSQL, then the server and the scheduler
as separate processes started from their systemd units' ExecStart= and EnvironmentFile= (not systemd itself), and
nginx with deploy/nginx-canteen.conf in front of the server. A station's weighings go in through nginx over HTTPS and
come out as the bureau's scorecard.

What the scheduler process does here: it registers every job with its next run time in the shared job store. The
jobs' slots are minutes to a month away, so the rollups and the scorecard come from the commands an operator runs
for the same jobs, `canteen jobs run refresh-rollups` and `canteen assess run --period …`.
"""
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep
from time import time as wall_clock
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from canteen.jobs.service import JOBS
from tests.support.pgserver import TemporaryPostgres

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
CANTEEN = Path(sys.executable).with_name("canteen")
INSTALLED_CANTEEN = "/opt/canteen/bin/canteen"
STARTUP_SECONDS = 60


def unit_settings(path: Path) -> dict[str, list[str]]:
    """A systemd unit's settings (every section), each key's values in order; continued lines joined."""
    settings: dict[str, list[str]] = {}
    logical = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith(("#", ";", "["))):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        key, _, value = (logical + line).partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
        logical = ""
    return settings


def environment_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads them (comments only at the start of a line)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip("\"'")
    return values


def exec_start(unit: Path, env: dict[str, str], **options: str) -> list[str]:
    """The unit's ExecStart= as systemd would run it ($VAR and ${VAR} from its environment), with the installed
    `canteen` replaced by this virtualenv's and the given `--option value` pairs replaced."""
    command = unit_settings(unit)["ExecStart"][-1]
    command = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m[1] or m[2], ""), command)
    argv = shlex.split(command)
    assert argv[0] == INSTALLED_CANTEEN, argv
    argv[0] = str(CANTEEN)
    for option, value in options.items():
        flag = f"--{option}"
        assert flag in argv, f"{unit.name}: ExecStart has no {flag}"
        argv[argv.index(flag) + 1] = value
    return argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def process(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    """A child process in a session of its own, stopped (SIGTERM, then SIGKILL for its whole group) on the way
    out whatever happened; its output printed when the test fails."""
    with log.open("wb") as out:
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        sys.stdout.write(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}\n")


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run([str(CANTEEN), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"canteen {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def nginx_config(tmp: Path, http_port: int, https_port: int, app_port: int) -> Path:
    """deploy/nginx-canteen.conf on test ports with a self-signed certificate, inside a minimal nginx.conf."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=canteen.example.gov.cn", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    site = (DEPLOY / "nginx-canteen.conf").read_text(encoding="utf-8")
    for old, new in {"listen 80;": f"listen 127.0.0.1:{http_port};", "listen [::]:80;": "",
                     "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
                     "listen [::]:443 ssl http2;": "", "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
                     "/etc/ssl/canteen/fullchain.pem": str(tmp / "cert.pem"),
                     "/etc/ssl/canteen/privkey.pem": str(tmp / "key.pem")}.items():
        assert old in site, f"nginx-canteen.conf no longer has {old!r}"
        site = site.replace(old, new)
    (tmp / "canteen.conf").write_text(site, encoding="utf-8")
    temp_paths = "\n".join(f"{kind}_temp_path {tmp / kind};" for kind in
                           ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp / "nginx.conf"
    main.write_text(f"""{'user root;' if os.geteuid() == 0 else ''}
worker_processes 1;
daemon off;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp / 'access.log'};
    {temp_paths}
    include {tmp / 'canteen.conf'};
}}
""", encoding="utf-8")
    return main


def wait_healthy(client: httpx.Client, url: str, children: list[subprocess.Popen]) -> httpx.Response:
    deadline = monotonic() + STARTUP_SECONDS
    while True:
        assert all(child.poll() is None for child in children), "a process exited during start-up"
        try:
            response = client.get(url)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        assert monotonic() < deadline, f"{url} did not answer 200 within {STARTUP_SECONDS} s"
        sleep(0.2)


def lunch_before(now: datetime, zone: ZoneInfo) -> datetime:
    """12:00 local time of the latest day whose lunch lies at least ten minutes in the past."""
    local = now.astimezone(zone)
    day = local.date() if local.time() >= time(12, 10) else local.date() - timedelta(days=1)
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=zone)


def test_a_weighing_through_the_deployment_to_a_scorecard(tmp_path: Path) -> None:
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: run `make system-deps` (scripts/install-system-deps.sh)")
    server_unit, scheduler_unit = DEPLOY / "canteen-server.service", DEPLOY / "canteen-scheduler.service"
    for unit in (server_unit, scheduler_unit):
        assert unit_settings(unit)["EnvironmentFile"] == ["/etc/canteen/canteen.env"]
        assert unit_settings(unit)["User"] == ["canteen"]
    settings = environment_file(DEPLOY / "canteen.env.example")
    assert settings["CANTEEN_SCHEDULER"] == "false"
    app_port, http_port, https_port = free_port(), free_port(), free_port()

    with ExitStack() as stack:
        postgres = stack.enter_context(TemporaryPostgres())
        # The example file as a province fills it in: its placeholders replaced, the rest as shipped (cheaper
        # password hashing only, to keep the test fast).
        env = {key: value for key, value in os.environ.items() if not key.startswith("CANTEEN_")}
        env |= settings | {"CANTEEN_DATABASE_URL": postgres.url, "CANTEEN_SECRET_KEY": secrets.token_urlsafe(32),
                           "CANTEEN_PASSWORD_TIME_COST": "1", "CANTEEN_PASSWORD_MEMORY_KIB": "1024"}
        assert not any("CHANGE-ME" in value for value in env.values())
        cli(env, tmp_path, "db", "upgrade")
        bureau = json.loads(cli(env, tmp_path, "org", "add-bureau", "--name", "江西省机关事务管理局", "--json"))
        canteen = json.loads(cli(env, tmp_path, "org", "add-canteen", "--bureau", str(bureau["id"]),
                                 "--name", "省政府机关食堂", "--json"))
        station = json.loads(cli(env, tmp_path, "station", "add", "--canteen", str(canteen["id"]), "--name", "回收台1",
                                 "--kind", "plate-return", "--protocol", "yaohua-tf0", "--json"))
        cli(env, tmp_path, "user", "add", "--username", "jx-bureau", "--role", "bureau", "--bureau", str(bureau["id"]),
            "--password", "bureau-pass-2026")

        server = stack.enter_context(process(exec_start(server_unit, env, port=str(app_port), workers="2"), env,
                                             tmp_path, tmp_path / "server.log"))
        scheduler = stack.enter_context(process(exec_start(scheduler_unit, env), env, tmp_path,
                                                tmp_path / "scheduler.log"))
        conf = nginx_config(tmp_path, http_port, https_port, app_port)
        checked = subprocess.run(["nginx", "-t", "-q", "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        nginx = stack.enter_context(process(["nginx", "-e", str(tmp_path / "error.log"), "-c", str(conf)], env,
                                            tmp_path, tmp_path / "nginx.log"))
        client = stack.enter_context(httpx.Client(base_url=f"https://127.0.0.1:{https_port}", verify=False,
                                                  timeout=30))

        health = wait_healthy(client, "/healthz", [server, scheduler, nginx])
        assert health.headers["strict-transport-security"].startswith("max-age=31536000")
        redirect = httpx.get(f"http://127.0.0.1:{http_port}/healthz?x=1", timeout=10)
        assert redirect.status_code == 301
        assert redirect.headers["location"].endswith("://127.0.0.1/healthz?x=1")
        assert redirect.headers["location"].startswith("https://")

        # Four diners' plates at lunch (11:30–13:30, the default window): 4, 9, 10 and 157 g.
        lunch = lunch_before(datetime.now(UTC), ZoneInfo(env["CANTEEN_TIMEZONE"]))
        items = [{"seq": seq, "measured_at": (lunch + timedelta(minutes=seq)).isoformat(), "grams": grams,
                  "diner_ref": None} for seq, grams in enumerate((4, 9, 10, 157), start=1)]
        station_auth = {"Authorization": f"Bearer {station['key']}"}
        posted = client.post("/api/v1/weighings", json={"items": items}, headers=station_auth)
        assert posted.status_code == 200, posted.text
        assert (posted.json()["accepted"], posted.json()["rejected"]) == (4, 0)
        # A body past the API's 1 MiB is stopped by nginx before a worker reads it.
        assert client.post("/api/v1/weighings", content=b"x" * (2 * 2**20), headers=station_auth).status_code == 413

        # The scheduler process (not the server, whose workers run with CANTEEN_SCHEDULER=false) put every job
        # in the shared job store with its next run time.
        engine = sa.create_engine(postgres.url)
        stack.callback(engine.dispose)
        deadline = monotonic() + STARTUP_SECONDS
        while True:
            with engine.connect() as connection:
                stored = (dict(connection.execute(sa.text("SELECT id, next_run_time FROM apscheduler_jobs")).all())
                          if sa.inspect(connection).has_table("apscheduler_jobs") else {})
            if set(stored) == set(JOBS):
                break
            assert scheduler.poll() is None, "the scheduler exited"
            assert monotonic() < deadline, f"the scheduler registered {sorted(stored)} only"
            sleep(0.2)
        assert all(next_run > wall_clock() - 60 for next_run in stored.values())

        period = f"{lunch:%Y-%m}"
        assert cli(env, tmp_path, "jobs", "run", "refresh-rollups").strip() == \
            "refresh-rollups: 1 stale canteen-days recomputed"
        assert cli(env, tmp_path, "assess", "run", "--period", period).startswith(f"{period}: 1 scorecards")

        token = client.post("/api/v1/auth/token", json={"username": "jx-bureau", "password": "bureau-pass-2026"})
        assert token.status_code == 200, token.text
        bureau_auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        cards = client.get("/api/v1/assessment/scorecards", params={"period": period}, headers=bureau_auth)
        assert cards.status_code == 200, cards.text
        assert [(card["canteen_id"], card["period"]) for card in cards.json()] == [(canteen["id"], period)]
        card = client.get(f"/api/v1/assessment/scorecards/{cards.json()[0]['id']}", headers=bureau_auth).json()
        metrics = {name: entry["value"] for name, entry in card["body"]["metrics"].items()}
        # By hand: 4 plates, no check-ins or door count, so 4 diners; 180 g / 4 = 45.0 g a diner; 3 of the 4
        # plates at or under the 10 g threshold.
        assert (metrics["diners"], metrics["plate_waste_g_per_diner"], metrics["clean_plate_rate"]) == (4, 45.0, 0.75)
        earned = {indicator["id"]: indicator["earned"] for indicator in card["body"]["indicators"]}
        # The reference standard: W2 linear, 10 points at 30 g, 0 at 90 g: 10 × (90 − 45) / 60 = 7.5;
        # E2 bands: a clean-plate rate of at least 0.7 earns 3 of 5.
        assert (earned["W2"], earned["E2"]) == (7.5, 3.0)

        # Both services stop cleanly on systemd's SIGTERM.
        for child in (scheduler, server):
            child.send_signal(signal.SIGTERM)
            assert child.wait(20) == 0
