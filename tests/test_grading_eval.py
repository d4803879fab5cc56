"""The automatic grading of 名词解释/简答 against an instructor's verdicts (tests/grading_eval.yaml, see GRADING.md).

Every answer is graded through the grading registry (``app.grading.grade``, the path practice, exams and
``flask grade`` use) against the bank's item. Agreement per kind is printed (``pytest -s``). ``review`` (待复核)
counts as agreement for reworded/paraphrase/partial answers and is reported separately.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from app.grading import grade, verdict_of
from question_bank import load_bank

EVAL = Path(__file__).with_name("grading_eval.yaml")
KINDS = ("reworded", "paraphrase", "partial", "wrong", "negated", "keyword_list", "echo")
NEVER_RIGHT = ("wrong", "negated", "keyword_list", "echo")
REVIEW_OK = ("reworded", "paraphrase", "partial")
GOAL = 0.90  # overall agreement, on items graded by their curated rubric
FALLBACK_FLOOR = 0.60  # items without a rubric are graded by points derived from the model answer


def curated(item: dict) -> bool:
    return any(isinstance(p, dict) for p in item.get("key_points") or [])


def run_eval() -> list[dict]:
    items = load_bank().by_id()
    rows = []
    for entry in yaml.safe_load(EVAL.read_text(encoding="utf-8"))["items"]:
        item = items[entry["item"]]
        for answer in entry["answers"]:
            result = grade(item, answer["text"])
            verdict = verdict_of(result)
            agree = verdict == answer["verdict"] or (verdict == "review" and answer["kind"] in REVIEW_OK)
            rows.append({"item": entry["item"], "kind": answer["kind"], "expected": answer["verdict"],
                         "verdict": verdict, "score": result.score, "agree": agree, "curated": curated(item)})
    return rows


def report(rows: list[dict], title: str) -> float:
    total, agree, review = Counter(), Counter(), Counter()
    for row in rows:
        total[row["kind"]] += 1
        agree[row["kind"]] += row["agree"]
        review[row["kind"]] += row["agree"] and row["verdict"] == "review"
    print(f"\n{title}: {len(rows)} answers")
    for kind in KINDS:
        if total[kind]:
            print(f"  {kind:13s} {agree[kind]:3d}/{total[kind]:<3d} agree ({review[kind]} as 待复核)")
    overall = sum(agree.values()) / max(1, len(rows))
    print(f"  overall       {sum(agree.values())}/{len(rows)} = {overall:.1%}")
    return overall


@pytest.fixture(scope="module")
def rows():
    return run_eval()


def test_evaluation_set_is_well_formed():
    data = yaml.safe_load(EVAL.read_text(encoding="utf-8"))["items"]
    bank = load_bank().by_id()
    assert len(data) >= 20
    for entry in data:
        item = bank[entry["item"]]
        assert item["type"] in ("term_definition", "short_answer") and item["key_source"] != "none"
        assert entry["item"].startswith(("s000-", "s003-"))
        assert {a["kind"] for a in entry["answers"]} == set(KINDS), entry["item"]
        for answer in entry["answers"]:
            assert answer["verdict"] in ("right", "partial", "wrong")
            assert answer["verdict"] == "wrong" or answer["kind"] not in NEVER_RIGHT


def test_no_wrong_negated_list_or_echo_answer_is_graded_right(rows):
    graded_right = [(r["item"], r["kind"], r["score"]) for r in rows
                    if r["kind"] in NEVER_RIGHT and r["verdict"] == "right"]
    assert graded_right == []


def test_agreement_with_the_instructor(rows):
    with_rubric = [r for r in rows if r["curated"]]
    fallback = [r for r in rows if not r["curated"]]
    overall = report(rows, "all items")
    if with_rubric:
        assert report(with_rubric, "items with a curated rubric") >= GOAL
    if fallback:
        assert report(fallback, "items graded by points derived from the answer") >= FALLBACK_FLOOR
    assert overall >= (GOAL if not fallback else FALLBACK_FLOOR)
