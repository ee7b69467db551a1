"""The canteen-gateway wheel, built as `make gateway-wheel` builds it and installed alone in a fresh virtualenv:
it holds the scale driver and nothing of the server, its command runs, and the server's libraries are absent.

Installing needs a package index for pyserial and httpx (and building may need one for setuptools): when pip
cannot reach any, the tests are skipped and say so.
"""
import ast
import os
import re
import signal
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "gateway" / "build_wheel.py"
PIP_TIMEOUT_S = 300
SERVER_MODULES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "sqlmodel", "alembic", "pandas", "numpy",
                  "matplotlib", "statsmodels", "playwright", "typer", "canteen.app", "canteen.db")


def requirement(spec: str) -> tuple[str, frozenset[str]]:
    """A requirement line as (name, its version clauses): 'httpx>=0.27,<1' -> ('httpx', {'>=0.27', '<1'})."""
    name = re.match(r"[A-Za-z0-9_.-]+", spec).group()
    return name.lower(), frozenset(spec[len(name):].replace(" ", "").split(","))


def main_project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def skip_unless_an_index_answers(failed: subprocess.CompletedProcess, what: str, scratch: Path) -> None:
    """Fails with pip's output, unless pip reaches no package index at all: then the test is skipped."""
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-cache-dir",
                            "--dest", str(scratch), "pyserial>=3.5,<4"],
                           capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    if probe.returncode != 0:
        pytest.skip(f"pip cannot reach a package index ({probe.stderr.strip().splitlines()[-1:]}), so {what} "
                    "cannot be done here")
    pytest.fail(f"{what} failed although an index answers:\n{failed.stdout}\n{failed.stderr}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, str(BUILD), "--dist", str(dist)], capture_output=True, text=True,
                           timeout=PIP_TIMEOUT_S, cwd=ROOT)
    if built.returncode != 0:
        skip_unless_an_index_answers(built, "building the wheel", tmp_path_factory.mktemp("probe"))
    [path] = dist.glob("*.whl")
    assert built.stdout.strip().splitlines()[-1] == str(path)
    return path


@pytest.fixture(scope="module")
def gateway_venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv (no system site-packages) with the wheel and what it requires, from the index."""
    venv = tmp_path_factory.mktemp("gateway-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                str(wheel)], capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    if installed.returncode != 0:
        skip_unless_an_index_answers(installed, "installing the wheel", tmp_path_factory.mktemp("probe"))
    return venv


def run_in(venv: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, timeout=60,
                          cwd=venv, **kwargs)


def test_the_wheel_holds_the_scale_driver_and_its_metadata_only(wheel):
    project = main_project()
    version = project["version"]
    assert wheel.name == f"canteen_gateway-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"canteen_gateway-{version}.dist-info/METADATA").decode()
        entry_points = archive.read(f"canteen_gateway-{version}.dist-info/entry_points.txt").decode()
        package_init = archive.read("canteen/__init__.py").decode()
    others = [name for name in names if name != "canteen/__init__.py" and not name.startswith(
        ("canteen/scale_driver/", f"canteen_gateway-{version}.dist-info/"))]
    assert others == []
    driver = ROOT / "canteen" / "scale_driver"
    shipped = {path.relative_to(ROOT).as_posix() for path in driver.rglob("*.py")} - {
        "canteen/scale_driver/cli.py", "canteen/scale_driver/gateway_cli.py"}  # typer: the full install's commands
    assert {name for name in names if name.startswith("canteen/")} == shipped | {"canteen/__init__.py"}
    # canteen/__init__.py is shared by both distributions: it must import nothing.
    assert not [node for node in ast.walk(ast.parse(package_init)) if isinstance(node, ast.Import | ast.ImportFrom)]

    lines = metadata.splitlines()
    assert "Name: canteen-gateway" in lines and f"Version: {version}" in lines
    assert f"Requires-Python: {project['requires-python']}" in lines
    requires = {requirement(line.removeprefix("Requires-Dist: ")) for line in lines
                if line.startswith("Requires-Dist: ")}
    main_requires = dict(map(requirement, project["dependencies"]))
    assert requires == {(name, main_requires[name]) for name in ("pyserial", "httpx")}  # the same ranges
    assert "canteen-gateway = canteen.scale_driver.gateway_main:main" in entry_points


def test_the_command_runs_from_the_wheel_alone(gateway_venv):
    result = run_in(gateway_venv, "canteen-gateway", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--port", "--protocol", "--server", "--station-key", "--tare", "--outbox"):
        assert option in result.stdout

    mistake = run_in(gateway_venv, "canteen-gateway", "--port", "loop://", "--protocol", "morse", "--station-key",
                     "stk_x", "--server", "http://127.0.0.1:9")
    assert mistake.returncode == 2
    assert mistake.stderr.splitlines() == [mistake.stderr.strip()]
    assert mistake.stderr.startswith("error: invalid value for --protocol: unknown scale protocol 'morse'")


def test_the_server_libraries_are_not_there(gateway_venv):
    for module in SERVER_MODULES:
        result = run_in(gateway_venv, "python", "-c", f"import {module}")
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, module


def test_every_module_of_the_wheel_imports_there(gateway_venv, wheel):
    with zipfile.ZipFile(wheel) as archive:
        modules = sorted(name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                         for name in archive.namelist() if name.endswith(".py"))
    result = run_in(gateway_venv, "python", "-c", f"import importlib\nfor name in {modules!r}: "
                                                  "importlib.import_module(name)")
    assert result.returncode == 0, result.stderr


def test_the_gateway_from_the_wheel_starts_and_stops_on_sigterm(gateway_venv, tmp_path):
    """It opens a port, keeps its outbox and runs until SIGTERM, with pyserial and httpx only (no server here:
    the uploader only has nothing to send)."""
    outbox = tmp_path / "outbox.sqlite3"
    process = subprocess.Popen(
        [str(gateway_venv / "bin" / "canteen-gateway"), "--port", "loop://", "--protocol", "ascii-st-gs",
         "--server", "http://127.0.0.1:9", "--outbox", str(outbox), "--status-every", "0.2"],
        env={**os.environ, "CANTEEN_STATION_KEY": "stk_test"}, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "outbox 0 waiting" in line:  # a status line: the gateway is up and reporting
                break
        assert any("gateway started" in line for line in lines), lines
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert outbox.exists()
