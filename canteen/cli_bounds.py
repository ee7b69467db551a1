"""The bounds of canteen.bounds as plain numbers, for the commands' options.

typer checks an option's range before the command runs (`--parent 2**70` is one `error:` line naming the option);
the numbers live here because canteen.bounds imports pydantic, which `canteen --help` does not load.
tests/test_cli_abuse.py checks that both modules agree.
"""
MAX_ID = 2**31 - 1  # canteen.bounds.MAX_ID: what an id column holds on both databases (32-bit on PostgreSQL)
MAX_COUNT = 2**31 - 1  # canteen.bounds.MAX_COUNT
