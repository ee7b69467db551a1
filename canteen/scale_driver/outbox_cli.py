"""`canteen-gateway outbox …` (and `canteen gateway outbox …`): look after a gateway's outbox.

    check          what the outbox holds, or what is wrong with it (exit 0: sound, 1: damaged or absent)
    salvage        every readable row of a damaged outbox into a fresh one; the damaged file is kept aside
    list-rejected  the events the server refused for good, with its reasons
    requeue        rejected events back into the queue (after the cause was mended on the server)

`salvage` needs the gateway stopped; the others may run beside it. The functions below do the work and print
to standard output; both front ends (argparse here, typer in gateway_cli.py) call them and turn OutboxError
into one `error:` line with exit status 2.
"""
import argparse
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from canteen.scale_driver.outbox import Outbox, OutboxRefused, examine
from canteen.scale_driver.outbox_salvage import NothingToSalvage, salvage

DESCRIPTIONS = {
    "check": "Check the outbox: what it holds, or what is wrong with it (exit 1 if damaged or absent).",
    "salvage": "Recover every readable row of a damaged outbox into a fresh one; the damaged file is kept aside. "
               "Stop the gateway first.",
    "list-rejected": "List the events the server refused for good, with its reasons.",
    "requeue": "Put rejected events back in the queue, to be sent again.",
}
OUTBOX_HELP = "The outbox file (the gateway's --outbox)."


class OutboxError(ValueError):
    """A mistake in the command or an outbox it cannot work on: one `error:` line, exit status 2."""


def check(path: Path) -> int:
    examination = examine(path)
    if examination.new:
        print(f"there is no outbox at {path} (the gateway creates one there when it starts)")
        return 1
    if not examination.ok:
        print(f"damaged: {examination.refusal()}")
        return 1
    print(f"ok: {path}: {examination.queued} events waiting, {examination.rejected} rejected, "
          f"next event number {examination.next_seq}")
    return 0


def salvage_command(path: Path) -> int:
    try:
        report = salvage(path)
    except NothingToSalvage as error:
        raise OutboxError(str(error)) from None
    for line in report.lines():
        print(line)
    return 0


def _existing(path: Path) -> Outbox:
    if examine(path).new:
        raise OutboxError(f"there is no outbox at {path}")
    try:
        return Outbox(path)
    except OutboxRefused as error:
        raise OutboxError(str(error)) from None


def list_rejected(path: Path, as_json: bool = False) -> int:
    outbox = _existing(path)
    try:
        rejected = outbox.rejected()
    finally:
        outbox.close()
    for one in rejected:
        item = one.item
        if as_json:
            print(json.dumps({"seq": item.seq, "measured_at": item.measured_at.isoformat(), "grams": item.grams,
                              "diner_ref": item.diner_ref, "category": item.category, "field": one.field,
                              "reason": one.reason, "rejected_at": one.rejected_at.isoformat()}, ensure_ascii=False))
        else:
            field = f"{one.field}: " if one.field else ""
            print(f"{item.seq}  {item.measured_at.isoformat()}  {item.grams} g  rejected "
                  f"{one.rejected_at.isoformat()}: {field}{one.reason}")
    if not as_json:
        print(f"{len(rejected)} rejected events", file=sys.stderr)
    return 0


def requeue(path: Path, seqs: Sequence[int] | None) -> int:
    """Requeues the rejected events numbered `seqs`, or all of them (None)."""
    outbox = _existing(path)
    try:
        moved = outbox.requeue(seqs)
    finally:
        outbox.close()
    missing = sorted(set(seqs or ()) - set(moved))
    print(f"{len(moved)} rejected events put back in the queue" + (f": {', '.join(map(str, moved))}" if moved else ""))
    if missing:
        print(f"not among the rejected events: {', '.join(map(str, missing))}", file=sys.stderr)
        return 1
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Look after a gateway's outbox.", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,salvage,list-rejected,requeue}",
                                     parser_class=_Parser)
    for name, description in DESCRIPTIONS.items():
        command = commands.add_parser(name, help=description, description=description, allow_abbrev=False)
        command.add_argument("--outbox", type=Path, required=True, metavar="PATH", help=OUTBOX_HELP)
        if name == "list-rejected":
            command.add_argument("--json", dest="as_json", action="store_true", help="One JSON object per event.")
        if name == "requeue":
            which = command.add_mutually_exclusive_group(required=True)
            which.add_argument("--seq", dest="seqs", type=int, action="append", metavar="INTEGER",
                               help="The number of a rejected event (repeatable).")
            which.add_argument("--all", action="store_true", help="Every rejected event.")
    return parser


def run(arguments: argparse.Namespace) -> int:
    return guarded(lambda: _dispatch(arguments))


def guarded(command: Callable[[], int]) -> int:
    """Runs one of the commands above; the file system or SQLite failing becomes an OutboxError."""
    try:
        return command()
    except (OSError, sqlite3.Error) as error:
        raise OutboxError(str(error)) from None


def _dispatch(arguments: argparse.Namespace) -> int:
    path: Path = arguments.outbox
    if arguments.command == "check":
        return check(path)
    if arguments.command == "salvage":
        return salvage_command(path)
    if arguments.command == "list-rejected":
        return list_rejected(path, arguments.as_json)
    return requeue(path, None if arguments.all else arguments.seqs)


def main(argv: Sequence[str], prog: str = "canteen-gateway outbox") -> int:
    parser = build_parser(prog)
    arguments = parser.parse_args(argv)
    try:
        return run(arguments)
    except OutboxError as error:
        parser.error(str(error))
