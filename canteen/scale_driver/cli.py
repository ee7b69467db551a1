"""`canteen scale …`: list protocols, decode captured bytes, watch a live port (for installers)."""
import typer

scale_app = typer.Typer(no_args_is_help=True, help="Scales: protocols, decoding, live readings.")
