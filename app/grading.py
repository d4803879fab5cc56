"""One registry of question types: each type parses a response and grades it against an item's content.

``content`` is the dict of an item version (type, options, answer, key_points, blanks, parts, ...), so a past
attempt grades against the version the student saw. A new type is one class added to ``REGISTRY``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.keypoints import PASS_THRESHOLD, derive_key_points, score_key_points

MULTI_CHOICE_RULES = {
    "all_or_nothing": "全对得分:选项与答案完全一致才得分,少选、多选、错选均不得分。",
    "partial": "少选得部分分:每选对一个正确选项得该题分值的相应比例;只要选了错误选项,该题得 0 分。",
    "moodle_sum": "按选项分值累加(Moodle 规则):每个正确选项 +1/正确项数,每个错误选项 −1/错误项数,总分限制在 0 到满分之间。",
}
SELF_RATINGS = {"none": ("不会", 0.0), "partial": ("部分", 0.5), "mastered": ("掌握", 1.0)}


@dataclass
class GradeResult:
    score: float | None  # 0..1; None when the type is not graded automatically (self-assessed)
    correct: bool | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def auto(self) -> bool:
        return self.score is not None


class QuestionType:
    name: ClassVar[str]
    auto_graded: ClassVar[bool] = True

    def parse(self, values: list[str], content: dict[str, Any]) -> Any:
        """Turn submitted form values into a response."""
        return values[0].strip() if values else ""

    def is_blank(self, response: Any) -> bool:
        return response in (None, "", [])

    def grade(self, content: dict[str, Any], response: Any, *, multi_rule: str = "partial") -> GradeResult:
        raise NotImplementedError


class SingleChoice(QuestionType):
    name = "single_choice"

    def parse(self, values, content):
        keys = [v for v in values if v in (content.get("options") or {})]
        return keys[:1]

    def grade(self, content, response, *, multi_rule="partial"):
        right = list(response or []) == list(content.get("answer") or [])
        return GradeResult(1.0 if right else 0.0, right, {"key": content.get("answer")})


class MultiChoice(QuestionType):
    name = "multi_choice"

    def parse(self, values, content):
        options = content.get("options") or {}
        return sorted({v for v in values if v in options})

    def grade(self, content, response, *, multi_rule="partial"):
        key = set(content.get("answer") or [])
        options = set((content.get("options") or {}).keys())
        chosen = set(response or [])
        right_chosen, wrong_chosen = chosen & key, chosen - key
        if multi_rule == "all_or_nothing":
            score = 1.0 if chosen == key else 0.0
        elif multi_rule == "moodle_sum":
            n_wrong = max(1, len(options - key))
            score = len(right_chosen) / len(key) - len(wrong_chosen) / n_wrong
            score = min(1.0, max(0.0, score))
        else:  # partial: 少选得部分分, any wrong option scores 0
            score = 0.0 if wrong_chosen else len(right_chosen) / len(key)
        return GradeResult(score, chosen == key, {"key": sorted(key), "rule": multi_rule,
                                                  "missed": sorted(key - chosen), "wrong": sorted(wrong_chosen)})


class TrueFalse(QuestionType):
    name = "true_false"

    def parse(self, values, content):
        value = values[0] if values else ""
        return {"true": True, "false": False}.get(value)

    def is_blank(self, response):
        return response is None

    def grade(self, content, response, *, multi_rule="partial"):
        right = response is content.get("answer")
        return GradeResult(1.0 if right else 0.0, right, {"key": content.get("answer")})


def _norm(text: str) -> str:
    return re.sub(r"[\s,,。.;;、::\"“”'‘’()()]+", "", text or "").lower()


class FillBlank(QuestionType):
    name = "fill_blank"

    def parse(self, values, content):
        return [v.strip() for v in values] if len(values) > 1 else (values[0].strip() if values else "")

    def grade(self, content, response, *, multi_rule="partial"):
        blanks = content.get("blanks")
        answers = response if isinstance(response, list) else [response or ""]
        if blanks:
            if len(answers) == 1 and len(blanks) > 1:
                # one box for several blanks: accept the answers in order, separated by punctuation or spaces
                answers = [a for a in re.split(r"[\s,,;;、/]+", answers[0]) if a]
            hits = [i < len(answers) and _norm(answers[i]) in {_norm(a) for a in alts} for i, alts in enumerate(blanks)]
            score = sum(hits) / len(blanks)
            return GradeResult(score, all(hits), {"blanks": hits})
        key = _norm(content.get("answer") or "")
        right = bool(key) and _norm(" ".join(answers)) == key
        return GradeResult(1.0 if right else 0.0, right, {})


def rubric_labels(key_points: list[Any] | None) -> list[str]:
    """The point texts of a rubric: curated points are {point, expressions, weight}, older ones plain strings."""
    return [p["point"] if isinstance(p, dict) else str(p) for p in key_points or []]


class KeyPointType(QuestionType):
    """名词解释 and 简答: coverage of the model answer's key points."""

    def grade(self, content, response, *, multi_rule="partial"):
        # until the rubric scorer lands, a curated rubric is scored by its point labels
        points = rubric_labels(content.get("key_points")) or derive_key_points(content.get("answer") or "")
        result = score_key_points(points, response or "")
        score = round(result.score, 4)
        return GradeResult(score, score >= PASS_THRESHOLD,
                           {"points": points, "found": result.found, "spans": result.spans})


class TermDefinition(KeyPointType):
    name = "term_definition"


class ShortAnswer(KeyPointType):
    name = "short_answer"


class SelfAssessed(QuestionType):
    """论述 and 案例分析: the model answer and rubric points are shown; the student rates themselves per point."""

    auto_graded = False

    def rubric(self, content: dict[str, Any]) -> list[str]:
        if content.get("key_points"):
            return rubric_labels(content["key_points"])
        if content.get("parts"):
            return [p.get("stem", "") for p in content["parts"]]
        return derive_key_points(content.get("answer") or "")

    def parse(self, values, content):
        return "\n\n".join(v.strip() for v in values if v.strip())

    def grade(self, content, response, *, multi_rule="partial"):
        return GradeResult(None, None, {"rubric": self.rubric(content)})


class Essay(SelfAssessed):
    name = "essay"


class CaseStudy(SelfAssessed):
    name = "case_study"


REGISTRY: dict[str, QuestionType] = {t.name: t for t in (
    SingleChoice(), MultiChoice(), TrueFalse(), FillBlank(), TermDefinition(), ShortAnswer(), Essay(), CaseStudy())}


def grade(content: dict[str, Any], response: Any, *, multi_rule: str = "partial") -> GradeResult:
    """Grade a response against an item version's content."""
    return REGISTRY[content["type"]].grade(content, response, multi_rule=multi_rule)


def self_score(ratings: list[str]) -> float | None:
    """Average self-assessment (不会 0, 部分 0.5, 掌握 1) over the rated points."""
    values = [SELF_RATINGS[r][1] for r in ratings if r in SELF_RATINGS]
    return sum(values) / len(values) if values else None
