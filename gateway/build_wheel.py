"""Builds the canteen-gateway wheel (see gateway/pyproject.toml) into a folder, dist/ by default.

The wheel holds canteen/__init__.py and canteen/scale_driver/ only, with the main project's version and its
pyserial and httpx requirements, and without the driver's two typer front ends (cli.py and gateway_cli.py, the
`canteen scale` and `canteen gateway` commands of the full install), so that every module in it imports there.

It is built by the running interpreter's setuptools when that one can write wheels by itself (setuptools 70.1
or later, or an older one with `wheel`), which needs no network; otherwise pip fetches setuptools from the
package index into an isolated build environment.

    python gateway/build_wheel.py [--dist DIR]     # prints the wheel's path
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REQUIREMENTS = ("pyserial", "httpx")
TYPER_MODULES = ("cli.py", "gateway_cli.py")  # canteen/scale_driver/ modules of the full `canteen` command


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0].lower()


def main_project() -> tuple[str, list[str]]:
    """The main project's version and its requirement lines for pyserial and httpx."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    gateway = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if gateway["requires-python"] != project["requires-python"]:
        raise SystemExit(f"gateway/pyproject.toml: requires-python {gateway['requires-python']!r} is not the main "
                         f"project's {project['requires-python']!r}")
    specs = {_requirement_name(spec): spec for spec in project["dependencies"]}
    missing = [name for name in REQUIREMENTS if name not in specs]
    if missing:
        raise SystemExit(f"pyproject.toml does not require {', '.join(missing)}")
    return project["version"], [specs[name] for name in REQUIREMENTS]


def _version(distribution: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in re.findall(r"\d+", metadata.version(distribution))[:2])
    except metadata.PackageNotFoundError:
        return None


def builds_offline() -> bool:
    """Whether this interpreter's setuptools can build the wheel without fetching anything."""
    setuptools = _version("setuptools")
    if setuptools is None or setuptools < (64,):
        return False
    return setuptools >= (70, 1) or _version("wheel") is not None


def build(dist: Path) -> Path:
    version, requirements = main_project()
    with tempfile.TemporaryDirectory(prefix="canteen-gateway-") as temporary:
        source = Path(temporary) / "source"
        shutil.copytree(ROOT / "canteen" / "scale_driver", source / "canteen" / "scale_driver",
                        ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", *TYPER_MODULES))
        shutil.copy2(ROOT / "canteen" / "__init__.py", source / "canteen" / "__init__.py")
        shutil.copy2(HERE / "pyproject.toml", source / "pyproject.toml")
        (source / "VERSION").write_text(version + "\n", encoding="utf-8")
        (source / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        built = Path(temporary) / "wheel"
        offline = ["--no-build-isolation", "--no-index"] if builds_offline() else []
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *offline,
                        "--wheel-dir", str(built), str(source)], check=True)
        [wheel] = built.glob("*.whl")
        dist.mkdir(parents=True, exist_ok=True)
        target = dist / wheel.name
        shutil.copyfile(wheel, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="Where the wheel goes (default: dist/).")
    print(build(parser.parse_args().dist))


if __name__ == "__main__":
    main()
