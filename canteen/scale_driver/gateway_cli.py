"""`canteen gateway`: read a scale, segment events, keep them in the outbox, upload them.

The station key can come from CANTEEN_STATION_KEY and the server from CANTEEN_GATEWAY_SERVER, so that the
key does not show in `ps`. Without --outbox, the outbox is var/gateway-<12 hex digits>.sqlite3 under the
working directory, the digits a hash of the port and the server: restarting with the same port and server
finds the events still waiting, and two gateways on one box never share an outbox.
"""
import hashlib
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from canteen.scale_driver import protocols
from canteen.scale_driver.gateway import BadPort, Gateway, GatewayConfig, GatewayFailed
from canteen.scale_driver.protocols import SerialDefaults
from canteen.scale_driver.segmenter import Mode, SegmenterConfig
from canteen.scale_driver.uploader import MAX_BATCH_ITEMS

gateway_app = typer.Typer(help="Run the store-and-forward gateway for one station.")

PARITIES = ("N", "E", "O", "M", "S")


def default_outbox(port: str, server: str) -> Path:
    digest = hashlib.sha256(f"{port}\n{server}".encode()).hexdigest()[:12]
    return Path("var") / f"gateway-{digest}.sqlite3"


@gateway_app.callback(invoke_without_command=True)
def gateway(
    port: Annotated[str, typer.Option(help="The scale's port: /dev/ttyUSB0, COM3, socket://HOST:PORT, rfc2217://…")],
    protocol: Annotated[str, typer.Option(help=f"Scale protocol: {', '.join(protocols.names())}.")],
    station_key: Annotated[str, typer.Option(envvar="CANTEEN_STATION_KEY", show_envvar=True,
                                             help="The station's key (stk_…).")],
    server: Annotated[str, typer.Option(envvar="CANTEEN_GATEWAY_SERVER", show_envvar=True,
                                        help="Server base URL, e.g. https://canteen.example.gov.cn")],
    mode: Annotated[Mode, typer.Option(help="tray: plates set on the scale; bin: leftovers scraped in.")] = Mode.tray,
    tare: Annotated[int, typer.Option(min=0, help="Tray mode: the plate's weight in grams.")] = 0,
    outbox: Annotated[Path | None, typer.Option(help="Outbox file. Default: var/gateway-<hash>.sqlite3.")] = None,
    baudrate: Annotated[int | None, typer.Option(min=1, help="Default: the protocol's.")] = None,
    bytesize: Annotated[int | None, typer.Option(min=5, max=8, help="Default: the protocol's.")] = None,
    parity: Annotated[str | None, typer.Option(help="N, E, O, M or S. Default: the protocol's.")] = None,
    stopbits: Annotated[float | None, typer.Option(help="1, 1.5 or 2. Default: the protocol's.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH_ITEMS, help="Events per upload.")] = 100,
    min_event: Annotated[int, typer.Option(min=1, help="Bin mode: the smallest event in grams.")] = 20,
    stable_window: Annotated[float, typer.Option(help="Seconds a value must hold to count.")] = 0.4,
    tolerance: Annotated[int, typer.Option(min=0, help="Grams a stable value may wander.")] = 5,
    zero_threshold: Annotated[int, typer.Option(min=1, help="Tray mode: grams below which the scale is empty.")] = 20,
    status_every: Annotated[float, typer.Option(min=0.1, help="Seconds between status lines.")] = 60.0,
) -> None:
    """Run the gateway until interrupted (Ctrl-C or SIGTERM)."""
    defaults = protocols.get(protocol).SERIAL
    if not server.startswith(("http://", "https://")):
        raise typer.BadParameter("the server URL must start with http:// or https://", param_hint="--server")
    if parity is not None and parity.upper() not in PARITIES:
        raise typer.BadParameter(f"{parity!r} is not one of {', '.join(PARITIES)}", param_hint="--parity")
    if stopbits is not None and stopbits not in (1, 1.5, 2):
        raise typer.BadParameter(f"{stopbits:g} is not 1, 1.5 or 2", param_hint="--stopbits")
    try:
        segmenter = SegmenterConfig(mode=mode, stable_window_s=stable_window, tolerance_g=tolerance,
                                    min_event_g=min_event, tare_g=tare, zero_threshold_g=zero_threshold)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    serial = SerialDefaults(baudrate=baudrate or defaults.baudrate, bytesize=bytesize or defaults.bytesize,
                            parity=parity.upper() if parity else defaults.parity,
                            stopbits=stopbits or defaults.stopbits)
    outbox = outbox or default_outbox(port, server)
    outbox.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = GatewayConfig(port=port, protocol=protocol, server=server, station_key=station_key, outbox=outbox,
                           serial=serial, segmenter=segmenter, batch_size=batch_size, status_every_s=status_every)
    stop = threading.Event()
    handlers = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        Gateway(config).run(stop)
    except BadPort as error:
        raise typer.BadParameter(str(error), param_hint="--port") from None
    except GatewayFailed:
        raise typer.Exit(1) from None
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


if __name__ == "__main__":  # a light entry point: the full `canteen` command imports the whole server
    gateway_app(prog_name="canteen gateway")
