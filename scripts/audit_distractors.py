"""Measure the mechanical distractor rules (tests/test_bank_distractors.py) on groups of choice items.

Compares the options written for this bank (options_source: authored) with the options printed by the seeds'
own exam writers (options_source: source), and optionally with the authored options of an older copy of a bank file:

    git show c4721de:question_bank/s000_crm_key_points.yaml > /tmp/s000_old.yaml
    PYTHONPATH=. .venv/bin/python scripts/audit_distractors.py [--old /tmp/s000_old.yaml]
"""

from __future__ import annotations

import argparse
from collections import Counter

import yaml

from tests.test_bank_distractors import CHOICE, length_cue, split_options, stem_cue


def report(name: str, items: list[dict]) -> None:
    single = [i for i in items if i["type"] == "single_choice"]
    multi = [i for i in items if i["type"] == "multi_choice"]
    length_hits = [i["id"] for i in items if length_cue(i)]
    stem_hits = [i["id"] for i in items if stem_cue(i)]
    wrong = Counter(len(split_options(i)[1]) for i in multi)
    letters = Counter(i["answer"][0] for i in single)
    print(f"== {name}: {len(single)} 单选, {len(multi)} 多选")
    print(f"   长度提示 {len(length_hits)}/{len(items)} ({100 * len(length_hits) / max(len(items), 1):.0f} %): {length_hits}")
    print(f"   题干提示 {len(stem_hits)}/{len(items)} ({100 * len(stem_hits) / max(len(items), 1):.0f} %): {stem_hits}")
    print(f"   多选题错误选项个数分布 {dict(sorted(wrong.items()))}")
    print(f"   单选题答案字母分布 {dict(sorted(letters.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="also audit the authored items of this (older) bank YAML file")
    args = parser.parse_args()
    report("本题库自编选项(当前)", [i for i in CHOICE if i.get("options_source") == "authored"])
    report("源文档原有选项(出题人所写,对照)", [i for i in CHOICE if i.get("options_source") == "source"])
    if args.old:
        with open(args.old, encoding="utf-8") as fh:
            old = [i for i in yaml.safe_load(fh)["items"]
                   if i.get("options_source") == "authored" and i["type"] in ("single_choice", "multi_choice")]
        report(f"本题库自编选项({args.old})", old)


if __name__ == "__main__":
    main()
