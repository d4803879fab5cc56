"""Authored distractors: the mechanical rules of FORMAT.md「Authored distractors」checked over the whole bank.

Each rule is a small function that returns what it finds wrong with one item; the bank tests apply it to every
choice item whose options were written for this bank (``options_source: authored``), and the ``*_flags`` tests
show on the shapes the issue reported (key the longest option, stem echoing the key, "all but the odd one")
that each rule does fire.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections import Counter
from functools import cache

import jieba
import pytest

from question_bank import load_bank

jieba.setLogLevel(logging.WARNING)

BANK = load_bank()
CHOICE = [item for item in BANK.items if item["type"] in ("single_choice", "multi_choice") and item.get("answer")]
AUTHORED = [item for item in CHOICE if item.get("options_source") == "authored"]

LENGTH_FACTOR = 1.5  # the key may not be the unique longest option AND longer than 1.5 x the median distractor
COMMON_SHARE = 0.10  # a word found in >= 10 % of the bank's stems (客户, 企业, CRM ...) cues nothing
UNAVOIDABLE_CUE = "题干提示无法避免:"  # a note that records why a stem cue could not be removed
MAX_UNAVOIDABLE = 2
MAX_SHARE_ONE_WRONG = 0.5  # at most half of the authored multi-choice items may have exactly one wrong option
MAX_KEY_LETTER_SHARE = 0.4


def length(text: str) -> int:
    return len(re.sub(r"\s", "", text))


def split_options(item: dict) -> tuple[list[str], list[str]]:
    """Return (key option texts, wrong option texts)."""
    keys = [str(item["options"][k]) for k in item["answer"]]
    wrong = [str(text) for k, text in item["options"].items() if k not in item["answer"]]
    return keys, wrong


def words(text: str) -> set[str]:
    """Return the words of two or more characters in a text (jieba segmentation, punctuation dropped)."""
    return {w for w in jieba.lcut(text) if len(w) >= 2 and re.search(r"\w", w)}


@cache
def common_words() -> frozenset[str]:
    """Return the words so frequent in the bank's stems that their presence in a stem cues nothing."""
    stems = [str(item["stem"]) for item in BANK.items]
    vocabulary: set[str] = set()
    for item in CHOICE:
        for text in item["options"].values():
            vocabulary |= words(str(text))
    return frozenset(w for w in vocabulary if sum(w in s for s in stems) >= COMMON_SHARE * len(stems))


def length_cue(item: dict) -> str | None:
    """Return why option lengths give the key away, or None."""
    keys, wrong = split_options(item)
    if not wrong:
        return None
    if item["type"] == "single_choice":
        key = length(keys[0])
        median = statistics.median(length(w) for w in wrong)
        if key > max(length(w) for w in wrong) and key > LENGTH_FACTOR * median:
            return f"答案 {key} 字,是唯一最长的选项,超过干扰项中位数 {median} 字的 {LENGTH_FACTOR} 倍"
        return None
    median_key = statistics.median(length(k) for k in keys)
    if max(length(w) for w in wrong) * LENGTH_FACTOR < median_key:
        return f"错误选项都远短于正确选项(正确项中位数 {median_key} 字)"
    if min(length(w) for w in wrong) > LENGTH_FACTOR * median_key:
        return f"错误选项都远长于正确选项(正确项中位数 {median_key} 字)"
    return None


def stem_cue(item: dict) -> set[str]:
    """Return the words that appear in the stem and point at the key rather than at the distractors."""
    keys, wrong = split_options(item)
    stem = str(item["stem"])
    # multi-choice: only a word that every key option shares with the stem can single the keys out
    candidates = words(keys[0]) if item["type"] == "single_choice" else set.intersection(*(words(k) for k in keys))
    cues = set()
    for word in candidates - common_words():
        if word in stem and sum(word in w for w in wrong) < len(wrong) / 2:
            cues.add(word)
    return cues


def duplicate_options(item: dict) -> list[str]:
    seen = Counter(re.sub(r"[\s,。、,.;;]", "", str(text)) for text in item["options"].values())
    return [text for text, n in seen.items() if n > 1]


def unavoidable(item: dict) -> bool:
    return any(str(note).startswith(UNAVOIDABLE_CUE) for note in item.get("notes", []))


# ---- the rules over the whole bank ----

def test_there_are_authored_items_to_check():
    assert len(AUTHORED) >= 50
    assert {item["type"] for item in AUTHORED} == {"single_choice", "multi_choice"}


@pytest.mark.parametrize("item", AUTHORED, ids=lambda item: item["id"])
def test_no_length_cue(item):
    assert length_cue(item) is None, length_cue(item)


@pytest.mark.parametrize("item", AUTHORED, ids=lambda item: item["id"])
def test_no_stem_cue(item):
    cues = stem_cue(item)
    if cues and unavoidable(item):
        pytest.skip(f"记录在案的无法避免的提示:{sorted(cues)}")
    assert not cues, f"题干中的 {sorted(cues)} 提示了答案,而干扰项中不到一半含有它"


def test_unavoidable_stem_cues_are_few_and_real():
    marked = [item for item in AUTHORED if unavoidable(item)]
    assert len(marked) <= MAX_UNAVOIDABLE, [item["id"] for item in marked]
    for item in marked:  # an exemption only where a cue actually exists
        assert stem_cue(item), f"{item['id']} 记录了无法避免的提示,但题干并没有提示答案"


@pytest.mark.parametrize("item", CHOICE, ids=lambda item: item["id"])
def test_no_duplicate_options(item):
    assert not duplicate_options(item)


def test_multi_choice_wrong_option_counts_vary():
    counts = Counter(len(split_options(item)[1]) for item in AUTHORED if item["type"] == "multi_choice")
    total = sum(counts.values())
    print(f"\n自编多选题错误选项个数分布:{dict(sorted(counts.items()))}(共 {total} 题)")
    assert total and min(counts) >= 1, "每道多选题至少要有一个错误选项"
    assert len(counts) >= 2, "错误选项个数全都相同"
    assert counts[1] <= MAX_SHARE_ONE_WRONG * total, f"{counts[1]}/{total} 道多选题只有一个错误选项"


def test_single_choice_keys_are_spread_over_the_letters():
    letters = Counter(item["answer"][0] for item in AUTHORED if item["type"] == "single_choice")
    total = sum(letters.values())
    print(f"\n自编单选题答案字母分布:{dict(sorted(letters.items()))}")
    assert set("ABCD") <= set(letters)
    assert max(letters.values()) <= MAX_KEY_LETTER_SHARE * total


# ---- the rules fire on the shapes the issue reported ----

def _item(kind: str, stem: str, options: dict[str, str], answer: list[str], notes=()) -> dict:
    return {"id": "s000-x-1", "type": kind, "stem": stem, "options": options, "answer": answer,
            "options_source": "authored", "notes": list(notes)}


def test_length_cue_flags_a_long_lone_key():
    before = _item("single_choice", "现代营销强调的是(  )。",
                   {"A": "客户的长期价值和个性化消费特点", "B": "产品的生产规模和产量", "C": "单次交易的利润",
                    "D": "标准化的大众产品"}, ["A"])
    assert length_cue(before)
    balanced = _item("single_choice", "现代营销强调的是(  )。",
                     {"A": "客户的长期价值和个性化消费特点", "B": "企业的生产规模和标准化产品特点",
                      "C": "单次交易的利润", "D": "标准化的大众产品"}, ["A"])
    assert length_cue(balanced) is None  # not the unique longest any more


def test_length_cue_flags_short_odd_ones_in_multi_choice():
    odd = _item("multi_choice", "控制客户流失的对策(  )",
                {"A": "区分导致客户流失的原因,并找出那些可以改进的地方", "B": "关注不同群体的客户流失率,形成分布图",
                 "C": "降价"}, ["A", "B"])
    assert length_cue(odd)


def test_stem_cue_flags_an_echoed_key_unless_distractors_share_the_word():
    echoed = _item("single_choice", "内部服务补救的对象是(  )",
                   {"A": "内部客户", "B": "外部客户", "C": "潜在客户", "D": "中间商"}, ["A"])
    assert stem_cue(echoed) == {"内部"}
    shared = _item("single_choice", "内部服务补救的对象是(  )",
                   {"A": "内部客户", "B": "外部客户", "C": "内部业务流程", "D": "内部信息系统"}, ["A"])
    assert stem_cue(shared) == set()


def test_common_course_words_are_not_cues():
    assert {"客户", "CRM"} <= common_words()
    assert "内部" not in common_words()


def test_duplicate_options_are_found():
    assert duplicate_options(_item("single_choice", "?", {"A": "呼叫中心", "B": "呼叫中心。", "C": "数据库"}, ["C"]))
