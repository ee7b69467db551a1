"""Runs every benchmark script in this folder in turn (`make bench`)."""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    scripts = sorted(path for path in HERE.glob("*.py") if path.name != "run.py")
    if not scripts:
        print("no benchmarks yet")
        return 0
    failed = 0
    # The benchmarks borrow the tests' throwaway PostgreSQL (tests/support), so the repository root goes on the path.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
    for script in scripts:
        print(f"== {script.name}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], env=env).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
