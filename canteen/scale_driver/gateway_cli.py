"""`canteen gateway`: read a scale, segment events, keep them in the outbox, upload them."""
import typer

gateway_app = typer.Typer(help="Run the store-and-forward gateway for one station.")
