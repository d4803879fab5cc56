"""The key-point scorer's rules (stem, negation, clauses, paraphrase, review) and ``flask grade``."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.grading import grade, verdict_of
from app.models import Item

LOYALTY = {
    "type": "term_definition",
    "stem": "客户忠诚",
    "answer": "客户忠诚是指客户对某一特定产品或服务产生了好感,形成了偏好,进而重复购买的一种倾向。",
    "key_source": "source",
    "key_points": [
        {"point": "对特定产品或服务产生好感", "expressions": ["好感", "喜欢+产品", "喜欢+品牌"], "weight": 1},
        {"point": "形成偏好", "expressions": ["偏好", "认准", "偏爱"], "weight": 1},
        {"point": "重复购买的倾向", "expressions": ["重复购买", "再次购买", "一再+买", "反复+买", "回头+买"], "weight": 2},
    ],
}


def verdict(content, text):
    return verdict_of(grade(content, text))


def test_the_model_answer_and_a_paraphrase_are_right():
    assert verdict(LOYALTY, LOYALTY["answer"]) == "right"
    paraphrase = "顾客喜欢上某个品牌的产品,认准了它,以后总是一再回来买这个牌子。"
    result = grade(LOYALTY, paraphrase)
    assert verdict_of(result) == "right" and result.score == pytest.approx(1.0)
    assert result.detail["found"] == [True, True, True]


def test_partial_answer_is_partial_and_names_the_points_missed():
    result = grade(LOYALTY, "客户忠诚就是客户对产品产生了好感。")
    assert verdict_of(result) == "partial" and result.detail["found"] == [True, False, False]
    assert 0 < result.score < 0.5
    # the spans point into the student's own text, so the page can highlight them
    text = "客户忠诚就是客户对产品产生了好感。"
    assert [text[a:b] for a, b in result.detail["spans"]] == ["好感"]


@pytest.mark.parametrize("negated", [
    "客户忠诚不是客户对产品产生好感和偏好,也与重复购买没有关系。",
    "客户忠诚并不需要客户产生好感,也无需形成偏好,不会重复购买。",
    "客户忠诚与产生好感、形成偏好和重复购买的倾向无关。",
])
def test_a_point_stated_under_negation_earns_nothing(negated):
    result = grade(LOYALTY, negated)
    assert verdict_of(result) == "wrong" and result.score == 0 and not any(result.detail["found"])


def test_negation_scope_ends_at_the_contrast_and_modifiers_are_not_negations():
    text = "客户忠诚不是偶然光顾,而是客户产生好感、形成偏好后重复购买的倾向。"
    assert verdict(LOYALTY, text) == "right"
    # 没有的 modifies a noun: it does not deny the clause
    assert grade(LOYALTY, "原来没有的偏好慢慢形成,客户开始重复购买。").detail["found"][1:] == [True, True]


def test_a_bare_list_of_terms_earns_little():
    result = grade(LOYALTY, "好感 偏好 重复购买 倾向")
    assert verdict_of(result) == "wrong" and result.score <= 0.2 and all(result.detail["found"])
    assert result.detail["structured"] == 0


def test_words_of_the_stem_earn_nothing():
    content = {**LOYALTY, "key_points": [*LOYALTY["key_points"],
                                         {"point": "忠诚", "expressions": ["忠诚", "客户+忠诚"], "weight": 3}]}
    assert verdict(content, "客户忠诚就是客户很忠诚,忠诚的客户对企业很重要。") == "wrong"


def test_middle_band_is_review_not_a_guess():
    result = grade(LOYALTY, "客户对产品产生了好感并形成偏好。")  # 2 of 4 weight
    assert result.score == pytest.approx(0.5) and verdict_of(result) == "review" and result.correct is None


def test_plain_string_points_and_no_rubric_fall_back_to_the_answer_under_the_same_rules():
    plain = {**LOYALTY, "key_points": ["产生好感形成偏好", "重复购买的倾向"]}
    derived = {**LOYALTY, "key_points": None}
    for content in (plain, derived):
        assert verdict(content, LOYALTY["answer"]) == "right"
        assert verdict(content, "客户忠诚不是对产品产生好感,与形成偏好和重复购买无关。") == "wrong"
        assert verdict(content, "特定 产品 服务 好感 偏好 重复购买 倾向") == "wrong"


def test_a_list_answer_is_not_penalised_for_being_a_list():
    crm_types = {"type": "short_answer", "stem": "CRM系统按照其功能可以分为哪几类?",
                 "answer": "运营型CRM、协作型CRM、分析型CRM", "key_source": "source",
                 "key_points": [{"point": p, "expressions": [p], "weight": 1} for p in ("运营型", "协作型", "分析型")]}
    assert verdict(crm_types, "运营型CRM、协作型CRM、分析型CRM") == "right"
    assert verdict(crm_types, "操作型CRM、合作型CRM、分析型CRM") == "partial"
    assert verdict(crm_types, "CRM") == "wrong"


def test_a_reversed_direction_contradicts_the_model_answer():
    content = {"type": "short_answer", "stem": "营销观念变迁的历程怎样?", "answer": "以产品为中心到以客户为中心",
               "key_source": "source"}
    assert verdict(content, "营销观念从以产品为中心转变为以客户为中心。") == "right"
    assert verdict(content, "营销观念是从以客户为中心转变为以产品为中心的。") == "wrong"


# ---------------------------------------------------------------- flask grade

def run_grade(runner, uid, text, *args):
    return runner.invoke(args=["grade", "--item", uid, *args], input=text)


def test_flask_grade_json_reads_stdin_and_matches_the_site(app, runner):
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.uid == "s003-p1-td-02"))
        content = item.content()
    answer = content["answer"]
    result = run_grade(runner, "s003-p1-td-02", answer, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = grade(content, answer)
    assert data["score"] == expected.score and data["verdict"] == verdict_of(expected) == "right"
    assert [p["point"] for p in data["points"]] == expected.detail["points"]
    assert all(set(p) == {"point", "found"} for p in data["points"])
    negated = json.loads(run_grade(runner, "s003-p1-td-02", "客户忠诚不是对产品产生好感,与重复购买没有关系。",
                                   "--json").output)
    assert negated["verdict"] == "wrong" and 0 <= negated["score"] < 0.25


def test_flask_grade_refuses_unknown_unkeyed_and_self_assessed_items(app, runner):
    assert "没有编号为" in run_grade(runner, "s000-td-99", "x").output
    with app.app_context():
        unkeyed = db.session.scalar(sa.select(Item.uid).where(Item.key_source == "none"))
        essay = db.session.scalar(sa.select(Item.uid).where(Item.type == "essay", Item.key_source != "none"))
    assert run_grade(runner, unkeyed, "x").exit_code != 0
    refused = run_grade(runner, essay, "x")
    assert refused.exit_code != 0 and "自评" in refused.output
    human = run_grade(runner, "s003-p1-td-02", "客户对产品产生了好感。")
    assert human.exit_code == 0 and "得分" in human.output


# ---------------------------------------------------------------- pages, sync and exports

def test_essay_self_assessment_rates_the_rubric_points_not_split_sentences():
    essay = {"type": "essay", "stem": "论述客户满意与客户忠诚的关系", "answer": "满意是忠诚的前提。满意未必忠诚。",
             "key_source": "source",
             "key_points": [{"point": "满意是忠诚的前提", "expressions": ["前提"], "weight": 2},
                            {"point": "满意未必忠诚", "expressions": ["未必"], "weight": 1}]}
    result = grade(essay, "我的论述")
    assert result.score is None and result.detail["rubric"] == ["满意是忠诚的前提", "满意未必忠诚"]


def test_search_lists_reading_pages_as_well_as_questions(client):
    html = client.get("/search?q=RFM").get_data(as_text=True)
    assert "阅读材料" in html and "RFM模型及在行业应用" in html and "/notes/s001-rfm" in html
    assert "没有找到相关的阅读材料" in client.get("/search?q=不存在的词语xyz").get_data(as_text=True)


def test_a_corrected_key_is_synced_exported_and_announced(app, client, runner, tmp_path):
    import shutil

    import yaml

    from question_bank import BANK_DIR

    bank_dir = tmp_path / "bank"
    shutil.copytree(BANK_DIR, bank_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = bank_dir / "s002_crm_exercises.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    item = next(i for i in data["items"] if i["type"] == "true_false" and i["key_source"] == "source")
    item.update(key_source="corrected", printed_key=item["answer"], answer=not item["answer"],
                explanation_source="seed",
                explanation="资料写道「客户满意不等于客户忠诚」(依据:《客户关系管理重点》问答题三)。")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = runner.invoke(args=["bank", "sync", "--bank-dir", str(bank_dir)])
    assert result.exit_code == 0, result.output
    page = client.get(f"/bank/items/{item['id']}").get_data(as_text=True)
    assert "这道题源文档印的答案与教材其他部分矛盾" in page and "源文档所印答案" in page
    assert "依据:《客户关系管理重点》问答题三" in page
    exported = json.loads(runner.invoke(args=["bank", "export", "--format", "json"]).output)
    row = next(i for i in exported["items"] if i["id"] == item["id"])
    assert row["printed_key"] is item["printed_key"] and row["explanation_source"] == "seed"
    assert row["key_source"] == "corrected" and row["answer"] is (not item["printed_key"])
    as_yaml = yaml.safe_load(runner.invoke(args=["bank", "export", "--format", "yaml"]).output)
    row = next(i for i in as_yaml["items"] if i["id"] == item["id"])
    assert row["printed_key"] is item["printed_key"] and row["explanation_source"] == "seed"


def test_the_item_form_shows_a_curated_rubric_by_its_labels(app, instructor):
    from tests.test_grading_queue import make_term

    uid = make_term(app)
    page = instructor.get(f"/manage/items/{uid}/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "重复购买的倾向" in html and "expressions" not in html
    item_page = instructor.get(f"/bank/items/{uid}").get_data(as_text=True)
    assert "评分要点" in item_page and "重复购买的倾向" in item_page and "参考分" in item_page
    assert "要点:好感、偏好、重复购买。" in item_page  # the explanation
