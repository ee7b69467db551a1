"""`canteen-gateway` (argparse, for the canteen-gateway wheel) and `canteen gateway` (typer, in the full install)
are one command: the same options, defaults, limits, environment variables and help, and the same checks."""
import inspect
import subprocess
import sys
import types
from dataclasses import MISSING
from pathlib import Path
from typing import Union, get_args, get_origin, get_type_hints

import pytest

from canteen.scale_driver import gateway_cli, gateway_main
from canteen.scale_driver.gateway_main import DEFAULTS, FLAGS, Options, build_parser, main
from canteen.scale_driver.segmenter import Mode

PROTOCOL = "ascii-st-gs"
BASE = ["--port", "loop://", "--server", "http://127.0.0.1:9"]


def typer_options() -> dict[str, dict]:
    """Each option of `canteen gateway` as its typer signature declares it."""
    hints = get_type_hints(gateway_cli.gateway, include_extras=True)
    options = {}
    for name, parameter in inspect.signature(gateway_cli.gateway).parameters.items():
        annotation = hints[name]
        [info] = annotation.__metadata__
        kind = annotation.__origin__
        if get_origin(kind) in (Union, types.UnionType):
            [kind] = [arg for arg in get_args(kind) if arg is not type(None)]
        default = MISSING if parameter.default is inspect.Parameter.empty else parameter.default
        options[name] = {"type": kind, "default": default, "help": info.help, "minimum": info.min,
                         "maximum": info.max, "envvar": info.envvar}
    return options


def argparse_options() -> dict[str, dict]:
    return {flag.dest: {"type": flag.type, "default": DEFAULTS[flag.dest], "help": flag.help,
                        "minimum": flag.minimum, "maximum": flag.maximum, "envvar": flag.envvar} for flag in FLAGS}


def test_both_commands_have_the_same_options():
    assert list(argparse_options()) == list(typer_options())
    assert argparse_options() == typer_options()


def test_the_parser_hands_over_every_option():
    given = ["--port", "socket://127.0.0.1:4001", "--protocol", PROTOCOL, "--station-key", "stk_x", "--server",
             "https://canteen.example", "--mode", "bin", "--tare", "380", "--outbox", "box.sqlite3", "--baudrate",
             "4800", "--bytesize", "7", "--parity", "E", "--stopbits", "2", "--batch-size", "50", "--min-event", "30",
             "--stable-window", "0.5", "--tolerance", "4", "--zero-threshold", "25", "--status-every", "5",
             "--id-port", "socket://127.0.0.1:4002", "--id-baudrate", "115200", "--scan-before", "15", "--scan-after", "3"]
    options = Options(**vars(build_parser({}).parse_args(given)))
    assert options == Options(port="socket://127.0.0.1:4001", protocol=PROTOCOL, station_key="stk_x",
                              server="https://canteen.example", mode=Mode.bin, tare=380, outbox=Path("box.sqlite3"),
                              baudrate=4800, bytesize=7, parity="E", stopbits=2.0, batch_size=50, min_event=30,
                              stable_window=0.5, tolerance=4, zero_threshold=25, status_every=5.0,
                              id_port="socket://127.0.0.1:4002", id_baudrate=115200, scan_before=15.0, scan_after=3.0)
    defaults = Options(**vars(build_parser({}).parse_args(["--port", "p", "--protocol", PROTOCOL, "--station-key",
                                                           "k", "--server", "http://s"])))
    assert defaults == Options(port="p", protocol=PROTOCOL, station_key="k", server="http://s")


def test_key_and_server_come_from_the_environment():
    parser = build_parser({"CANTEEN_STATION_KEY": "stk_env", "CANTEEN_GATEWAY_SERVER": "http://env"})
    arguments = parser.parse_args(["--port", "p", "--protocol", PROTOCOL])
    assert (arguments.station_key, arguments.server) == ("stk_env", "http://env")
    assert parser.parse_args(["--port", "p", "--protocol", PROTOCOL, "--server", "http://given"]).server == \
        "http://given"


@pytest.mark.parametrize("args, message", [
    (["--protocol", "nope", "--station-key", "stk_x"], "unknown scale protocol 'nope'"),
    ([f"--protocol={PROTOCOL}", "--station-key", "stk_x", "--mode", "bin", "--min-event", "3"],
     "minimum event size must be larger than the tolerance"),
    ([f"--protocol={PROTOCOL}", "--station-key", "stk_x", "--parity", "X"], "'X' is not one of N, E, O, M, S"),
    ([f"--protocol={PROTOCOL}", "--station-key", "stk_x", "--stopbits", "3"], "3 is not 1, 1.5 or 2"),
    ([f"--protocol={PROTOCOL}"], "required: --station-key"),
    (["--protocol", PROTOCOL, "--station-key", "stk_x", "--server", "127.0.0.1:8000"],
     "the server URL must start with http:// or https://"),
    (["--protocol", PROTOCOL, "--station-key", "stk_x", "--tare", "-1"], "--tare: -1 is not in the range x>=0"),
    (["--protocol", PROTOCOL, "--station-key", "stk_x", "--batch-size", "1001"], "1<=x<=1000"),
    (["--protocol", PROTOCOL, "--station-key", "stk_x", "--mode", "plate"], "'plate' is not one of 'tray', 'bin'"),
    (["--protocol", PROTOCOL, "--station-key", "stk_x", "--port", "nope://scale"],
     "invalid value for --port: invalid URL, protocol 'nope' not known"),
])
def test_mistakes_give_one_line_and_exit_2(args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the default outbox goes to var/ under the working directory
    for name in ("CANTEEN_STATION_KEY", "CANTEEN_GATEWAY_SERVER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exited:
        main([*BASE, *args])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ") and message in line


def test_help_lists_every_option_with_its_limits_and_variables():
    text = " ".join(build_parser({}).format_help().split())
    for flag in FLAGS:
        assert flag.flag in text
    assert "[env var: CANTEEN_STATION_KEY; required]" in text and "[5<=x<=8]" in text
    assert "[x>=0.1; default: 60.0]" in text


def test_the_command_does_not_import_typer():
    code = ("import sys\nfrom canteen.scale_driver import gateway_main\n"
            "try:\n    gateway_main.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('typer' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines()[-1] == "False"
    assert gateway_main.PROG in result.stdout
