"""`canteen scale …`: list protocols, decode captured bytes, watch a live port (for installers)."""
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Annotated, BinaryIO

import serial as pyserial
import typer

from canteen.scale_driver import transport
from canteen.scale_driver.protocols import Decoder, Reading, SerialDefaults, get, names

scale_app = typer.Typer(no_args_is_help=True, help="Scales: protocols, decoding, live readings.")

READ_SIZE = 65536
STOPBITS = (1, 1.5, 2)

Parity = StrEnum("Parity", {letter: letter for letter in pyserial.PARITY_NAMES})  # type: ignore[misc]
Protocol = Annotated[str, typer.Option(help=f"One of {', '.join(names())}.")]


def _serial_text(serial: SerialDefaults) -> str:
    return f"{serial.baudrate} {serial.bytesize}{serial.parity}{serial.stopbits:g}"


def _summary(decoder: Decoder, readings: int) -> None:
    typer.echo(f"readings: {readings}, bad frames: {decoder.bad_frames}, "
               f"frames without a weight: {decoder.ignored_frames}", err=True)


@scale_app.command("protocols")
def protocols(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per protocol.")] = False) -> None:
    """List the scale protocols with their default serial settings."""
    for name in names():
        module = get(name)
        serial, poll = module.serial, module.poll
        if as_json:
            typer.echo(json.dumps({"name": name, "baudrate": serial.baudrate, "bytesize": serial.bytesize,
                                   "parity": serial.parity, "stopbits": serial.stopbits,
                                   "poll": poll.decode("ascii") if poll else None}))
        else:
            mode = f"polled with {poll.strip().decode('ascii')}" if poll else "streams"
            typer.echo(f"{name:<18}  {_serial_text(serial):<9}  {mode}")


def _reading_json(reading: Reading) -> str:
    return json.dumps({"grams": reading.grams, "stable": reading.stable, "net": reading.net,
                       "overload": reading.overload, "underload": reading.underload})


@scale_app.command("decode")
def decode(protocol: Protocol,
           file: Annotated[Path | None, typer.Argument(help="Captured bytes. Default: stdin.")] = None) -> None:
    """Decode captured bytes: one JSON object per reading, a summary on standard error."""
    decoder = get(protocol).decoder()
    count = 0
    with file.open("rb") if file else typer.get_binary_stream("stdin") as stream:
        for reading in _decode_stream(decoder, stream):
            typer.echo(_reading_json(reading))
            count += 1
    _summary(decoder, count)


def _decode_stream(decoder: Decoder, stream: BinaryIO) -> Iterator[Reading]:
    while chunk := stream.read(READ_SIZE):
        yield from decoder.feed(chunk)
    yield from decoder.flush()


def _reading_line(reading: Reading) -> str:
    if reading.overload or reading.underload:
        weight = "OL" if reading.overload else "UL"
    else:
        weight = f"{reading.grams} g"
    return f"{weight:>11}  {'stable' if reading.stable else 'motion'}  {'net' if reading.net else 'gross'}"


@scale_app.command("watch")
def watch(port: Annotated[str, typer.Option(help="Serial device or URL: /dev/ttyUSB0, COM3, socket://host:port.")],
          protocol: Protocol,
          baudrate: Annotated[int | None, typer.Option(min=1, help="Default: the protocol's.")] = None,
          bytesize: Annotated[int | None, typer.Option(min=5, max=8, help="Default: the protocol's.")] = None,
          parity: Annotated[Parity | None, typer.Option(help="Default: the protocol's.")] = None,
          stopbits: Annotated[float | None, typer.Option(help="1, 1.5 or 2. Default: the protocol's.")] = None,
          count: Annotated[int | None, typer.Option(min=1, help="Stop after this many readings.")] = None) -> None:
    """Print live readings until Ctrl-C (or COUNT readings); reconnects when the scale goes away."""
    module = get(protocol)
    if stopbits is not None and stopbits not in STOPBITS:
        raise typer.BadParameter("must be 1, 1.5 or 2", param_hint="--stopbits")
    defaults = module.serial
    serial = SerialDefaults(baudrate or defaults.baudrate, bytesize or defaults.bytesize,
                            parity.value if parity else defaults.parity, stopbits or defaults.stopbits)
    scale = transport.ScalePort(port, serial, poll=module.poll)
    try:
        scale.open()
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--port") from None
    typer.echo(f"watching {port} ({protocol}, {_serial_text(serial)}); Ctrl-C stops", err=True)
    decoder = module.decoder()
    seen = 0
    with _port_messages(), closing(scale.chunks()) as chunks:
        # A break in the stream ends what came before it: the half frame is flushed, never glued to what follows.
        readings = (reading for chunk in chunks
                    for reading in (decoder.flush() if chunk == transport.BREAK else decoder.feed(chunk)))
        try:
            for reading in islice(readings, count):
                typer.echo(_reading_line(reading))
                seen += 1
        except KeyboardInterrupt:
            pass
    _summary(decoder, seen)


@contextmanager
def _port_messages() -> Iterator[None]:
    """Shows the transport's "lost" and "back" messages on standard error while watching."""
    logger = logging.getLogger(transport.__name__)
    handler = logging.StreamHandler(sys.stderr)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
