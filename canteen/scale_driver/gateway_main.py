"""`canteen-gateway`: the gateway's own command, for a box that has only the canteen-gateway distribution.

That distribution is canteen/scale_driver with pyserial and httpx, and no typer: this module parses the same
options as `canteen gateway` (gateway_cli.py, the typer command inside the full `canteen`) with argparse. Both
run the gateway through run() below, with the same checks and messages; tests/packaging/test_gateway_command.py
checks that the two have the same options, defaults, limits, environment variables and help.

A mistake in the options prints the usage and one `error:` line and exits with 2, and so does an outbox that
is damaged, truncated, missing while its state file is there, or not an outbox (outbox.py, `examine`): the
line names the recovery command. The gateway failing exits with 1 (the cause is logged); Ctrl-C or SIGTERM
stops it with 0. `canteen-gateway outbox check|salvage|list-rejected|requeue` looks after the outbox
(outbox_cli.py).
"""
import argparse
import hashlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from canteen.scale_driver import protocols
from canteen.scale_driver.pairing import PairingConfig
from canteen.scale_driver.protocols import SerialDefaults, UnknownProtocol
from canteen.scale_driver.segmenter import Mode, SegmenterConfig
from canteen.scale_driver.uploader import DEFAULT_BATCH_ITEMS, MAX_BATCH_ITEMS

if TYPE_CHECKING:
    from canteen.scale_driver.gateway import GatewayConfig

PROG = "canteen-gateway"
DESCRIPTION = "Run the store-and-forward gateway for one station."
PARITIES = ("N", "E", "O", "M", "S")
STOPBITS = (1, 1.5, 2)


class UsageError(ValueError):
    """A mistake in the gateway's options; `param_hint` names the option, where there is one."""

    def __init__(self, message: str, param_hint: str | None = None) -> None:
        super().__init__(message)
        self.param_hint = param_hint


def default_outbox(port: str, server: str) -> Path:
    digest = hashlib.sha256(f"{port}\n{server}".encode()).hexdigest()[:12]
    return Path("var") / f"gateway-{digest}.sqlite3"


@dataclass(frozen=True)
class Options:
    """The command's options, as both front ends hand them over (field names are the options' names)."""

    port: str
    protocol: str
    station_key: str
    server: str
    mode: Mode = Mode.tray
    tare: int = 0
    outbox: Path | None = None
    baudrate: int | None = None
    bytesize: int | None = None
    parity: str | None = None
    stopbits: float | None = None
    batch_size: int = DEFAULT_BATCH_ITEMS
    min_event: int = 20
    stable_window: float = 0.4
    tolerance: int = 5
    zero_threshold: int = 20
    status_every: float = 60.0
    id_port: str | None = None
    id_baudrate: int = 9600
    scan_before: float = 20.0
    scan_after: float = 5.0


@dataclass(frozen=True)
class Flag:
    """One option of the command line: its help, how its value is read and the limits typer checks too."""

    dest: str
    help: str
    type: Callable[[str], object] = str
    minimum: float | None = None
    maximum: float | None = None
    envvar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.dest.replace("_", "-")

    def allows(self, value: float) -> bool:
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)

    @property
    def range(self) -> str | None:
        """The limits as typer shows them: x>=0, 5<=x<=8."""
        if self.minimum is None and self.maximum is None:
            return None
        if self.maximum is None:
            return f"x>={self.minimum:g}"
        if self.minimum is None:
            return f"x<={self.maximum:g}"
        return f"{self.minimum:g}<=x<={self.maximum:g}"


FLAGS = (
    Flag("port", "The scale's port: /dev/ttyUSB0, COM3, socket://HOST:PORT, rfc2217://…"),
    Flag("protocol", f"Scale protocol: {', '.join(protocols.names())}."),
    Flag("station_key", "The station's key (stk_…).", envvar="CANTEEN_STATION_KEY"),
    Flag("server", "Server base URL, e.g. https://canteen.example.gov.cn", envvar="CANTEEN_GATEWAY_SERVER"),
    Flag("mode", "tray: plates set on the scale; bin: leftovers scraped in; kitchen: waste bins, live weight.", Mode),
    Flag("tare", "Tray, kitchen mode: the plate's or bin's weight in grams.", int, minimum=0),
    Flag("outbox", "Outbox file. Default: var/gateway-<hash>.sqlite3.", Path),
    Flag("baudrate", "Default: the protocol's.", int, minimum=1),
    Flag("bytesize", "Default: the protocol's.", int, minimum=5, maximum=8),
    Flag("parity", "N, E, O, M or S. Default: the protocol's."),
    Flag("stopbits", "1, 1.5 or 2. Default: the protocol's.", float),
    Flag("batch_size", "Events per upload.", int, minimum=1, maximum=MAX_BATCH_ITEMS),
    Flag("min_event", "Bin mode: the smallest event in grams.", int, minimum=1),
    Flag("stable_window", "Seconds a value must hold to count.", float),
    Flag("tolerance", "Grams a stable value may wander.", int, minimum=0),
    Flag("zero_threshold", "Tray, kitchen mode: grams below which the scale is empty.", int, minimum=1),
    Flag("status_every", "Seconds between status lines.", float, minimum=0.1),
    Flag("id_port", "The identity reader beside the scale (a QR/barcode scanner or card reader sending a line per "
                    "code): /dev/ttyACM0, socket://HOST:PORT, …"),
    Flag("id_baudrate", "The identity reader's baud rate (8 data bits, no parity, 1 stop bit).", int, minimum=1),
    Flag("scan_before", "Seconds before a tray settles that a scan still pairs with it.", float, minimum=0),
    Flag("scan_after", "Seconds after a tray settles that a late scan still pairs with it.", float, minimum=0),
)
DEFAULTS = {field.name: field.default for field in fields(Options)}  # MISSING: a required option


def gateway_config(options: Options) -> "GatewayConfig":
    """Checks the options the way `canteen gateway` always has; raises UsageError or UnknownProtocol."""
    from canteen.scale_driver.gateway import GatewayConfig

    defaults = protocols.get(options.protocol).serial
    if not options.server.startswith(("http://", "https://")):
        raise UsageError("the server URL must start with http:// or https://", "--server")
    parity, stopbits = options.parity, options.stopbits
    if parity is not None and parity.upper() not in PARITIES:
        raise UsageError(f"{parity!r} is not one of {', '.join(PARITIES)}", "--parity")
    if stopbits is not None and stopbits not in STOPBITS:
        raise UsageError(f"{stopbits:g} is not 1, 1.5 or 2", "--stopbits")
    if options.id_port is not None and options.mode is Mode.kitchen:
        raise UsageError("an identity reader pairs scans with plates: it needs --mode tray or bin", "--id-port")
    if options.id_port is not None and options.id_port == options.port:
        raise UsageError("the identity reader needs a port of its own, not the scale's", "--id-port")
    try:
        segmenter = SegmenterConfig(mode=options.mode, stable_window_s=options.stable_window,
                                    tolerance_g=options.tolerance, min_event_g=options.min_event,
                                    tare_g=options.tare, zero_threshold_g=options.zero_threshold)
    except ValueError as error:
        raise UsageError(str(error)) from None
    serial = SerialDefaults(baudrate=options.baudrate or defaults.baudrate,
                            bytesize=options.bytesize or defaults.bytesize,
                            parity=parity.upper() if parity else defaults.parity,
                            stopbits=stopbits or defaults.stopbits)
    return GatewayConfig(port=options.port, protocol=options.protocol, server=options.server,
                         station_key=options.station_key,
                         outbox=options.outbox or default_outbox(options.port, options.server), serial=serial,
                         segmenter=segmenter, batch_size=options.batch_size, status_every_s=options.status_every,
                         id_port=options.id_port, id_serial=SerialDefaults(options.id_baudrate, 8, "N", 1),
                         pairing=PairingConfig(before_s=options.scan_before, after_s=options.scan_after))


def run(options: Options) -> int:
    """Runs the gateway until Ctrl-C or SIGTERM (0) or until a part of it fails (1, the cause logged).

    Raises UsageError (or UnknownProtocol) for a mistake in the options, before anything is opened.
    """
    from canteen.scale_driver.gateway import BadPort, Gateway, GatewayFailed
    from canteen.scale_driver.outbox import OutboxRefused

    config = gateway_config(options)
    try:
        config.outbox.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {config.outbox.parent}: {error.strerror or error}",
                         "--outbox") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    handlers = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        Gateway(config).run(stop)
    except BadPort as error:
        raise UsageError(str(error), error.option) from None
    except OutboxRefused as error:
        raise UsageError(str(error)) from None
    except GatewayFailed:
        return 1
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return 0


def _checked(flag: Flag) -> Callable[[str], object]:
    """The option's type, with the same limits typer checks for `canteen gateway`."""
    def convert(text: str) -> object:
        try:
            value = flag.type(text)
        except ValueError:
            if isinstance(flag.type, type) and issubclass(flag.type, Mode):
                raise argparse.ArgumentTypeError(
                    f"{text!r} is not one of {', '.join(repr(mode.value) for mode in Mode)}") from None
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {flag.type.__name__}") from None
        if isinstance(value, int | float) and not flag.allows(value):
            raise argparse.ArgumentTypeError(f"{text} is not in the range {flag.range}")
        return value
    return convert


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One `error:` line and exit status 2, as every canteen command does."""
        self.exit(2, f"error: {message}\n")


METAVARS: dict[object, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", Path: "PATH"}  # as typer names them


def _shown(value: object) -> str:
    return value.value if isinstance(value, Mode) else str(value)


def build_parser(environ: Mapping[str, str] = os.environ) -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION, allow_abbrev=False,
                     epilog=f"The outbox: {PROG} outbox {{check,salvage,list-rejected,requeue}} --help.")
    for flag in FLAGS:
        default = DEFAULTS[flag.dest]
        from_env = environ.get(flag.envvar, "") if flag.envvar else ""
        notes = [note for note in (flag.range, flag.envvar and f"env var: {flag.envvar}") if note]
        if default is MISSING:
            notes.append("required")
        elif default is not None:
            notes.append(f"default: {_shown(default)}")
        parser.add_argument(
            flag.flag, dest=flag.dest, type=_checked(flag), required=default is MISSING and not from_env,
            default=from_env or (None if default is MISSING else default),
            metavar=METAVARS.get(flag.type) or "{" + ",".join(mode.value for mode in Mode) + "}",
            help=flag.help.replace("%", "%%") + (f" [{'; '.join(notes)}]" if notes else ""))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """The `canteen-gateway` console script; `canteen-gateway outbox …` looks after the outbox instead."""
    arguments_given = sys.argv[1:] if argv is None else list(argv)
    if arguments_given[:1] == ["outbox"]:
        from canteen.scale_driver import outbox_cli

        sys.exit(outbox_cli.main(arguments_given[1:], prog=f"{PROG} outbox"))
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        code = run(Options(**vars(arguments)))
    except UsageError as error:
        parser.error(f"invalid value for {error.param_hint}: {error}" if error.param_hint else str(error))
    except UnknownProtocol as error:
        parser.error(f"invalid value for --protocol: {error}")
    sys.exit(code)


if __name__ == "__main__":
    main()
