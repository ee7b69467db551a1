"""`canteen gateway`: read a scale, segment events, keep them in the outbox, upload them.

The station key can come from CANTEEN_STATION_KEY and the server from CANTEEN_GATEWAY_SERVER, so that the
key does not show in `ps`. Without --outbox, the outbox is var/gateway-<12 hex digits>.sqlite3 under the
working directory, the digits a hash of the port and the server: restarting with the same port and server
finds the events still waiting, and two gateways on one box never share an outbox.

The checks and the run itself are gateway_main.run(), shared with `canteen-gateway` (gateway_main.py: the
same options without typer, for the canteen-gateway distribution); the gateway itself (transport, outbox,
threads) is imported when it runs, not by `canteen --help`. `canteen gateway outbox check|salvage|list-rejected|
requeue` are `canteen-gateway outbox …` (outbox_cli.py): the gateway's required options do not apply to them.
"""
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from canteen.scale_driver import outbox_cli, protocols
from canteen.scale_driver.gateway_main import Options, UsageError, default_outbox, run
from canteen.scale_driver.segmenter import Mode
from canteen.scale_driver.uploader import MAX_BATCH_ITEMS

__all__ = ["default_outbox", "gateway", "gateway_app"]  # default_outbox lives in gateway_main now



class _GatewayGroup(TyperGroup):
    """Runs the gateway with its options, or `outbox …` without them (they are required for the gateway only)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's own copy of click.Context
        if args[:1] != ["outbox"]:
            return super().parse_args(ctx, args)
        ctx.resilient_parsing = True  # the missing gateway options are left as None instead of refused
        try:
            return super().parse_args(ctx, args)
        finally:
            ctx.resilient_parsing = False


gateway_app = typer.Typer(cls=_GatewayGroup, help="Run the store-and-forward gateway for one station.")
outbox_app = typer.Typer(no_args_is_help=True, help="Look after a gateway's outbox.")
gateway_app.add_typer(outbox_app, name="outbox")
OutboxPath = Annotated[Path, typer.Option(help=outbox_cli.OUTBOX_HELP)]


@gateway_app.callback(invoke_without_command=True)
def gateway(
    port: Annotated[str, typer.Option(help="The scale's port: /dev/ttyUSB0, COM3, socket://HOST:PORT, rfc2217://…")],
    protocol: Annotated[str, typer.Option(help=f"Scale protocol: {', '.join(protocols.names())}.")],
    station_key: Annotated[str, typer.Option(envvar="CANTEEN_STATION_KEY", show_envvar=True,
                                             help="The station's key (stk_…).")],
    server: Annotated[str, typer.Option(envvar="CANTEEN_GATEWAY_SERVER", show_envvar=True,
                                        help="Server base URL, e.g. https://canteen.example.gov.cn")],
    mode: Annotated[Mode, typer.Option(
        help="tray: plates set on the scale; bin: leftovers scraped in; kitchen: waste bins, live weight.")
    ] = Mode.tray,
    tare: Annotated[int, typer.Option(min=0, help="Tray, kitchen mode: the plate's or bin's weight in grams.")] = 0,
    outbox: Annotated[Path | None, typer.Option(help="Outbox file. Default: var/gateway-<hash>.sqlite3.")] = None,
    baudrate: Annotated[int | None, typer.Option(min=1, help="Default: the protocol's.")] = None,
    bytesize: Annotated[int | None, typer.Option(min=5, max=8, help="Default: the protocol's.")] = None,
    parity: Annotated[str | None, typer.Option(help="N, E, O, M or S. Default: the protocol's.")] = None,
    stopbits: Annotated[float | None, typer.Option(help="1, 1.5 or 2. Default: the protocol's.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH_ITEMS, help="Events per upload.")] = 100,
    min_event: Annotated[int, typer.Option(min=1, help="Bin mode: the smallest event in grams.")] = 20,
    stable_window: Annotated[float, typer.Option(help="Seconds a value must hold to count.")] = 0.4,
    tolerance: Annotated[int, typer.Option(min=0, help="Grams a stable value may wander.")] = 5,
    zero_threshold: Annotated[int, typer.Option(
        min=1, help="Tray, kitchen mode: grams below which the scale is empty.")] = 20,
    status_every: Annotated[float, typer.Option(min=0.1, help="Seconds between status lines.")] = 60.0,
    id_port: Annotated[str | None, typer.Option(
        help="The identity reader beside the scale (a QR/barcode scanner or card reader sending a line per code): "
             "/dev/ttyACM0, socket://HOST:PORT, …")] = None,
    id_baudrate: Annotated[int, typer.Option(
        min=1, help="The identity reader's baud rate (8 data bits, no parity, 1 stop bit).")] = 9600,
    scan_before: Annotated[float, typer.Option(
        min=0, help="Seconds before a tray settles that a scan still pairs with it.")] = 20.0,
    scan_after: Annotated[float, typer.Option(
        min=0, help="Seconds after a tray settles that a late scan still pairs with it.")] = 5.0,
) -> None:
    """Run the gateway until interrupted (Ctrl-C or SIGTERM)."""
    if port is None:  # `canteen gateway outbox …` (see _GatewayGroup): the subcommand does the work
        return
    options = Options(port=port, protocol=protocol, station_key=station_key, server=server, mode=mode, tare=tare,
                      outbox=outbox, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits,
                      batch_size=batch_size, min_event=min_event, stable_window=stable_window, tolerance=tolerance,
                      zero_threshold=zero_threshold, status_every=status_every, id_port=id_port,
                      id_baudrate=id_baudrate, scan_before=scan_before, scan_after=scan_after)
    try:
        code = run(options)
    except UsageError as error:
        raise typer.BadParameter(str(error), param_hint=error.param_hint) from None
    if code:
        raise typer.Exit(code)


def _outbox_command(command: Callable[[], int]) -> None:
    try:
        code = outbox_cli.guarded(command)
    except outbox_cli.OutboxError as error:
        raise typer.BadParameter(str(error), param_hint="--outbox") from None
    if code:
        raise typer.Exit(code)


@outbox_app.command("check", help=outbox_cli.DESCRIPTIONS["check"])
def outbox_check(outbox: OutboxPath) -> None:
    _outbox_command(lambda: outbox_cli.check(outbox))


@outbox_app.command("salvage", help=outbox_cli.DESCRIPTIONS["salvage"])
def outbox_salvage(outbox: OutboxPath) -> None:
    _outbox_command(lambda: outbox_cli.salvage_command(outbox))


@outbox_app.command("list-rejected", help=outbox_cli.DESCRIPTIONS["list-rejected"])
def outbox_list_rejected(outbox: OutboxPath, as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per event.")] = False) -> None:
    _outbox_command(lambda: outbox_cli.list_rejected(outbox, as_json))


@outbox_app.command("requeue", help=outbox_cli.DESCRIPTIONS["requeue"])
def outbox_requeue(outbox: OutboxPath,
                   seq: Annotated[list[int] | None, typer.Option(help="The number of a rejected event (repeatable).")]
                   = None,
                   every: Annotated[bool, typer.Option("--all", help="Every rejected event.")] = False) -> None:
    if bool(seq) == every:
        raise typer.BadParameter("give --seq (one or more) or --all", param_hint="--seq")
    _outbox_command(lambda: outbox_cli.requeue(outbox, None if every else seq))


if __name__ == "__main__":  # a light entry point: the full `canteen` command imports the whole server
    gateway_app(prog_name="canteen gateway")
