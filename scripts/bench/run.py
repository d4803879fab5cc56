"""Run every benchmark under scripts/bench/ (each prints its figure, its same-run reference and how to reproduce it).

    .venv/bin/python scripts/bench/run.py [--quick] [--only NAME ...]

Every ``bench_*.py`` here is run in turn with ``--quick`` when given (scripts that accept it); the output is
printed as it comes and a summary of which passed ends the run. Copy the figures into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller loads: a check that each benchmark runs")
    parser.add_argument("--only", nargs="*", default=[], help="names such as exam_bell search (default: all)")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    results = []
    for script in scripts:
        command = [sys.executable, str(script)]
        if args.quick and '"--quick"' in script.read_text(encoding="utf-8"):
            command.append("--quick")
        print(f"\n=== {script.stem} ({' '.join([Path(command[0]).name, *[str(Path(c).relative_to(ROOT)) if c.startswith(str(ROOT)) else c for c in command[1:]]])})", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, cwd=str(ROOT))  # noqa: S603  our own scripts
        results.append((script.stem, code, time.perf_counter() - started))
    print("\n=== summary")
    for name, code, seconds in results:
        print(f"  {name:<28} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:6.0f} s")
    if any(code for _, code, _ in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
