"""Benchmark: search p95 on the real bank and on a synthetic bank, against a plain substring scan (the search
before the bigram index) in the same run.

The synthetic bank copies the real items' texts with their sentences shuffled between items, up to --items
(default 100,000), so words keep their real frequencies. Each query is the app's own search (item_query: first
page of 20 and the total count), timed in-process on SQLite and on PostgreSQL. Goal: p95 <= 50 ms.

    .venv/bin/python scripts/bench/bench_search.py [--items 100000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time

from _serve import databases, machine, percentile, scratch_database  # type: ignore[import-not-found]

WORDS = ["忠诚", "满意", "客户生命周期", "客户关系管理", "数据挖掘", "价值", "流失", "CRM"]


def synthesize(n: int) -> None:
    """Add items until the bank holds ``n``: real sentences recombined, indexed like the real ones."""
    import sqlalchemy as sa

    from app.bank.services import rebuild_search_index
    from app.extensions import db
    from app.models import Item

    real = list(db.session.execute(sa.select(Item.type, Item.stem, Item.search_text)))
    sentences = [s for _, _, text in real for s in re.split(r"(?<=[。;!?\n])", text or "") if len(s) > 4]
    rng = random.Random(7)
    have = len(real)
    position = have
    batch = []
    for i in range(max(0, n - have)):
        kind, stem, _ = real[i % len(real)]
        text = "".join(rng.sample(sentences, 6))
        position += 1
        batch.append({"uid": f"syn-{i:06d}", "type": kind, "stem": stem, "answer": None, "key_source": "none",
                      "search_text": text, "position": position, "retired": False, "version": 1})
        if len(batch) == 10_000:
            db.session.execute(sa.insert(Item), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(Item), batch)
    rebuild_search_index()
    db.session.commit()


def timed_queries(words: list[str], repeat: int, scan: bool, slowest: dict[str, float] | None = None) -> list[float]:
    """Milliseconds of each search (first page of 20 and the capped count); ``slowest`` gets each word's worst."""
    import sqlalchemy as sa

    from app.bank.services import CappedPagination, item_query
    from app.extensions import db
    from app.models import Item

    times = []
    slowest = {} if slowest is None else slowest
    for _ in range(repeat):
        for word in words:
            t0 = time.perf_counter()  # item_query's look-up of the rarest window counts too
            if scan:
                escaped = word.replace("%", "\\%").replace("_", "\\_")
                stmt = sa.select(Item).where(Item.retired.is_(False), Item.exam_only.is_(False),
                                             Item.search_text.ilike(f"%{escaped}%", escape="\\")
                                             ).order_by(Item.position, Item.id)
            else:
                stmt = item_query(q=word, public=True)
            CappedPagination(select=stmt, session=db.session(), page=1, per_page=20, error_out=False).items  # noqa: B018
            times.append((time.perf_counter() - t0) * 1000)
            slowest[word] = max(slowest.get(word, 0.0), times[-1])
            db.session.expunge_all()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="10,000 synthetic items")
    args = parser.parse_args()
    if args.quick:
        args.items = min(args.items, 10_000)
    print(f"machine: {machine()}")
    from app import create_app
    from app.extensions import db

    for kind in databases(args.databases):
        with scratch_database(kind) as url:
            app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
            with app.app_context(), app.test_request_context():
                for label, size in (("real bank", 0), (f"synthetic bank of {args.items:,} items", args.items)):
                    if size:
                        started = time.perf_counter()
                        synthesize(size)
                        if kind == "postgresql":
                            db.session.execute(db.text("ANALYZE"))
                            db.session.commit()
                        print(f"  ({kind}: built and indexed the synthetic bank in {time.perf_counter() - started:.0f} s)")
                    timed_queries(WORDS, 1, scan=False)  # warm
                    slowest: dict[str, float] = {}
                    ours = timed_queries(WORDS, args.repeat, scan=False, slowest=slowest)
                    scan = timed_queries(WORDS, max(1, args.repeat // 2), scan=True)
                    print(f"{kind}, {label}: search p95 {percentile(ours, .95):.1f} ms (goal <= 50 ms), "
                          f"substring scan p95 {percentile(scan, .95):.1f} ms: "
                          f"{percentile(scan, .95) / max(percentile(ours, .95), 0.01):.1f}x faster; load average "
                          f"{os.getloadavg()[0]:.1f}; slowest per word: "
                          + " ".join(f"{w} {ms:.0f}" for w, ms in slowest.items()))
                db.session.remove()
                db.engine.dispose()
    print(f"reproduce: .venv/bin/python scripts/bench/bench_search.py --items {args.items} --repeat {args.repeat}")


if __name__ == "__main__":
    main()
