"""Seed 002's items and the reading pages, checked against the seed documents themselves."""

from __future__ import annotations

import re
from html import unescape

import pytest

from question_bank import load_bank
from question_bank.load import SEEDS_DIR

BANK = load_bank()
S002 = [item for item in BANK.items if item["id"].startswith("s002-")]
SEED_TEXT = "".join(re.sub(r"\s+", "", p.read_text(encoding="utf-8")) for p in sorted(SEEDS_DIR.glob("*.txt")))
QUOTE = re.compile(r"「(.*?)」")


def quoted_fragments(text: str) -> list[str]:
    """The passages an explanation quotes, split where it elides with ……, whitespace removed."""
    fragments = []
    for quote in QUOTE.findall(text):
        fragments += [re.sub(r"\s+", "", f) for f in re.split(r"……|…", quote)]
    return [f for f in fragments if len(f) >= 4]


def test_every_s002_item_has_an_explanation_and_says_where_it_comes_from():
    assert len(S002) == 82
    for item in S002:
        assert str(item.get("explanation", "")).strip(), item["id"]
        assert item.get("explanation_source") in ("seed", "authored"), item["id"]
        if item["explanation_source"] == "authored":
            assert "编者" in item["explanation"], f"{item['id']}: an authored explanation says so"
        assert ".txt" not in item["explanation"], f"{item['id']}: cite seeds by title, not by file name"


def test_quoted_passages_in_s002_explanations_are_in_the_seeds():
    fragments = [(item["id"], f) for item in S002 for f in quoted_fragments(item["explanation"])]
    missing = [(item_id, f) for item_id, f in fragments if f not in SEED_TEXT]
    assert len(fragments) > 150
    assert not missing


@pytest.mark.parametrize("item", [i for i in S002 if i["key_source"] in ("derived", "corrected")], ids=lambda i: i["id"])
def test_derived_and_corrected_keys_quote_and_cite_their_passage(item):
    assert quoted_fragments(item["explanation"]) and "依据" in item["explanation"]
    assert any("key_source" in note for note in item.get("notes", []))


def test_s002_tf_04_is_corrected_and_keeps_the_printed_key():
    item = next(i for i in S002 if i["id"] == "s002-tf-04")
    assert item["key_source"] == "corrected"
    assert item["printed_key"] is False and item["answer"] is True
    # its neighbours in the same seed section, which the correction rests on
    keys = {i["id"]: i["answer"] for i in S002 if i["id"] in ("s002-tf-10", "s002-tf-11")}
    assert keys == {"s002-tf-10": True, "s002-tf-11": False}


@pytest.mark.parametrize("item_id, key", [
    ("s002-ch5-sc-08", ["A"]), ("s002-ch5-mc-18", ["B", "C", "D"]), ("s002-ch5-sc-07", ["B"]), ("s002-ch5-sc-14", ["C"]),
])
def test_keys_derived_from_seed_passages(item_id, key):
    item = next(i for i in S002 if i["id"] == item_id)
    assert (item["key_source"], item["answer"]) == ("derived", key)


def test_s002_essays_have_rubrics():
    for item in S002:
        if item["type"] == "essay" and item["key_source"] != "none":
            points = item.get("key_points")
            assert isinstance(points, list) and 1 <= len(points) <= 10, item["id"]
            for point in points:
                assert point["point"] and 1 <= len(point["expressions"]) <= 12 and 1 <= point["weight"] <= 5
                assert all(len(e) <= 30 for e in point["expressions"])


@pytest.mark.parametrize("slug, present, absent", [
    ("s001-rfm", ["公司80%的收入来自20%的顾客", "5×5×5 = 125类", "Pareto's Law"], ["排名前10的顾客", "分成555"]),
    ("s001-4p-4c-4r-fab", ["劳特朋(Lauterborn)"], ["Lauterbom)"]),
    ("s000-lifecycle-stages", ["考察期(识别期)", "形成期(发展期)", "稳定期", "退化期(衰退期)", "令自己满意的价值"], []),
])
def test_reading_pages_restore_what_the_source_lost(client, slug, present, absent):
    html = unescape(client.get(f"/notes/{slug}").get_data(as_text=True))
    for text in present:
        assert text in html
    for text in absent:
        assert text not in html


def test_lifecycle_stages_page_is_listed_under_its_topic_and_links_the_market_features(client):
    topic_page = client.get("/topics/lifecycle").get_data(as_text=True)
    assert "客户生命周期的四个阶段及其特点" in topic_page
    page = client.get("/notes/s000-lifecycle-stages").get_data(as_text=True)
    assert 'href="s001-lifecycle"' in page
    assert client.get("/notes/s001-lifecycle").status_code == 200


def test_s002_essay_self_assessment_shows_the_rubric_points(student):
    """The curated rubric of a 论述 is offered for self-assessment by its point texts, never as raw data."""
    from tests.test_practice import answer_current

    set_url = student.get("/practice/items/s002-t3-es-01").headers["Location"]
    _, feedback_url = answer_current(student, set_url, ["客户满意是忠诚的基础,但满意未必忠诚。"])
    html = unescape(student.get(feedback_url).get_data(as_text=True))
    assert "满意不一定带来忠诚（非线性关系）" in html
    assert "expressions" not in html and "'point'" not in html


# Symbols the reading pages restored where the source lost them, mapped back to the source's form.
RESTORED = [("Pareto's", "Paretos"), ("5×5×5", "555"), ("Planning,ERP", "PlanningERP"), ("Government,EG", "GovernmentEG"),
            ("Automation,SA", "AutomationSA"), ("mass production", "mass proction"), ("(Product)", "(Proct)"),
            ("Lauterborn", "Lauterbom"), ("生命周期阶段的市场特征", "生命周阶段的市场特征")]
RESTORED_MARKS = "%→≠·《》"


def _without_marks(text: str) -> str:
    for mark in RESTORED_MARKS:
        text = text.replace(mark, "")
    return text


SEED_TEXT_FOR_NOTES = _without_marks("".join(
    re.sub(r"\s+", "", re.sub(r"\n\s+\d+、", "", p.read_text(encoding="utf-8")))  # seed 001's page-chunk markers
    for p in sorted(SEEDS_DIR.glob("*.txt"))))


@pytest.mark.parametrize("note", BANK.notes, ids=lambda n: n["slug"])
def test_reading_page_text_is_copied_from_the_seeds(note):
    """Every sentence of a page outside its editor's note is in the seeds, once restored symbols are mapped back."""
    missing = []
    for line in note["body"].split("\n"):
        if not line.strip() or line.startswith((">", "#", "*(")):  # editor's notes, headings, placeholders
            continue
        line = re.sub(r"^\s*[-*]\s+", "", line).replace("**", "")
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line).removesuffix("……")
        for restored, printed in RESTORED:
            line = line.replace(restored, printed)
        line = _without_marks(re.sub(r"P(\d+)-(\d+)", r"P\1\2", line))
        for sentence in re.split(r"[。;!?]", line):
            sentence = re.sub(r"\s+", "", sentence)
            if len(sentence) >= 6 and sentence not in SEED_TEXT_FOR_NOTES:
                missing.append(sentence)
    assert not missing
