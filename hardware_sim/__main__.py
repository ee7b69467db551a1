"""`python -m hardware_sim scale …`: an emulated scale on a pseudo-terminal or a TCP port; `python -m hardware_sim
staff …`: kitchen staff classifying a kitchen station's weighings at its terminal, through the server's API.

The first line on stdout is where to connect (the pty's path, or host:port); with a scanner beside the scale
(`--scanner-pty` or `--scanner-tcp`) the second line is the scanner's. After a `--disconnect-after` hang-up the
scale's pty comes back under a new path, printed as another line. Mistakes in the flags give one `error:` line on
stderr and exit code 2.
"""
import logging
import signal
import sys
import threading
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hardware_sim import frames
from hardware_sim.ports import Port, PtyPort, TcpPort
from hardware_sim.scale import Scale, ScaleOptions
from hardware_sim.scanner import SUFFIXES, ScannerOptions
from hardware_sim.staff import Staff
from hardware_sim.station import Mode

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _commands() -> None:
    """Emulated weighing hardware, for running the scale driver without a scale."""


VARIANTS = "; ".join(f"{name}: {', '.join(line_format.variants)}" for name, line_format in frames.FORMATS.items())


def _protocol(name: str) -> str:
    try:
        frames.get(name)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return name


def _start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--start") from None
    if start.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs a UTC offset, e.g. {text}+08:00", param_hint="--start")
    return start


def _port(pty: bool, tcp: str | None, link: Path | None, hint: str = "--pty/--tcp") -> Port:
    if pty == (tcp is not None):
        raise typer.BadParameter("give exactly one of them", param_hint=hint)
    if link is not None and not pty:
        raise typer.BadParameter("only applies with --pty", param_hint="--link")
    if pty:
        return PtyPort(link)
    assert tcp is not None
    host, _, port = tcp.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise typer.BadParameter(f"{tcp!r} is not HOST:PORT", param_hint=hint.split("/")[-1])
    return TcpPort(host.strip("[]"), int(port))


@app.command()
def scale(
    protocol: Annotated[str, typer.Option(callback=_protocol, help=f"One of: {', '.join(frames.FORMATS)}.")],
    variant: Annotated[str | None, typer.Option(help=f"Output variant; the first is the default. {VARIANTS}.")]
    = None,
    pty: Annotated[bool, typer.Option(help="Serve on a new pseudo-terminal; its path is the first line out.")] = False,
    tcp: Annotated[str | None, typer.Option(metavar="HOST:PORT", help="Serve over TCP; port 0 picks one.")] = None,
    link: Annotated[Path | None, typer.Option(help="Keep this symlink pointing at the current pty.")] = None,
    mode: Annotated[Mode, typer.Option(help="tray: trays weighed and lifted; bin: scraps into a tared bin; kitchen: "
                                            "bins of kitchen waste set down, scraped into, lifted off.")]
    = Mode.TRAY,
    diners: Annotated[float, typer.Option(min=0.0, help="Expected headcount of the meal.")] = 300,
    bins: Annotated[float, typer.Option(min=0.0, help="Kitchen mode: expected bins of waste over the meal.")] = 20,
    meal_minutes: Annotated[float, typer.Option(min=0.01)] = 60,
    seed: int = 1,
    start: Annotated[str | None, typer.Option(help="Simulated start (the meal bell), ISO 8601 with offset; "
                                                   "default now.")] = None,
    speed: Annotated[float, typer.Option(min=0.001, help="Simulated seconds per real second.")] = 1.0,
    baudrate: Annotated[int | None, typer.Option(min=300, help="Default: the protocol's.")] = None,
    capacity_g: Annotated[int, typer.Option(min=1000)] = 30_000,
    tare_g: Annotated[int, typer.Option(min=0, help="Nominal tray (kitchen mode: container) weight.")] = 380,
    tare_spread_g: Annotated[int, typer.Option(min=0)] = 5,
    noise_g: Annotated[float, typer.Option(min=0.0, help="Conversion noise (σ, clipped to ±2 g).")] = 0.6,
    duration: Annotated[float | None, typer.Option(min=0.0, help="Simulated seconds to run; default: until "
                                                                 "the last diner has gone.")] = None,
    max_frame_rate: Annotated[float, typer.Option(min=1.0, help="Real frames/s above which frames are "
                                                                "decimated.")] = 2_000,
    wait_client: Annotated[bool, typer.Option(help="Hold the simulated clock until a client connects.")] = False,
    hold_without_client: Annotated[bool, typer.Option(help="Hold the simulated clock whenever no client is "
                                                           "connected, so a crashed reader misses no diner.")] = False,
    truth: Annotated[Path | None, typer.Option(help="Write one JSON line per diner as the load settles.")] = None,
    garble: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of bytes corrupted.")] = 0.0,
    drop: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of bytes lost.")] = 0.0,
    disconnect_after: Annotated[float | None, typer.Option(min=0.0, help="Hang up once after this many simulated "
                                                                         "seconds.")] = None,
    disconnect_pause: Annotated[float, typer.Option(min=0.0, help="Simulated seconds until the port comes "
                                                                  "back.")] = 5.0,
    zero_drift: Annotated[float, typer.Option(metavar="G_PER_MIN")] = 0.0,
    overload_every: Annotated[float | None, typer.Option(min=1.0, help="Simulated seconds.")] = None,
    scanner_pty: Annotated[bool, typer.Option(help="A scanner beside the scale, on a pseudo-terminal of its own.")]
    = False,
    scanner_tcp: Annotated[str | None, typer.Option(metavar="HOST:PORT", help="A scanner beside the scale, over "
                                                                              "TCP.")] = None,
    scan_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of diners who scan.")] = 0.7,
    scan_twice: Annotated[float, typer.Option(min=0.0, max=1.0, help="Of those: who scan twice.")] = 0.1,
    scan_late: Annotated[float, typer.Option(min=0.0, max=1.0, help="Of those: who scan after the tray settled, "
                                                                    "within the window.")] = 0.1,
    scan_outside: Annotated[float, typer.Option(min=0.0, max=1.0, help="Of those: who scan too late, outside the "
                                                                       "window (where no other tray is near).")]
    = 0.05,
    scan_before: Annotated[float, typer.Option(min=0.0, help="The gateway's --scan-before, in simulated seconds "
                                                             "(give the gateway this ÷ --speed).")] = 20.0,
    scan_after: Annotated[float, typer.Option(min=0.0, help="The gateway's --scan-after, in simulated seconds.")]
    = 5.0,
    scan_suffix: Annotated[str, typer.Option(help=f"What ends a code: {', '.join(SUFFIXES)}.")] = "cr",
    codes: Annotated[Path | None, typer.Option(help="The diners' codes (booking tokens, card numbers), one a line, "
                                                    "used in order; default: drawn.")] = None,
    scan_truth: Annotated[Path | None, typer.Option(help="Write one JSON line per scan sent.")] = None,
) -> None:
    """Emulate a weighing indicator at a plate-return or kitchen station during one meal."""
    if variant is not None and variant not in frames.get(protocol).variants:
        raise typer.BadParameter(f"{variant!r} is not one of {', '.join(frames.get(protocol).variants)}",
                                 param_hint="--variant")
    if scanner_pty and scanner_tcp is not None:
        raise typer.BadParameter("give one of them", param_hint="--scanner-pty/--scanner-tcp")
    scanning = scanner_pty or scanner_tcp is not None
    scanner = ScannerOptions(before_s=scan_before, after_s=scan_after, share=scan_share, twice=scan_twice,
                             late=scan_late, outside=scan_outside, codes=_codes(codes), suffix=scan_suffix
                             ) if scanning else None
    options = ScaleOptions(
        protocol=protocol, variant=variant, start=_start(start), mode=mode, diners=diners, bins=bins,
        meal_minutes=meal_minutes,
        seed=seed, speed=speed, baudrate=baudrate, capacity_g=capacity_g, tare_g=tare_g, tare_spread_g=tare_spread_g,
        noise_g=noise_g, duration_s=duration, max_frame_rate=max_frame_rate, wait_client=wait_client,
        hold_without_client=hold_without_client,
        garble_rate=garble, drop_rate=drop, disconnect_after_s=disconnect_after, disconnect_pause_s=disconnect_pause,
        zero_drift_g_per_min=zero_drift, overload_every_s=overload_every, scanner=scanner)
    with ExitStack() as stack:
        port = _port(pty, tcp, link)
        stack.callback(port.close)
        scanner_port = _port(scanner_pty, scanner_tcp, None, "--scanner-pty/--scanner-tcp") if scanning else None
        if scanner_port is not None:
            stack.callback(scanner_port.close)
        truth_file = stack.enter_context(truth.open("w", encoding="utf-8")) if truth else None
        scan_file = stack.enter_context(scan_truth.open("w", encoding="utf-8")) if scan_truth and scanning else None
        emulator = Scale(options, port, truth_file, announce=_announce, scanner_port=scanner_port,
                         scan_truth=scan_file)
        _announce(port.address)
        if scanner_port is not None:
            _announce(scanner_port.address)
        emulator.run()


def _codes(path: Path | None) -> tuple[str, ...] | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {path}: {error}", param_hint="--codes") from None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@app.command()
def staff(
    server: Annotated[str, typer.Option(help="Server base URL, e.g. http://127.0.0.1:8000")],
    station_key: Annotated[str, typer.Option(envvar="CANTEEN_STATION_KEY", show_envvar=True,
                                             help="The kitchen station's key (stk_…).")],
    leave: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of weighings left unclassified.")] = 0.25,
    react_min: Annotated[float, typer.Option(min=0.0, help="Shortest real seconds before a tap.")] = 5.0,
    react_max: Annotated[float, typer.Option(min=0.0, help="Longest real seconds before a tap.")] = 40.0,
    poll_every: Annotated[float, typer.Option(min=1.0, help="Real seconds between looks at the terminal.")] = 2.0,
    seed: int = 1,
    duration: Annotated[float | None, typer.Option(min=0.0, help="Real seconds to run; default: until stopped.")]
    = None,
    truth: Annotated[Path | None, typer.Option(help="Write one JSON line per weighing decided.")] = None,
) -> None:
    """Emulate kitchen staff classifying a kitchen station's weighings at its terminal."""
    if not server.startswith(("http://", "https://")):
        raise typer.BadParameter("the server URL must start with http:// or https://", param_hint="--server")
    if react_max < react_min:
        raise typer.BadParameter("must not be shorter than --react-min", param_hint="--react-max")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with ExitStack() as stack:
        truth_file = stack.enter_context(truth.open("w", encoding="utf-8")) if truth else None
        people = Staff(server, station_key, seed=seed, leave_share=leave, react_s=(react_min, react_max),
                       truth=truth_file)
        stack.callback(people.close)
        stop = threading.Event()
        if duration is not None:
            timer = threading.Timer(duration, stop.set)
            timer.start()
            stack.callback(timer.cancel)
        people.run(stop, poll_every)


def _announce(address: str) -> None:
    print(address, flush=True)


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    try:
        return command.main(args=argv, prog_name="python -m hardware_sim", standalone_mode=False) or 0
    except typer.TyperException as error:  # bad flags
        message = error.format_message().replace("Value error, ", "")
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, typer.Abort):
        return 130


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (pty link, sockets) when killed
    sys.exit(main())
