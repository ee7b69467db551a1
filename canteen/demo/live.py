"""Live scales for the demo: one simulated scale and one gateway per demo plate-return and kitchen station, and
simulated kitchen staff at each kitchen station's terminal.

Each station's gateway runs for the whole demo and reads its scale over TCP; the simulator behind that port
runs one meal each time one of the canteen's meal windows opens, so dashboards and wall displays move during
breakfast, lunch and dinner. A kitchen station's gateway runs in kitchen mode (its bins' weighings wait for the
terminal, which shows the scale's live weight), and the staff emulator classifies most of them through the
terminal's API and leaves some unclassified. Beside each plate-return scale a simulated scanner (its own TCP port,
the gateway's --id-port) sends the booking QR codes of the meal's diners: the tokens booked for that canteen, day
and meal when the demo started, in an order drawn per meal; diners left without one do not scan, and of the others
some scan late or twice and some not at all, as the simulator draws it. `speed` runs a meal's diners that many
times faster (a 2-hour lunch in 12 minutes at 10: diners arrive closer together, each tray still rests on the
scale for real seconds). A meal's simulated clock starts once the station's gateway has connected to the scale
(and the scanner), so no tray falls between a gateway that is still retrying its port and a scale that has begun.
Children write their logs under `workdir`; `stopping` stops them with the demo and waits until they are gone, also
when the demo ends on SIGTERM.
"""
import ctypes
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from canteen.access import SYSTEM
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal, MealWindow, Station, StationKind
from canteen.reservation.models import Booking, BookingStatus
from hardware_sim.bookings import MEAL_SIZE

log = logging.getLogger(__name__)

TRAY_G = 380  # the simulator's default tray, which the gateways subtract
KITCHEN_BIN_G = 1200  # the kitchen's waste bins, which its gateway subtracts
CHECK_EVERY_S = 5.0
STOP_GRACE_S = 10.0  # a child still running this long after SIGTERM is killed
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# One return station weighs a tray every 4–6 s at best; more diners would queue past the meal.
DINERS_PER_MINUTE = 10
KITCHEN_BINS_PER_HOUR = 15  # of a meal window
KITCHEN_BINS_PER_MINUTE = 2  # one bin takes 10–25 s on the scale
CODE_DAYS = 3  # the days whose bookings a plate-return station's scanner can send: the demo's today and two more


@dataclass
class LiveStation:
    station_id: int
    protocol: str
    key: str
    timezone: str
    seats: int
    windows: list[tuple[Meal, time, time]]
    kitchen: bool = False
    codes: dict[tuple[date, Meal], list[str]] = field(default_factory=dict)  # booking tokens by day and meal
    port: int = 0
    scanner_port: int = 0
    gateway: subprocess.Popen | None = None
    simulator: subprocess.Popen | None = None
    staff: subprocess.Popen | None = None
    simulated: set[tuple[date, Meal]] = field(default_factory=set)


def prepare(session: Session, now: datetime | None = None) -> list[LiveStation]:
    """Every active station, plate-return and kitchen, with a fresh key (keys are shown once, so the demo issues new
    ones), and a plate-return station's booking tokens of the next days."""
    stations = session.exec(select(Station).where(Station.active == True).order_by(col(Station.id)))  # noqa: E712
    live = []
    for station in list(stations):
        canteen = session.get(Canteen, station.canteen_id)
        assert canteen is not None and station.id is not None  # a station's canteen exists (foreign key)
        windows = session.exec(select(MealWindow).where(MealWindow.canteen_id == canteen.id)).all()
        _, key = org_service.rotate_station_key(session, SYSTEM, station.id)
        kitchen = station.kind is StationKind.kitchen
        live.append(LiveStation(station.id, station.protocol, key, canteen.timezone, canteen.seats or 200,
                                [(window.meal, window.starts, window.ends) for window in windows], kitchen=kitchen,
                                codes={} if kitchen else _booked(session, canteen, now or datetime.now(UTC))))
    return live


def _booked(session: Session, canteen: Canteen, now: datetime) -> dict[tuple[date, Meal], list[str]]:
    today = now.astimezone(ZoneInfo(canteen.timezone)).date()
    rows = session.exec(select(col(Booking.service_date), col(Booking.meal), col(Booking.token)).where(
        Booking.canteen_id == canteen.id, Booking.status == BookingStatus.booked,
        col(Booking.service_date).between(today, today + timedelta(days=CODE_DAYS - 1))).order_by(col(Booking.id)))
    codes: dict[tuple[date, Meal], list[str]] = {}
    for day, meal, token in rows:
        codes.setdefault((day, meal), []).append(token)
    return codes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Fleet:
    def __init__(self, stations: list[LiveStation], server_url: str, workdir: Path, speed: float = 1.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.stations = stations
        self.server_url = server_url
        self.workdir = workdir
        self.speed = speed
        self.clock = clock
        self._stop = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="demo-scales", daemon=True)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for station in self.stations:
            station.port = _free_port()
            if station.kitchen:
                mode = ["--mode", "kitchen", "--tare", str(KITCHEN_BIN_G)]
            else:
                station.scanner_port = _free_port()
                mode = ["--tare", str(TRAY_G), "--id-port", f"socket://127.0.0.1:{station.scanner_port}"]
            station.gateway = self._spawn(
                f"gateway-{station.station_id}",
                [sys.executable, "-m", "canteen.scale_driver.gateway_cli", "--port", f"socket://127.0.0.1:{station.port}",
                 "--protocol", station.protocol, "--server", self.server_url, *mode,
                 "--outbox", str(self.workdir / f"outbox-{station.station_id}.sqlite3"), "--status-every", "300"],
                {"CANTEEN_STATION_KEY": station.key})
            if station.kitchen:
                station.staff = self._spawn(
                    f"staff-{station.station_id}",
                    [sys.executable, "-m", "hardware_sim", "staff", "--server", self.server_url,
                     "--seed", str(station.station_id)],
                    {"CANTEEN_STATION_KEY": station.key})
        self._supervisor.start()

    def stop(self) -> None:
        """Stops starting meals, sends every child SIGTERM and returns once all of them have exited."""
        self._stop.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        children = [process for station in self.stations
                    for process in (station.simulator, station.gateway, station.staff) if process is not None]
        for process in children:
            if process.poll() is None:
                process.terminate()
        deadline = monotonic() + STOP_GRACE_S
        for process in children:
            try:
                process.wait(timeout=max(deadline - monotonic(), 0))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop within %.0f s of SIGTERM; killing it", process.pid, STOP_GRACE_S)
                process.kill()
                process.wait()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            for station in self.stations:
                self._maybe_start_meal(station)
            self._stop.wait(CHECK_EVERY_S)

    def _maybe_start_meal(self, station: LiveStation) -> None:
        if station.simulator is not None and station.simulator.poll() is None:
            return
        local = self.clock().astimezone(ZoneInfo(station.timezone))
        for meal, starts, ends in station.windows:
            opened = datetime.combine(local.date(), starts, local.tzinfo)
            closes = datetime.combine(local.date(), ends, local.tzinfo)
            if not opened <= local < closes or (local.date(), meal) in station.simulated:
                continue
            station.simulated.add((local.date(), meal))
            # What is left of the window, run `speed` times shorter. The scale itself keeps real time (a tray
            # rests 1–3 s, as the gateway expects): only the diners come closer together.
            window_left = (closes - local) / timedelta(minutes=1)
            share = window_left / ((closes - opened) / timedelta(minutes=1))
            minutes = window_left / self.speed
            if station.kitchen:
                bins = min(round(window_left / 60 * KITCHEN_BINS_PER_HOUR), round(minutes * KITCHEN_BINS_PER_MINUTE))
                who = ["--mode", "kitchen", "--bins", str(bins), "--tare-g", str(KITCHEN_BIN_G)]
                log.info("station %d: simulating %s's kitchen, %d bins over %.0f minutes", station.station_id,
                         meal.value, bins, minutes)
            else:
                turnout = sum(MEAL_SIZE[meal.value]) / 2  # the booking model's usual share of seats at this meal
                diners = min(round(station.seats * turnout * share), round(minutes * DINERS_PER_MINUTE))
                codes = self.workdir / f"codes-{station.station_id}.txt"
                tokens = list(station.codes.get((local.date(), meal), []))
                random.Random(f"{station.station_id}{local:%Y%m%d}{meal.value}").shuffle(tokens)
                codes.write_text("".join(f"{token}\n" for token in tokens), encoding="ascii")
                who = ["--diners", str(diners), "--tare-g", str(TRAY_G),
                       "--scanner-tcp", f"127.0.0.1:{station.scanner_port}", "--codes", str(codes)]
                log.info("station %d: simulating %s, %d diners over %.0f minutes", station.station_id, meal.value,
                         diners, minutes)
            station.simulator = self._spawn(
                f"scale-{station.station_id}",
                [sys.executable, "-m", "hardware_sim", "scale", "--protocol", station.protocol,
                 "--tcp", f"127.0.0.1:{station.port}", *who, "--meal-minutes", f"{minutes:.2f}",
                 "--seed", f"{station.station_id}{local:%Y%m%d}{list(Meal).index(meal)}", "--wait-client"],
                {})
            return

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        with (self.workdir / f"{name}.log").open("a") as output:
            return subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)


class _Signalled(BaseException):
    """SIGTERM or SIGINT, raised where the demo's main thread is when it arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stopping(fleet: Fleet) -> Iterator[None]:
    """Runs the block (the demo's server), then stops the fleet and waits for its children, however it ends.

    uvicorn shuts down gracefully on SIGTERM or SIGINT and then raises the same signal again under the handlers
    it found; with the default SIGTERM handler that ended the process on the spot, before any `finally`, and
    left the gateways to outlive the demo. Here that second signal (or one that comes before uvicorn listens)
    ends the block instead; once the children are gone it is raised once more under the previous handlers, so
    the demo still exits as the signal asks. A further signal while the children stop ends the demo at once
    (they get SIGTERM from `_die_with_parent`).
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread can take signals
        try:
            yield
        finally:
            fleet.stop()
        return

    def signalled(signum: int, _frame: object) -> None:
        raise _Signalled(signum)

    previous = {signum: signal.signal(signum, signalled) for signum in (signal.SIGTERM, signal.SIGINT)}
    received = None
    try:
        yield
    except _Signalled as stop:
        received = stop.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        fleet.stop()
    if received is not None:
        signal.raise_signal(received)


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the demo ends, even when uvicorn re-raises a signal and no `finally`
    runs, or the demo is killed outright."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
