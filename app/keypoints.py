"""Key-point scoring for 名词解释 and 简答: which rubric points an answer states, and how sure we are.

A rubric point (question_bank/FORMAT.md) has expressions; an expression is terms joined by "+" that must all occur
in ONE clause of the answer. Four rules keep the score honest:

- **stem words earn nothing**: an expression whose every term already appears in the question stem is ignored, so
  echoing the question scores 0;
- **negation**: a clause under a negation (不/没有/并非/无需/不需要/不是/…, up to a contrast 而是/但; or ending in
  与……无关/没有关系), or stating a 从 A 到 B of the model answer the other way round, states nothing: its terms do
  not count, unless the model answer negates them too;
- **clauses**: a point counts fully only inside a clause — a chunk of text with a predicate (a verb or copula) and
  something it says of. A bare list of terms (no predicate) earns ``LIST_CREDIT`` of a point. Items whose model
  answer is itself a bare list (运营型、协作型、分析型) are exempt;
- **uncertainty**: a score in the middle band (``REVIEW_BAND``) is ``review`` (待复核), not a guess.

Items without a curated rubric (instructor items whose ``key_points`` are plain strings, or none at all) get points
from the model answer: each clause of the answer is a point whose content words are its terms; it is found when
enough of them occur, under the same stem, negation and clause rules.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
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

# ---------------------------------------------------------------- tunable thresholds (general, never per item)
LIST_CREDIT = 0.2  # share of a point earned when it is named outside any clause (a bare list of terms)
RIGHT_THRESHOLD = 0.7  # at or above: right
REVIEW_BAND = (0.45, RIGHT_THRESHOLD)  # in this band: review (待复核)
PARTIAL_THRESHOLD = 0.25  # below: wrong
DERIVED_FOUND = 0.5  # share of a derived point's key words that must occur in one sentence
MAX_POINTS = 12
WORDS_IN_SPACED_CLAUSE = 3  # a chunk between spaces needs this many words to be a clause rather than a list entry

VERDICTS = {"right": "正确", "partial": "部分正确", "wrong": "错误", "review": "待复核"}

# Variant spellings students (and the seeds) use interchangeably; same length, so positions stay aligned.
VARIANTS = {"赢利": "盈利", "顾客": "客户", "帐": "账", "(": "(", ")": ")"}
STOPWORDS = frozenset(
    ["的", "了", "和", "与", "及", "或", "是", "在", "对", "把", "被", "就", "都", "而", "又", "也", "并", "等", "其",
     "之", "以", "于", "为", "中", "上", "下", "这", "那", "个", "一种", "一个", "进行", "通过", "能够", "可以", "我们",
     "他们", "它们", "它", "企业", "指", "是指", "就是", "包括", "所谓", "以及", "从而", "即", "由", "所", "向", "使",
     "让", "将", "更", "很", "最", "较", "各", "每", "该", "此", "有", "要", "答", "主要", "方面", "一是", "二是",
     "三是", "四是", "首先", "其次", "然后", "最后", "等等", "一般", "几个", "以下"]
)
# Negation cues (jieba tokens). A cue followed by 的 modifies a noun (以前没有的新客户) and negates nothing.
NEGATORS = frozenset(["不", "没有", "没", "并非", "非", "无需", "无须", "不需要", "不是", "不用", "不必", "未", "毫无",
                      "不能", "不会", "并不", "绝不", "从不", "不再", "别", "勿", "无法", "不应", "不应该", "不该"])
# Cues that may form an adjective with the next word (不完全的, 没有限制的) rather than deny the clause.
MODIFIER_NEGATORS = frozenset(["不", "没", "没有", "未", "无"])
# jieba joins some cues with what follows (并不需要): a token starting with one of these is a negation too.
NEGATOR_PREFIXES = ("并不", "不需", "不用", "不必", "不能", "不会", "不应", "不是", "不再", "没有", "没", "未", "从不",
                    "从未", "绝不", "无需", "无须", "无法", "毫无", "并非", "也不", "都不", "就不")
# Backward cues: 与 X (也)无关 / 没有关系 / 没关系 deny the clause they end.
UNRELATED = re.compile(r"(无关|没有关系|没关系|毫无关系|不相关|没有联系|无联系)")
SCOPE_BREAKERS = ("而是", "但是", "但", "却", "而")
# Words that make a clause state something even when the tagger misses the verb (产生了好感 tags 产生 as a noun).
PREDICATE_WORDS = frozenset(["是", "为", "指", "即", "属于", "叫", "称为", "意味着", "在于", "就是", "是指", "即是",
                             "也就是", "能", "会", "要", "应", "应该", "可以", "能够", "需要", "必须", "使", "让", "把",
                             "将", "被", "通过",
                             # verbs jieba's tagger files as nouns or adverbs
                             "产生", "利用", "区分", "细分", "评价", "互动", "比较"])
NOUN_LIKE = frozenset("nrmaijlst") | {"e"}  # jieba flag initials: nouns, pronouns, numerals, adjectives, idioms, ...
# Sentence boundaries, and the finer clause boundaries inside a sentence.
SENTENCE_SPLIT = re.compile(r"[。;;!!??\n]+|(?<![\d.])\d{1,2}[)).、]?(?=[\u4e00-\u9fff])|[(（]\d{1,2}[)）]|[①②③④⑤⑥⑦⑧⑨⑩]")
# 从 A 到 B: a stated direction; an answer that states it the other way round contradicts the model answer.
DIRECTION = re.compile(r"(?:^|从|由)(.{1,20}?)(?:转变为|转变到|转向|转为|变为|过渡到|发展到|发展为|到|向)(.{1,20})")
CLAUSE_SPLIT = re.compile(r"[,,::]|(?<=[\u4e00-\u9fffA-Za-z0-9])\s+(?=[\u4e00-\u9fffA-Za-z0-9])")


@dataclass
class Point:
    """One rubric point: a label shown to students, the expressions that count for it, a weight."""

    label: str
    expressions: list[list[str]]  # each expression: terms that must all occur in one clause
    weight: int = 1
    derived: bool = False  # points made from the model answer: found by the share of terms, not all of them


@dataclass
class KeyPointResult:
    points: list[str]
    found: list[bool]
    credit: list[float] = field(default_factory=list)  # 0..1 per point (1 = stated in a clause)
    weights: list[int] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    clauses: int = 0  # clauses (with a predicate) in the answer
    structured: float = 1.0  # share of the found points' weight that sits in clauses

    @property
    def score(self) -> float:
        total = sum(self.weights) or 1
        return sum(c * w for c, w in zip(self.credit, self.weights, strict=True)) / total

    @property
    def verdict(self) -> str:
        return verdict_for(self.score)


def verdict_for(score: float) -> str:
    if score >= RIGHT_THRESHOLD:
        return "right"
    if score >= REVIEW_BAND[0]:
        return "review"
    if score >= PARTIAL_THRESHOLD:
        return "partial"
    return "wrong"


def normalise(text: str) -> str:
    text = (text or "").lower()
    for variant, canonical in VARIANTS.items():
        text = text.replace(variant, canonical)
    return text


@lru_cache(maxsize=8192)
def content_words(text: str) -> tuple[str, ...]:
    """The words of a text that carry meaning: no punctuation, no stopwords, no single non-Chinese letters."""
    words = []
    for word in segmenter().lcut(normalise(text)):
        word = word.strip()
        if not word or word in STOPWORDS or word in NEGATORS or not re.search(r"[\w\u4e00-\u9fff]", word):
            continue
        if len(word) == 1 and not ("\u4e00" <= word <= "\u9fff"):
            continue
        words.append(word)
    longer = [w for w in words if len(w) > 1]
    return tuple(dict.fromkeys(longer or words))


# ---------------------------------------------------------------- the answer's structure

@dataclass
class Clause:
    start: int  # offsets in the answer
    end: int
    text: str
    sentence: int  # index of the sentence it belongs to
    predicate: bool  # has a verb or copula and something else
    negated: list[tuple[int, int]]  # spans (answer offsets) under negation


def _spans(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] at pattern; return the pieces' (start, end)."""
    pieces, pos = [], start
    for m in pattern.finditer(text, start, end):
        if m.start() > pos:
            pieces.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        pieces.append((pos, end))
    return pieces


@lru_cache(maxsize=4096)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    segmenter()  # the dictionary is loaded once per process (at worker start in production)
    import jieba.posseg as pseg

    return tuple((w.word, w.flag) for w in pseg.lcut(text))


def _has_predicate(text: str, min_tokens: int = 2) -> bool:
    """A clause states something: a verb, copula, modal or aspect particle, plus a noun-like word it is about.

    A run of terms joined by 、 (好感、偏好、重复购买) is a list, not a clause, unless one of its pieces is a clause.
    """
    return any(_element_has_predicate(piece, min_tokens) for piece in text.split("、"))


def _element_has_predicate(text: str, min_tokens: int) -> bool:
    tokens = [(w, f) for w, f in _tagged(text) if w.strip() and f != "x" and w not in ("的", "地", "得")]
    verbish = set()
    for i, (word, flag) in enumerate(tokens):
        governs = i + 1 < len(tokens) and tokens[i + 1][1][:1] in NOUN_LIKE  # 分析客户数据: a verb-noun used as a verb
        if (word in PREDICATE_WORDS or (flag.startswith("v") and flag != "vn") or flag in ("ul", "uz", "ug")
                or is_negator(word) or (flag == "vn" and governs)):
            verbish.add(i)
    nounish = [i for i, (_, f) in enumerate(tokens) if i not in verbish and (f[:1] in NOUN_LIKE or f == "vn")]
    return bool(verbish) and bool(nounish) and len(tokens) >= min_tokens


def is_negator(token: str) -> bool:
    return token in NEGATORS or token.startswith(NEGATOR_PREFIXES)


def _negated_spans(text: str, start: int) -> list[tuple[int, int]]:
    """Spans of a clause (offsets from ``start``) that a negation scopes over.

    A negation denies what its clause says, subject included (客户关系水平也不随时间变化 does not state that the
    level changes with time), up to a contrast (不是……而是……); 与……无关 denies the whole clause before it.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    tokens = [w for w, _ in _tagged(text)]
    offsets = []
    for token in tokens:
        offsets.append(pos)
        pos += len(token)
    for i, token in enumerate(tokens):
        if not is_negator(token):
            continue
        if tokens[i + 1:i + 2] == ["的"] or (token in MODIFIER_NEGATORS and tokens[i + 2:i + 3] == ["的"]):
            continue  # 以前没有的新客户, 不完全的数据: a modifier, not a negation of the clause
        scope_end = len(text)
        for breaker in SCOPE_BREAKERS:
            at = text.find(breaker, offsets[i] + len(token))
            if at != -1:
                scope_end = min(scope_end, at)
        spans.append((start, start + scope_end))
    for m in UNRELATED.finditer(text):
        spans.append((start, start + m.end()))
    return spans


@lru_cache(maxsize=1024)
def analyse(answer: str) -> tuple[Clause, ...]:
    """Split an answer into clauses (within sentences), each with its predicate flag and negated spans."""
    text = normalise(answer)
    clauses: list[Clause] = []
    spaced_flags: list[int] = []
    for n, (s_start, s_end) in enumerate(_spans(SENTENCE_SPLIT, text, 0, len(text))):
        for c_start, c_end in _spans(CLAUSE_SPLIT, text, s_start, s_end):
            piece = text[c_start:c_end]
            if not piece.strip():
                continue
            # a chunk between spaces ("感知效果 期望值 比较") is a list entry unless it is a sentence of its own
            spaced = text[c_start - 1:c_start].isspace() or text[c_end:c_end + 1].isspace()
            predicate = _has_predicate(piece, WORDS_IN_SPACED_CLAUSE if spaced else 2)
            clauses.append(Clause(c_start, c_end, piece, n, predicate, _negated_spans(piece, c_start)))
            if spaced:
                spaced_flags.append(len(clauses) - 1)
    # an answer that is mostly terms between spaces is a keyword list: its few longer chunks are list entries too
    if len(spaced_flags) >= 3 and sum(clauses[i].predicate for i in spaced_flags) * 2 < len(spaced_flags):
        for i in spaced_flags:
            clauses[i] = replace(clauses[i], predicate=False)
    return tuple(clauses)


def list_like(answer: str) -> bool:
    """Whether a model answer is itself a bare list (most of its pieces have no predicate)."""
    clauses = [c for c in analyse(answer) if content_words(c.text)]
    if not clauses:
        return False
    return sum(c.predicate for c in clauses) / len(clauses) < 0.5


# ---------------------------------------------------------------- rubrics

def parse_expression(expression: str) -> list[str]:
    return [normalise(t.strip()) for t in str(expression).split("+") if t.strip()]


def rubric_points(content: dict[str, Any]) -> list[Point]:
    """The item's scoring points: its curated rubric, plain-string points, or points derived from the answer."""
    key_points = content.get("key_points") or []
    points: list[Point] = []
    for entry in key_points:
        if isinstance(entry, dict):
            expressions = [parse_expression(e) for e in entry.get("expressions") or []]
            points.append(Point(str(entry.get("point", "")), [e for e in expressions if e],
                                int(entry.get("weight") or 1)))
        elif isinstance(entry, str) and entry.strip():
            words = list(content_words(entry))
            points.append(Point(entry.strip(), [words] if words else [], 1, derived=True))
    if points:
        return points
    return [Point(p, [list(content_words(p))], 1, derived=True)
            for p in derive_key_points(content.get("answer") or "")]


def point_labels(content: dict[str, Any]) -> list[str]:
    return [p.label for p in rubric_points(content)]


def derive_key_points(answer: str) -> list[str]:
    """Split a model answer into candidate points: its sentences, or its clauses when it is one long sentence."""
    text = re.sub(r"^\s*答[::]", "", answer or "").strip()
    clauses = analyse(text)
    sentences: dict[int, list[Clause]] = {}
    for clause in clauses:
        sentences.setdefault(clause.sentence, []).append(clause)
    pieces = [text[group[0].start:group[-1].end] for group in sentences.values()]
    if len(pieces) <= 1:
        pieces = [c.text for c in clauses]
    pieces = [re.sub(r"^[\s,,、::]+|[\s,,、::]+$", "", p) for p in pieces]
    pieces = [p for p in pieces if content_words(p)]
    merged: list[str] = []
    for piece in pieces:  # a piece of one word ("建立") is not a point of its own
        if merged and len(content_words(piece)) < 2:
            merged[-1] = merged[-1] + "," + piece
        else:
            merged.append(piece)
    if len(merged) > MAX_POINTS:
        size = -(-len(merged) // MAX_POINTS)
        merged = [",".join(merged[i:i + size]) for i in range(0, len(merged), size)]
    return merged or ([text] if text else [])


# ---------------------------------------------------------------- scoring

def _occurrences(term: str, text: str, start: int, end: int) -> list[int]:
    found, at = [], text.find(term, start, end)
    while at != -1:
        found.append(at)
        at = text.find(term, at + 1, end)
    return found


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def _model_negated(term: str, model: str) -> bool:
    """Whether the model answer itself states the term under negation (then the student may too)."""
    for clause in analyse(model):
        for at in _occurrences(term, normalise(model), clause.start, clause.end):
            if _inside(at, clause.negated):
                return True
    return False


def _match(terms: list[str], clause: Clause, text: str, model: str) -> list[tuple[int, int]] | None:
    """Spans of the terms if every term occurs, not negated, in the clause; else None."""
    spans = []
    for term in terms:
        positions = _occurrences(term, text, clause.start, clause.end)
        positive = [p for p in positions if not _inside(p, clause.negated) or _model_negated(term, model)]
        if not positive:
            return None
        spans.append((positive[0], positive[0] + len(term)))
    return spans


def _directions(model: str) -> list[tuple[set[str], set[str]]]:
    """The (from, to) word sets of every 从 A 到 B the model answer states."""
    pairs = []
    for m in DIRECTION.finditer(normalise(model)):
        source, target = set(content_words(m.group(1))), set(content_words(m.group(2)))
        if source - target and target - source:
            pairs.append((source - target, target - source))
    return pairs


def _reversed(clause: Clause, directions: list[tuple[set[str], set[str]]]) -> bool:
    """Whether the clause states one of the model answer's directions the other way round."""
    for m in DIRECTION.finditer(clause.text):
        source, target = set(content_words(m.group(1))), set(content_words(m.group(2)))
        if any(source & to and target & frm for frm, to in directions):
            return True
    return False


def score_answer(content: dict[str, Any], response: str) -> KeyPointResult:
    """Score a response against the item's points under the stem, negation and clause rules."""
    points = rubric_points(content)
    stem = normalise(content.get("stem") or "")
    model = content.get("answer") if isinstance(content.get("answer"), str) else ""
    exempt = list_like(model)
    text = normalise(response)
    directions = _directions(model)
    clauses = tuple(replace(c, negated=[*c.negated, (c.start, c.end)]) if directions and _reversed(c, directions)
                    else c for c in analyse(response or ""))
    sentences: dict[int, list[Clause]] = {}
    for clause in clauses:
        sentences.setdefault(clause.sentence, []).append(clause)
    credit: list[float] = []
    spans: list[tuple[int, int]] = []
    for point in points:
        best, best_spans = 0.0, []
        for terms in point.expressions:
            keep = [t for t in terms if t not in stem]
            if not keep:
                continue  # every term is in the stem: echoing the question earns nothing
            if point.derived:
                for group in sentences.values():
                    hits: list[tuple[int, int]] = []
                    in_clause = 0
                    for term in keep:
                        for clause in sorted(group, key=lambda c: not c.predicate):
                            got = _match([term], clause, text, model)
                            if got:
                                hits += got
                                in_clause += clause.predicate
                                break
                    share = len(hits) / len(keep)
                    if share < DERIVED_FOUND:
                        continue
                    structured = exempt or in_clause * 2 >= len(hits)
                    value = min(1.0, share / 0.8) * (1.0 if structured else LIST_CREDIT)
                    if value > best:
                        best, best_spans = value, hits
            else:
                for clause in clauses:
                    got = _match(terms, clause, text, model)
                    if got is None:
                        continue
                    value = 1.0 if clause.predicate or exempt else LIST_CREDIT
                    if value > best:
                        best, best_spans = value, got
        credit.append(best)
        spans += best_spans
    weights = [p.weight for p in points]
    found_weight = sum(w for c, w in zip(credit, weights, strict=True) if c > 0)
    structured_weight = sum(w for c, w in zip(credit, weights, strict=True) if c > LIST_CREDIT)
    return KeyPointResult(points=[p.label for p in points], found=[c > 0 for c in credit], credit=credit,
                          weights=weights, spans=_merge(spans), clauses=sum(c.predicate for c in clauses),
                          structured=structured_weight / found_weight if found_weight else 1.0)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
