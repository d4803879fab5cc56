"""``python -m question_bank [FILE...]``: validate the bank and print a summary or every problem."""

import sys
from collections import Counter
from pathlib import Path

from question_bank.load import BankError, load_bank


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or None
    try:
        bank = load_bank(paths=paths)
    except BankError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(f"题库无效:{len(exc.problems)} 个问题", file=sys.stderr)
        return 1
    print(f"题库有效:{len(bank.items)} 题,{len(bank.notes)} 篇阅读材料")
    for kind, n in sorted(Counter(i["type"] for i in bank.items).items()):
        print(f"  {kind}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
