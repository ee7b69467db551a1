"""`canteen points …`: a bureau's month of clean-plate points for a points platform (`export`), the platforms' keys
for pulling it (`client add|list|revoke`), and the bureau's webhook for pushing it (`webhook set|disable`).

The database and the export are imported by the commands, not by `canteen --help`.
"""
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from canteen.cli_bounds import MAX_ID
from canteen.cli_session import command_session

points_app = typer.Typer(no_args_is_help=True, help="Clean-plate points: their export to a points platform.")
client_app = typer.Typer(no_args_is_help=True, help="Points platforms' keys for pulling a bureau's export.")
webhook_app = typer.Typer(no_args_is_help=True, help="A bureau's webhook, where its points are pushed.")
points_app.add_typer(client_app, name="client")
points_app.add_typer(webhook_app, name="webhook")

Bureau = Annotated[int, typer.Option(min=1, max=MAX_ID, help="Bureau id (its whole subtree).")]


class Format(StrEnum):
    csv = "csv"
    json = "json"


def _say(language: str, message: str, **params: object) -> None:
    from canteen.i18n import gettext

    typer.echo(gettext(message, language).format(**params))


@points_app.command("export")
def export_command(bureau: Bureau,
                   month: Annotated[str, typer.Option(help="The month, such as 2026-11.")],
                   format: Annotated[Format, typer.Option(help="CSV, or one JSON object.")] = Format.csv,
                   output: Annotated[Path | None, typer.Option(help="Write to this file (replaced if it exists) "
                                                                    "instead of standard output.")] = None) -> None:
    """One row per diner per day (account id, canteen, date, clean plates, points, rule version) and the checksum,
    as README.md ("Export to a points platform") defines them; opted-out diners are left out."""
    from canteen.bounds import parse_month
    from canteen.points import export

    first = parse_month(month)
    with command_session() as (session, _):
        text = export.export_month(session, bureau, first).render(format.value)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8", newline="")


@client_app.command("add")
def client_add(bureau: Bureau,
               name: Annotated[str, typer.Option(help="The platform's name, such as 绿宝碳汇.")]) -> None:
    """A key with which the platform pulls the bureau's export (of the bureau and those under it); shown once."""
    from canteen.access import SYSTEM
    from canteen.i18n import N_
    from canteen.points import export

    with command_session() as (session, language):
        client, key = export.create_client(session, SYSTEM, bureau, name, datetime.now(UTC))
        client_id = client.id
    _say(language, N_("Created points platform key {id} for bureau {bureau}: {name}"), id=client_id, bureau=bureau,
         name=name.strip())
    _say(language, N_("Key: {key}"), key=key)
    _say(language, N_("Give this key to the platform now: it is not shown again."))


@client_app.command("list")
def client_list(bureau: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Only this bureau's.")] = None,
                ) -> None:
    """The platforms' keys (never the keys themselves): id, bureau, active or revoked, name."""
    from canteen.access import SYSTEM
    from canteen.points import export

    with command_session() as (session, _):
        clients = export.list_clients(session, SYSTEM, bureau)
        lines = [f"{client.id}\t{client.bureau_id}\t{'active' if client.active else 'revoked'}\t{client.name}"
                 for client in clients]
    for line in lines:
        typer.echo(line)


@client_app.command("revoke")
def client_revoke(client_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The key's id.")]) -> None:
    """The key stops working at once."""
    from canteen.access import SYSTEM
    from canteen.i18n import N_
    from canteen.points import export

    with command_session() as (session, language):
        export.revoke_client(session, SYSTEM, client_id)
    _say(language, N_("Points platform key {id} revoked."), id=client_id)


@webhook_app.command("set")
def webhook_set(bureau: Bureau,
                url: Annotated[str, typer.Option(help="The platform's https:// address for the pushes.")],
                secret: Annotated[str | None, typer.Option(
                    help="The shared secret the batches are signed with (16-128 characters). Default: asked for "
                         "(hidden), or one line read from standard input.")] = None) -> None:
    """Push the bureau's diner-days to this address from the next run of the points-push job on."""
    from canteen.access import SYSTEM
    from canteen.i18n import N_
    from canteen.points import push

    with command_session() as (session, language):
        if secret is None:
            secret = _read_secret(language)
        push.set_webhook(session, SYSTEM, bureau, url, secret, datetime.now(UTC))
    _say(language, N_("Bureau {bureau}'s points are pushed to {url}."), bureau=bureau, url=url.strip())


@webhook_app.command("disable")
def webhook_disable(bureau: Bureau) -> None:
    """No more pushes for the bureau; rows already acknowledged stay so."""
    from canteen.access import SYSTEM
    from canteen.i18n import N_
    from canteen.points import push

    with command_session() as (session, language):
        push.disable_webhook(session, SYSTEM, bureau, datetime.now(UTC))
    _say(language, N_("Bureau {bureau}'s points are no longer pushed."), bureau=bureau)


def _read_secret(language: str) -> str:
    from canteen.i18n import N_, gettext

    if sys.stdin.isatty():
        return typer.prompt(gettext(N_("Webhook secret"), language), hide_input=True)
    return sys.stdin.readline().rstrip("\r\n")
