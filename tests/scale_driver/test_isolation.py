"""The scale driver ships alone (the gateway box has pyserial and httpx, not the server): it imports nothing of
canteen outside canteen.scale_driver and none of the server's libraries."""
import ast
import subprocess
import sys
from pathlib import Path

import canteen.scale_driver

PACKAGE = Path(canteen.scale_driver.__file__).parent
SERVER_LIBRARIES = {"fastapi", "starlette", "sqlalchemy", "sqlmodel", "alembic", "pandas", "numpy", "uvicorn",
                    "jinja2", "matplotlib", "hardware_sim"}


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_module_of_the_driver_imports_the_server() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    for path in sources:
        for name in imported_names(path):
            top = name.split(".")[0]
            assert top not in SERVER_LIBRARIES, f"{path.name} imports {name}"
            if top == "canteen":
                assert name == "canteen.scale_driver" or name.startswith("canteen.scale_driver."), \
                    f"{path.name} imports {name}"


def test_importing_every_module_loads_nothing_of_the_server() -> None:
    modules = sorted(".".join(("canteen", *path.relative_to(PACKAGE.parent).with_suffix("").parts))
                     .removesuffix(".__init__") for path in PACKAGE.rglob("*.py"))
    code = f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\nprint(*sys.modules)"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                timeout=60).stdout.split())
    assert "canteen.scale_driver.gateway" in loaded and "serial" in loaded and "httpx" in loaded
    assert not {name for name in loaded if name.split(".")[0] in SERVER_LIBRARIES}
    assert {name for name in loaded if name.startswith("canteen")} <= {"canteen"} | {
        name for name in loaded if name.startswith("canteen.scale_driver")}
