"""Re-run issue 8's measurements of the automatic grading over every keyed 名词解释/简答 of the bank.

    .venv/bin/python scripts/grading_issue_checks.py            # the bank in question_bank/ (or CRM_BANK_DIR)

For each item, answers built mechanically from its model answer, the way the issue measured the old scorer:
the model answer itself; a list of its content words with no sentence; 60 % of those words; the model answer with
every clause negated (并非…… / 不需要……). Prints how many of each are graded right (and the verdicts).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.grading import grade  # noqa: E402
from app.keypoints import content_words  # noqa: E402
from question_bank import load_bank  # noqa: E402


def verdict(result) -> str:  # type: ignore[no-untyped-def]
    verdict = result.detail.get("verdict")
    if verdict:
        return str(verdict)
    return "right" if result.correct else ("partial" if (result.score or 0) > 0 else "wrong")


def negate(answer: str) -> str:
    """Every clause of the answer under a negation, as the issue's example (……不需要……,也不用……,与……没有关系)."""
    pieces = re.split(r"[。;;,,:\n]+|[(（]?\d{1,2}[)）、.]?(?=[\u4e00-\u9fff])|[①②③④⑤⑥⑦⑧⑨⑩]", answer)
    clauses = [c.strip() for c in pieces if c and c.strip()]
    cues = ("不是", "不需要", "也不是")
    return ",".join(f"{cues[n % 3]}{c}" for n, c in enumerate(clauses)) + "。"


def main() -> int:
    items = [i for i in load_bank().items
             if i["type"] in ("term_definition", "short_answer") and i["key_source"] != "none"]
    kinds = {
        "model answer": lambda a: a,
        "content words, no sentence": lambda a: " ".join(content_words(a)),
        "60 % of the content words": lambda a: " ".join(content_words(a)[: max(1, round(len(content_words(a)) * .6))]),
        "every clause negated": negate,
    }
    print(f"{len(items)} keyed 名词解释/简答 items")
    for label, make in kinds.items():
        graded = {i["id"]: verdict(grade(i, make(i["answer"]))) for i in items}
        verdicts = Counter(graded.values())
        print(f"  {label:28s} right {verdicts['right']:3d}/{len(items)}   {dict(verdicts)}")
        if label != "model answer" and verdicts["right"]:
            print("    graded right:", ", ".join(k for k, v in graded.items() if v == "right"))
    by_id = {i["id"]: i for i in items}
    if "s000-hw-08" in by_id:
        item = by_id["s000-hw-08"]
        for text in ("CRM", "运营型CRM、协作型CRM、分析型CRM", "操作型CRM、合作型CRM、分析型CRM"):
            result = grade(item, text)
            print(f"  s000-hw-08 {text!r}: {result.score:.2f} {verdict(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
