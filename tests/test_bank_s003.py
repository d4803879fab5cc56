"""Seed 003 (网络客户关系管理期末试卷) content: 解析, key policy and curated rubrics, checked against the seed text."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from question_bank import load_bank
from tests.conftest import seeds_dir

BANK = load_bank()
ITEMS = [i for i in BANK.items if i["id"].startswith("s003-")]
RUBRIC_TYPES = ("term_definition", "short_answer", "essay")
KEYED = ("source", "derived", "corrected", "instructor")
SEED_TITLES = ("《网络客户关系管理期末试卷》", "《客户关系管理重点》", "《CRM复习重点》", "《CRM与电子商务》",
               "《CRM 系统模块与客户关系管理习题汇编》")


def test_seed_003_holds_all_81_items():
    assert len(ITEMS) == 81


def test_no_two_seed_003_items_share_a_place_in_the_seed():
    """A (seed, section, number) names one question: the second run of 简答 numbered 8.–13. is its own section."""
    places = Counter((s["seed"], s["section"], s["number"]) for item in ITEMS for s in item["sources"]
                     if s["seed"].startswith("003_"))
    assert [place for place, n in places.items() if n > 1] == []
    second_run = [i for i in ITEMS if i["id"].startswith("s003-p2-sa2-")]
    assert len(second_run) == 6
    assert len({s["section"] for i in second_run for s in i["sources"]}) == 1


@pytest.mark.parametrize("item", ITEMS, ids=[i["id"] for i in ITEMS])
def test_every_item_has_an_explanation_that_cites_by_title(item):
    text = item.get("explanation", "")
    assert len(text) >= 60, "explanation missing or too short"
    assert item.get("explanation_source") in ("seed", "authored")
    assert not re.search(r"\d{3}_[0-9a-f]{16}", text), "cite the seed by its title, not its file name"
    if item["explanation_source"] == "authored":
        assert "编者" in text, "an authored explanation says that it draws on knowledge beyond the seeds"
    if item["key_source"] in ("derived", "corrected") or item["explanation_source"] == "seed":
        assert any(title in text for title in SEED_TITLES), "names the seed it rests on"
    if item["key_source"] == "none":
        assert "answer" not in item and "不计分" in text


@pytest.mark.parametrize("item", [i for i in ITEMS if i["key_source"] in ("derived", "corrected")],
                         ids=lambda i: i["id"])
def test_derived_keys_quote_a_passage_that_is_in_the_seeds(item):
    """The threshold for derived: a quotable sentence. Every quoted block must occur in one of the seeds."""
    seeds = "".join(p.read_text(encoding="utf-8") for p in seeds_dir().glob("*.txt"))
    quotes = re.findall(r"「([^」]+)」", item["explanation"])
    assert quotes, "quotes the passage in 「」"
    for quote in quotes:
        for piece in re.split(r"……", quote):
            assert piece.strip() in seeds, piece


KEYED_RUBRIC_ITEMS = [i for i in ITEMS if i["type"] in RUBRIC_TYPES and i["key_source"] in KEYED]


def test_every_keyed_text_item_has_a_rubric():
    assert len(KEYED_RUBRIC_ITEMS) == 29  # 5 名词解释 + 20 keyed 简答 + 4 论述
    assert all(i.get("key_points") for i in KEYED_RUBRIC_ITEMS)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[。;;!?!?\n]|[((]\d[))]|[①②③④⑤⑥⑦⑧⑨]", text.replace("顾客", "客户")) if s]


@pytest.mark.parametrize("item", KEYED_RUBRIC_ITEMS, ids=lambda i: i["id"])
def test_rubric_shape_and_fit_to_the_model_answer(item):
    """Contract shape; no expression made only of stem words; every point is stated in the seed's own answer."""
    points = item["key_points"]
    assert 1 <= len(points) <= 10
    stem = item["stem"].replace("顾客", "客户")
    sentences = _sentences(item["answer"])
    for point in points:
        assert set(point) == {"point", "expressions", "weight"}
        assert isinstance(point["weight"], int) and 1 <= point["weight"] <= 5
        assert 1 <= len(point["expressions"]) <= 12 and len(set(point["expressions"])) == len(point["expressions"])
        assert point["point"] not in stem, "a point is not the sub-question"
        for expression in point["expressions"]:
            assert 0 < len(expression) <= 30
            terms = [t.replace("顾客", "客户") for t in expression.split("+")]
            assert not all(t in stem for t in terms), f"{expression}: only stem words, earns nothing"
        stated = any(all(t.replace("顾客", "客户") in s for t in e.split("+"))
                     for e in point["expressions"] for s in sentences)
        assert stated, f"the seed's answer does not state {point['point']!r} in any of its wordings"


@pytest.mark.parametrize(("item_id", "label"), [
    ("s003-p2-sa-06", "它包括三个环节"),
    ("s003-p2-sa2-12", "如果有顾客前来咨询"),
])
def test_labels_and_sub_questions_are_not_points(item_id, label):
    item = next(i for i in ITEMS if i["id"] == item_id)
    assert all(label not in p["point"] and not any(label in e for e in p["expressions"]) for p in item["key_points"])


@pytest.mark.parametrize(("item_id", "count"), [
    ("s003-p2-sa-12", 5), ("s003-p1-sa-01", 6), ("s003-p2-sa-03", 3), ("s003-p2-sa-06", 3),
])
def test_numbered_answers_give_one_point_per_element(item_id, count):
    """「2帮助…3通过…」 without punctuation after the digit still gives one point per numbered element."""
    item = next(i for i in ITEMS if i["id"] == item_id)
    assert len(item["key_points"]) == count


def test_key_policy_on_the_judged_true_false_items():
    by_id = {i["id"]: i for i in ITEMS}
    for item_id in ("s003-p2-tf-30", "s003-p2-tf-32", "s003-p2-tf-34"):
        assert by_id[item_id]["key_source"] == "none" and "answer" not in by_id[item_id]
    assert by_id["s003-p2-tf-33"]["key_source"] == "derived" and by_id["s003-p2-tf-33"]["answer"] is True
