"""Benchmark: time ``simulations.generate`` on a large company and print the rows per table.

    .venv/bin/python scripts/bench/bench_generate.py --customers 100000 --scenario default --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from simulations import Params, data_hash, generate  # noqa: E402
from simulations.catalog import SCENARIOS  # noqa: E402


def main() -> None:
    """Generate one company, then report the time taken, row counts and data hash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--scenario", choices=SCENARIOS, default="default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="generate this many times and report the best")
    parser.add_argument("--quick", action="store_true", help="20,000 customers")
    args = parser.parse_args()
    if args.quick:
        args.customers = min(args.customers, 20_000)
    params = Params(n_customers=args.customers, months=args.months, scenario=args.scenario)
    times, cpu_times = [], []
    company = None
    for _ in range(args.repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        company = generate(params, args.seed)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    assert company is not None
    start = time.perf_counter()
    digest = data_hash(company)
    hash_seconds = time.perf_counter() - start
    print(f"scenario={args.scenario} customers={args.customers:,} months={args.months} seed={args.seed}")
    # CPU time is steadier than wall time on a busy machine (numpy runs this single-threaded).
    print(f"generate: best {min(times):.2f} s wall, {min(cpu_times):.2f} s CPU, of {args.repeat} run(s)")
    print(f"data_hash: {hash_seconds:.2f} s  {digest}")
    for name, table in company.tables.items():
        print(f"  {name:<13}{len(table['id']):>12,} rows")
    orders = len(company.tables["orders"]["id"])
    print(f"orders per customer: {orders / args.customers:.1f}")
    print("reproduce: .venv/bin/python scripts/bench/bench_generate.py "
          f"--customers {args.customers} --months {args.months} --scenario {args.scenario} --seed {args.seed}")


if __name__ == "__main__":
    main()
