"""The emulated scale: a station's load read by an indicator, framed in a protocol, sent at the pace of the line.

Simulated time starts at `start` and runs `speed` times faster than real time, and so does the line: a
streaming indicator sends its next frame when the previous one has gone out at the baud rate, i.e. frames/s =
baud ÷ bits per byte ÷ frame length, times `speed`. When that would exceed `max_frame_rate` real frames per
second, only every k-th frame of that schedule is sent (k the smallest that fits), each still carrying the
indicator's reading at its own simulated instant; the indicator converts at its own rate whatever is sent,
so stability flags and the ground truth do not depend on speed. A polled indicator (mt-sics) answers each
command line in turn, as soon as the line is free (`S`, the next stable weight, once the weight is stable).
A format with no frame for an overload (yaohua-tf0) falls silent for as long as it lasts, as those
indicators do. Frames come from hardware_sim.frames, in the output variant asked for.

With `scanner` options and a second port, an identity reader beside the scale sends the diners' codes as they
return their trays (hardware_sim.scanner), on the same simulated clock; the clock waits for a client on both ports.
"""
import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from canteen.scale_driver.protocols import SerialDefaults
from hardware_sim import frames
from hardware_sim.indicator import Indicator, IndicatorConfig
from hardware_sim.ports import Port
from hardware_sim.scanner import PlateCode, Scanner, ScannerOptions, plan
from hardware_sim.station import Mode, StationConfig, Timeline
from hardware_sim.traffic import Tares, Traffic, kitchen, meal
from hardware_sim.wire import LineNoise, seconds_per_byte

TAIL_S = 2.0  # the scale keeps reporting an empty platform this long after the last episode
MAX_WAIT_S = 0.05
MAX_LAG_S = 0.1  # real seconds the emulator may fall behind before its simulated clock waits for it
MAX_COMMAND = 64  # bytes of an unfinished command line kept (a client sending garbage without line ends)


@dataclass(frozen=True)
class ScaleOptions:
    protocol: str
    start: datetime
    variant: str | None = None  # the protocol's output variant (hardware_sim.frames); None: its factory setting
    mode: Mode = Mode.TRAY
    diners: float = 300  # expected headcount of the meal
    bins: float = 20  # kitchen mode: the bins of waste expected over the meal (the headcount does not apply)
    meal_minutes: float = 60
    seed: int = 1
    speed: float = 1.0
    baudrate: int | None = None  # the protocol's default
    capacity_g: int = 30_000
    tare_g: int = 380
    tare_spread_g: int = 5
    noise_g: float = 0.6
    duration_s: float | None = None  # else until the last diner has gone
    max_frame_rate: float = 2_000
    wait_client: bool = False
    hold_without_client: bool = False  # the clock stops whenever the client is gone (tests of client crashes)
    garble_rate: float = 0.0
    drop_rate: float = 0.0
    disconnect_after_s: float | None = None
    disconnect_pause_s: float = 5.0
    zero_drift_g_per_min: float = 0.0
    overload_every_s: float | None = None
    scanner: ScannerOptions | None = None  # an identity reader beside the scale, on a port of its own


class Scale:
    def __init__(self, options: ScaleOptions, port: Port, truth: TextIO | None = None,
                 announce: Callable[[str], None] = print, scanner_port: Port | None = None,
                 scan_truth: TextIO | None = None) -> None:
        if (options.scanner is None) != (scanner_port is None):
            raise ValueError("a scanner needs its options and its port")
        if options.scanner is not None and options.mode is Mode.KITCHEN:
            raise ValueError("a scanner names the diners of plates: not in kitchen mode")
        if options.start.tzinfo is None:
            raise ValueError("the start time needs a UTC offset")
        if options.speed <= 0 or options.max_frame_rate <= 0:
            raise ValueError("speed and the maximum frame rate must be positive")
        self._options = options
        line_format = frames.get(options.protocol)
        serial = line_format.serial
        self._byte_s = seconds_per_byte(SerialDefaults(options.baudrate or serial.baudrate, serial.bytesize,
                                                       serial.parity, serial.stopbits))
        meal_end = options.start + timedelta(minutes=options.meal_minutes)
        tares = Tares(options.tare_g, options.tare_spread_g)
        diners = (kitchen(options.start, meal_end, options.bins, options.seed, containers=tares)
                  if options.mode is Mode.KITCHEN else meal(options.start, meal_end, options.diners, options.seed,
                                                            Traffic(tares=tares)))
        station = StationConfig(options.mode, options.capacity_g, overload_every_s=options.overload_every_s)
        horizon_s = options.duration_s if options.duration_s is not None else options.meal_minutes * 60
        self._timeline = Timeline(diners, options.start, station, random.Random(f"{options.seed}/station"), horizon_s)
        config = IndicatorConfig(options.capacity_g, tare_g=station.bin_g if options.mode is Mode.BIN else 0,
                                 noise_g=options.noise_g, zero_drift_g_per_min=options.zero_drift_g_per_min)
        self._writer = line_format.writer(options.variant, config.tare_g)
        self._responder = self._writer if isinstance(self._writer, frames.Responder) else None
        self._conversion_s = 1 / config.conversions_per_s
        self._indicator = Indicator(config, self._timeline.load_at, random.Random(f"{options.seed}/indicator"))
        self._noise = LineNoise(options.garble_rate, options.drop_rate, random.Random(f"{options.seed}/line"))
        self._port = port
        self._truth = truth
        self._announce = announce
        self._settled = deque(self._timeline.settled)
        self._seq = 0
        self._line_free_s = 0.0  # simulated second at which the line can start the next frame
        self._commands: deque[tuple[bytes, float]] = deque()  # command lines and the simulated second they came
        self._received = b""
        self._hang_up_at_s = options.disconnect_after_s
        self._come_back_at_s: float | None = None
        self._scanner: Scanner | None = None
        self._answers: list[PlateCode] = []
        if options.scanner is not None and scanner_port is not None:
            scans, self._answers = plan([settled.at_s for settled in self._timeline.settled], options.scanner,
                                        random.Random(f"{options.seed}/scanner"))
            self._scanner = Scanner(scans, scanner_port, options.start, options.scanner.suffix, scan_truth)

    @property
    def end_s(self) -> float:
        if self._options.duration_s is not None:
            return self._options.duration_s
        return self._timeline.end_s + TAIL_S

    def run(self) -> None:
        options = self._options
        while options.wait_client and not self._connected():
            self._port.wait(MAX_WAIT_S)
        origin = awake_at = time.monotonic()  # awake_at: when the loop means to run again

        def simulated_s() -> float:
            return (time.monotonic() - origin) * options.speed

        while True:
            # When the emulator itself stalled (a starved CPU) the simulated world waits with it: nothing gets into
            # the ground truth that never went over the line, and no overdue frames are sent in a burst.
            if (stalled := time.monotonic() - awake_at) > MAX_LAG_S:
                origin += stalled
            if (now_s := simulated_s()) >= self.end_s:
                break
            if options.hold_without_client and self._come_back_at_s is None and not self._connected():
                held_at = time.monotonic()
                while not self._connected():
                    self._port.wait(MAX_WAIT_S)
                origin += time.monotonic() - held_at
                awake_at = time.monotonic()
                continue
            self._record_truth(now_s)
            self._hang_up_or_come_back(now_s)
            if self._scanner is not None:
                self._scanner.send_until(now_s)
            if sent := self._frames_until(now_s):
                self._port.write(self._noise.apply(sent))
            idle_s = self._idle_s(now_s)
            awake_at = time.monotonic() + idle_s
            received = self._port.wait(idle_s)
            self._receive(received, simulated_s())
        self._record_truth(self.end_s)
        if self._scanner is not None:
            self._scanner.send_until(self.end_s)

    def _connected(self) -> bool:
        """Whether a client reads the scale, and the scanner too if there is one."""
        return self._port.connected() and (self._scanner is None or self._scanner.connected())

    def _hang_up_or_come_back(self, now_s: float) -> None:
        if self._hang_up_at_s is not None and now_s >= self._hang_up_at_s:
            self._port.hang_up()
            self._hang_up_at_s, self._come_back_at_s = None, now_s + self._options.disconnect_pause_s
        if self._come_back_at_s is not None and now_s >= self._come_back_at_s:
            if (address := self._port.come_back()) is not None:
                self._announce(address)
            self._come_back_at_s = None

    def _frames_until(self, now_s: float) -> bytes:
        if self._responder is not None:
            return self._replies_until(now_s)
        out = bytearray()
        while self._line_free_s <= now_s:
            frame = self._writer.frame(self._indicator.reading_at(self._line_free_s))
            frame_bytes = len(frame) or self._writer.frame_bytes
            self._line_free_s += frame_bytes * self._byte_s * self._decimation(frame_bytes)
            out += frame
        return bytes(out)

    def _replies_until(self, now_s: float) -> bytes:
        """Answer the waiting commands in turn; one that waits for a stable weight holds up those behind it."""
        assert self._responder is not None
        out = bytearray()
        while self._commands:
            command, arrived_s = self._commands[0]
            sent_s = max(arrived_s, self._line_free_s)
            if sent_s > now_s:
                break
            reply = self._responder.reply(command, self._indicator.reading_at(sent_s), sent_s - arrived_s)
            if reply is None and sent_s < now_s:
                sent_s = now_s
                reply = self._responder.reply(command, self._indicator.reading_at(now_s), now_s - arrived_s)
            if reply is None:
                break
            self._commands.popleft()
            self._line_free_s = sent_s + len(reply) * self._byte_s
            out += reply
        return bytes(out)

    def _decimation(self, frame_bytes: int) -> int:
        full_rate = self._options.speed / (frame_bytes * self._byte_s)  # real frames/s without decimation
        return max(1, math.ceil(full_rate / self._options.max_frame_rate))

    def _idle_s(self, now_s: float) -> float:
        """Real seconds until something is due: the next scan, or what the line waits for (below)."""
        if self._scanner is not None and (scan_s := self._scanner.next_s) is not None:
            scan_wait_s = max(0.0, scan_s - now_s) / self._options.speed
        else:
            scan_wait_s = MAX_WAIT_S
        return min(scan_wait_s, self._line_idle_s(now_s))

    def _line_idle_s(self, now_s: float) -> float:
        """The next streamed frame, a queued reply, the next conversion for a reply that waits for a stable weight."""
        if self._responder is None:
            due_s = self._line_free_s
        elif self._commands:
            due_s = max(self._commands[0][1], self._line_free_s)
            if due_s <= now_s:  # due but waiting for a stable weight: look again at the next conversion
                due_s = now_s + self._conversion_s
        else:
            return MAX_WAIT_S
        return min(MAX_WAIT_S, max(0.0, due_s - now_s) / self._options.speed)

    def _receive(self, data: bytes, now_s: float) -> None:
        """Queue the command lines the client sent (CR LF or LF ends them); streaming indicators ignore input."""
        if self._responder is None or not data:
            return
        *lines, rest = (self._received + data).split(b"\n")
        self._received = rest[-MAX_COMMAND:]
        for line in lines:
            if command := line.strip():
                self._commands.append((command, now_s))

    def _record_truth(self, now_s: float) -> None:
        while self._settled and self._settled[0].at_s <= now_s:
            settled = self._settled.popleft()
            self._seq += 1
            if self._truth is None:
                continue
            at = (self._options.start + timedelta(seconds=settled.at_s)).astimezone(UTC)
            event: dict[str, object] = {
                "t": at.isoformat(timespec="milliseconds"), "grams": settled.leftover_g, "tare": settled.tare_g,
                "seq": self._seq, "drift_g": round(self._indicator.drift_g(settled.at_s), 1)}
            if self._scanner is not None:
                answer = self._answers[self._seq - 1]
                event.update(code=answer.code, scan=answer.scan)
            self._truth.write(json.dumps(event) + "\n")
            self._truth.flush()
