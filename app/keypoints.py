"""Key-point scoring for 名词解释 and 简答: Chinese word segmentation (jieba), tolerant of word order.

A model answer is split into key points (its clauses, or the instructor's list); a key point counts as found when
most of its content words occur in the student's text. The result names the points found and missed and the spans
of the student's text that matched, so the page can highlight them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def segmenter() -> Any:
    """jieba with its dictionary loaded (0.1 s to import, 0.8 s to load): once per process, at worker start."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def preload() -> None:
    """Load the segmenter now (gunicorn's post_fork, the app's start) rather than on a student's first answer."""
    segmenter()

CLAUSE_SPLIT = re.compile(r"[。;;!!??\n]+|(?:^|\s)[(（]?\d+[)）.、]|[①②③④⑤⑥⑦⑧⑨⑩]")
SOFT_SPLIT = re.compile(r"[,,、::]")
STOPWORDS = frozenset(
    ["的", "了", "和", "与", "及", "或", "是", "在", "对", "把", "被", "就", "都", "而", "又", "也", "并", "等", "其", "之", "以", "于", "为", "中", "上", "下", "这", "那", "个", "一种", "一个", "进行", "通过", "能够", "可以", "我们", "他们", "它们", "企业", "指", "是指", "就是", "包括", "所谓", "以及", "从而", "即", "由", "所", "向", "使", "让", "将", "更", "很", "最", "较", "各", "每", "该", "此", "有", "没有", "不", "要"]
)
FOUND_THRESHOLD = 0.5  # share of a point's content words that must appear for the point to count as found
FULL_COVERAGE = 0.8  # a point whose words appear at least this much earns its full share
PASS_THRESHOLD = 0.6  # score at which the answer counts as right
# Variant spellings students (and the seeds) use interchangeably.
VARIANTS = {"赢利": "盈利", "顾客": "客户", "帐": "账"}
MAX_POINTS = 12


@dataclass
class KeyPointResult:
    points: list[str]
    found: list[bool]
    coverage: list[float] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Each point earns its share in proportion to how much of it the answer covers."""
        if not self.coverage:
            return 0.0
        return sum(min(1.0, c / FULL_COVERAGE) for c in self.coverage) / len(self.coverage)


def normalise(text: str) -> str:
    text = text.lower()
    for variant, canonical in VARIANTS.items():
        text = text.replace(variant, canonical)
    return text


@lru_cache(maxsize=8192)
def content_words(text: str) -> tuple[str, ...]:
    """The words of a text that carry meaning: no punctuation, no stopwords, no single non-Chinese letters."""
    words = []
    for word in segmenter().lcut(normalise(text)):
        word = word.strip()
        if not word or word in STOPWORDS or not re.search(r"[\w\u4e00-\u9fff]", word):
            continue
        if len(word) == 1 and not ("\u4e00" <= word <= "\u9fff"):
            continue
        words.append(word.lower())
    # keep single characters only if the point has nothing longer
    longer = [w for w in words if len(w) > 1]
    return tuple(dict.fromkeys(longer or words))


def derive_key_points(answer: str) -> list[str]:
    """Split a model answer into its key points (clauses); long single clauses are split at commas."""
    text = re.sub(r"^\s*答[::]", "", answer or "").strip()
    clauses = [re.sub(r"^[\s,,、::]+|[\s,,、::]+$", "", c) for c in CLAUSE_SPLIT.split(text)]
    clauses = [c for c in clauses if len(content_words(c)) >= 1 and len(c) >= 2]
    if len(clauses) <= 1 and text:
        pieces = [p.strip() for p in SOFT_SPLIT.split(text)]
        pieces = [p for p in pieces if len(content_words(p)) >= 1 and len(p) >= 2]
        if len(pieces) > 1:
            clauses = pieces
    merged: list[str] = []
    for clause in clauses:  # a clause of one word ("建立") is not a point of its own
        if merged and len(content_words(clause)) < 2:
            merged[-1] = merged[-1] + "," + clause
        else:
            merged.append(clause)
    if len(merged) > 1 and len(content_words(merged[0])) < 2:
        merged[1] = merged[0] + "," + merged[1]
        merged = merged[1:]
    clauses = merged
    if len(clauses) > MAX_POINTS:
        # merge neighbours so a long answer still has a manageable rubric
        size = -(-len(clauses) // MAX_POINTS)
        clauses = [",".join(clauses[i:i + size]) for i in range(0, len(clauses), size)]
    return clauses or ([text] if text else [])


def score_key_points(points: list[str], response: str) -> KeyPointResult:
    """Check which key points the response covers and where."""
    response = response or ""
    lowered = normalise(response)  # same length as the response: the variants map to equal-length words
    found: list[bool] = []
    coverage: list[float] = []
    spans: list[tuple[int, int]] = []
    for point in points:
        words = content_words(point)
        if not words:
            found.append(False)
            coverage.append(0.0)
            continue
        hits = [w for w in words if w in lowered]
        coverage.append(len(hits) / len(words))
        found.append(coverage[-1] >= FOUND_THRESHOLD)
        for word in hits:
            start = lowered.find(word)
            while start != -1:
                spans.append((start, start + len(word)))
                start = lowered.find(word, start + len(word))
    return KeyPointResult(points=points, found=found, coverage=coverage, spans=_merge(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
