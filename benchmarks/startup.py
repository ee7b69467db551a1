"""Start-up of the command line: wall time (median and fastest of several runs) and peak memory (RSS) of
`canteen --help`, `canteen gateway --help` and the gateway wheel's `canteen-gateway --help`, beside a reference
measured in the same run: `python -c pass`, an interpreter that imports nothing.

The wheel is built (gateway/build_wheel.py) and installed into a throwaway virtualenv first; that needs a
package index for pyserial and httpx, and is left out with --no-wheel (or when no index answers).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_once(command: list[str]) -> tuple[float, float]:
    """Seconds from start to exit, and the child's peak RSS in MiB."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def measure(command: list[str], runs: int) -> tuple[float, float, float]:
    run_once(command)  # warm the file cache
    samples = [run_once(command) for _ in range(runs)]
    times = [elapsed for elapsed, _ in samples]
    return statistics.median(times), min(times), max(rss for _, rss in samples)


def gateway_wheel_command(folder: Path) -> list[str] | None:
    """`canteen-gateway --help` from the wheel in a fresh virtualenv, or None (with the reason) if it cannot be had."""
    built = subprocess.run([sys.executable, str(ROOT / "gateway" / "build_wheel.py"), "--dist", str(folder / "dist")],
                           capture_output=True, text=True)
    if built.returncode != 0:
        print(f"(canteen-gateway left out: building the wheel failed: {built.stderr.strip().splitlines()[-1:]})")
        return None
    wheel = built.stdout.strip().splitlines()[-1]
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", wheel], capture_output=True, text=True)
    if installed.returncode != 0:
        print(f"(canteen-gateway left out: installing the wheel failed: "
              f"{installed.stderr.strip().splitlines()[-1:]})")
        return None
    return [str(venv / "bin" / "canteen-gateway"), "--help"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per command (default 9)")
    parser.add_argument("--no-wheel", action="store_true", help="leave out the gateway wheel's command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="canteen-startup-") as temporary:
        commands = {
            "python -c pass (reference)": [sys.executable, "-c", "pass"],
            "canteen --help": [str(BIN / "canteen"), "--help"],
            "canteen gateway --help": [str(BIN / "canteen"), "gateway", "--help"],
            "python -m canteen.scale_driver.gateway_main --help": [sys.executable, "-m",
                                                                    "canteen.scale_driver.gateway_main", "--help"],
        }
        wheel = None if args.no_wheel else gateway_wheel_command(Path(temporary))
        if wheel is not None:
            commands["canteen-gateway --help (wheel, own venv)"] = wheel
        print(f"{'command':<52} {'median s':>9} {'fastest s':>10} {'peak RSS MiB':>13}")
        for label, command in commands.items():
            median, fastest, rss = measure(command, args.runs)
            print(f"{label:<52} {median:>9.3f} {fastest:>10.3f} {rss:>13.1f}")


if __name__ == "__main__":
    main()
