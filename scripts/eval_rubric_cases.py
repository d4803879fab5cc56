"""Grade hand-written answers against the bank's curated rubrics and report agreement with a teacher's verdict.

Usage: python scripts/eval_rubric_cases.py scripts/rubric_cases_s002.yaml

The cases file maps an item id to [kind, expected verdict, answer] rows; the answer ``MODEL`` stands for the item's
own model answer. ``review`` counts as agreement for the kinds that a teacher would pass or half-pass (model,
reference, paraphrase, partial). Needs the rubric scorer ``app.keypoints.score_answer``.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from question_bank import load_bank  # noqa: E402

LENIENT_KINDS = {"model", "reference", "paraphrase", "partial"}


def main(cases_path: str) -> int:
    try:
        from app.keypoints import score_answer  # type: ignore[attr-defined]
    except ImportError:
        print("app.keypoints has no score_answer: this needs the curated-rubric scorer")
        return 2
    items = load_bank().by_id()
    cases = yaml.safe_load(Path(cases_path).read_text(encoding="utf-8"))
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for item_id, rows in cases.items():
        item = items[item_id]
        for kind, expected, answer in rows:
            text = item["answer"] if answer == "MODEL" else answer
            verdict = score_answer(item, text).verdict
            ok = verdict == expected or (verdict == "review" and kind in LENIENT_KINDS and expected != "wrong")
            total[kind] += 1
            agree[kind] += ok
            print(f"{item_id:16} {kind:10} expected {expected:7} got {verdict:7} {'' if ok else '  <- disagrees'}")
    for kind in total:
        print(f"{kind:10} {agree[kind]}/{total[kind]}")
    print(f"agreement {sum(agree.values())}/{sum(total.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "scripts/rubric_cases_s002.yaml"))
