"""The question bank: validator, sync, exports, census, and the public pages."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from app.bank.exchange import EXPORTERS, PARSERS
from app.extensions import db
from app.models import Item, ItemVersion
from question_bank import BANK_DIR, BankError, load_bank
from question_bank.load import _item_problems, item_files
from question_bank.schema import ITEM_TYPES

BANK = load_bank()
TOPICS = {t["name"] for t in BANK.topics}


def good_item(**overrides):
    item = {"id": "s000-sc-99", "type": "single_choice", "stem": "CRM最早期的雏形是(  )",
            "options": {"A": "数据库营销", "B": "呼叫中心", "C": "SFA", "D": "ERP"}, "answer": ["A"],
            "key_source": "source", "topics": ["CRM 概念"],
            "explanation": "数据库营销是 CRM 的雏形(依据:《客户关系管理重点》单项选择题1)。", "explanation_source": "seed",
            "sources": [{"seed": "000_c565d983a41da886.txt", "section": "单项选择题", "number": 1}]}
    item.update(overrides)
    return item


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"type": "guess"}, "未知题型"),
    ({"answer": ["E"]}, "答案 'E' 不在选项中"),
    ({"answer": ["A", "B"]}, "单选题必须恰有一个答案"),
    ({"type": "true_false", "options": None, "answer": "对"}, "判断题的答案必须是 true 或 false"),
    ({"sources": []}, "缺少字段 sources"),
    ({"topics": ["不存在的主题"]}, "未知主题"),
    ({"key_source": "guessed"}, "key_source 必须是"),
    ({"key_source": "derived", "explanation": ""}, "推导的答案(derived)必须"),
    ({"type": "multi_choice", "options": {"A": "x"}}, "选择题至少需要两个选项"),
    ({"explanation": ""}, "缺少字段 explanation"),
    ({"explanation_source": "guess"}, "explanation_source"),
    ({"type": "case_study", "options": None, "answer": None, "parts": []}, "案例分析题必须有 parts"),
])
def test_validator_rejects_malformed_items(overrides, reason):
    problems = _item_problems(good_item(**overrides), TOPICS, None)
    assert any(reason in p for p in problems), problems


def test_validator_accepts_a_good_item():
    assert _item_problems(good_item(), TOPICS, None) == []


RUBRIC = [{"point": "重复购买的倾向", "expressions": ["重复购买", "再次+购买"], "weight": 2}]


def term(**overrides):
    return good_item(**{"id": "s000-td-99", "type": "term_definition", "stem": "客户忠诚", "options": None,
                        "answer": "客户忠诚是指……进而重复购买的一种倾向。", "key_points": RUBRIC,
                        "explanation": "要点:好感、偏好、重复购买。", "explanation_source": "seed", **overrides})


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"key_points": "重复购买"}, "key_points 必须是非空列表"),
    ({"key_points": [{"point": f"要点{n}", "expressions": ["词"]} for n in range(11)]}, "最多 10 个要点"),
    ({"key_points": [{"point": "", "expressions": ["词"]}]}, "缺少 point"),
    ({"key_points": [{"point": "要点", "expressions": []}]}, "缺少 expressions"),
    ({"key_points": [{"point": "要点", "expressions": [f"词{n}" for n in range(13)]}]}, "最多 12 个说法"),
    ({"key_points": [{"point": "要点", "expressions": ["很" * 31]}]}, "超过 30 字"),
    ({"key_points": [{"point": "要点", "expressions": ["客户+"]}]}, "“+”两边必须都有词"),
    ({"key_points": [{"point": "要点", "expressions": ["词"], "weight": 9}]}, "weight 必须是 1 到 5 的整数"),
    ({"key_points": [{"point": "要点", "expressions": ["词"], "score": 1}]}, "未知字段 score"),
    ({"key_points": ["重复购买"]}, "纯文字要点只用于教师题"),
    ({"key_source": "corrected"}, "必须保留源文档所印答案 printed_key"),
    ({"key_source": "corrected", "printed_key": "客户忠诚是指……进而重复购买的一种倾向。"}, "printed_key 与 answer 相同"),
    ({"printed_key": "别的答案"}, "printed_key 只用于 key_source: corrected"),
    ({"explanation_source": "guess"}, "explanation_source 必须是"),
    ({"explanation_source": "authored"}, "必须说明哪些内容是编者补充的"),
])
def test_validator_checks_rubric_shape_and_key_policy(overrides, reason):
    problems = _item_problems(term(**overrides), TOPICS, None)
    assert any(reason in p for p in problems), problems


def test_instructor_items_may_list_plain_string_points():
    assert _item_problems(term(id="s900-td-1", key_points=["重复购买", "好感"]), TOPICS, None) == []
    assert _item_problems(term(), TOPICS, None) == []


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"explanation": ""}, "缺少字段 explanation"),
    ({"explanation_source": None}, "缺少字段 explanation_source"),
    ({"key_points": None}, "有答案时必须有 key_points"),
    ({"key_source": "derived", "explanation": "资料支持这个答案。"}, "必须用「」引用源文档原文并注明出处"),
    ({"key_source": "corrected", "printed_key": "别的", "explanation": "源文档印的是别的。"}, "必须用「」引用"),
])
def test_strict_validation_requires_every_seed_items_content(overrides, reason):
    item = term(**overrides)
    assert any(reason in p for p in _item_problems(item, TOPICS, None, strict=True))
    cited = term(key_source="corrected", printed_key="别的",
                 explanation="资料写道「客户忠诚……重复购买」(依据:《客户关系管理重点》名词解释 2)。")
    assert _item_problems(cited, TOPICS, None, strict=True) == []
    # instructor items (s9xx) are not held to the seed-content requirements
    assert not [p for p in _item_problems({**item, "id": "s900-td-1"}, TOPICS, None, strict=True)
                if "缺少字段 explanation" in p or "key_points" in p and "有答案时" in p]


def _copy_bank(tmp_path: Path) -> Path:
    target = tmp_path / "bank"
    shutil.copytree(BANK_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*draft*"))
    return target


def _write_items(path: Path, items: list[dict]) -> None:
    path.write_text(yaml.safe_dump({"seed": "x", "items": items}, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_duplicate_ids_across_files_name_file_and_id(tmp_path):
    bank_dir = _copy_bank(tmp_path)
    _write_items(bank_dir / "s900_a.yaml", [good_item()])
    _write_items(bank_dir / "s901_b.yaml", [good_item()])
    with pytest.raises(BankError) as info:
        load_bank(bank_dir)
    assert any(p.startswith("s901_b.yaml: s000-sc-99: id 重复") for p in info.value.problems)


def test_bad_bank_file_changes_nothing(app, runner, tmp_path):
    bank_dir = _copy_bank(tmp_path)
    first = item_files(bank_dir)[0]
    data = yaml.safe_load(first.read_text(encoding="utf-8"))
    victim = data["items"][0]
    original_stem = victim["stem"]
    victim["stem"] = "改过的题干"
    data["items"].append(good_item(id="s000-zz-01", answer=["Z"]))
    first.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Item))
    result = runner.invoke(args=["bank", "sync", "--bank-dir", str(bank_dir)])
    assert result.exit_code != 0
    assert f"{first.name}: s000-zz-01: 答案 'Z' 不在选项中" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) == before
        assert db.session.scalar(sa.select(Item.stem).where(Item.uid == victim["id"])) == original_stem
        assert db.session.scalar(sa.select(Item).where(Item.uid == "s000-zz-01")) is None


def test_validate_command_reports_clean_bank(runner):
    result = runner.invoke(args=["bank", "validate"])
    assert result.exit_code == 0, result.output
    assert f"题库有效：{len(BANK.items)} 题" in result.output


def test_strict_validation_names_every_item_missing_its_content(runner, tmp_path):
    bank_dir = _copy_bank(tmp_path)
    item = good_item(id="s000-sc-98")
    del item["explanation"], item["explanation_source"]  # a seed item without 解析
    _write_items(bank_dir / "s900_a.yaml", [item])
    result = runner.invoke(args=["bank", "validate", "--strict", "--bank-dir", str(bank_dir)])
    assert result.exit_code != 0
    assert "s900_a.yaml: s000-sc-98: 缺少字段 explanation(每道题都要有解析)" in result.output
    assert "未做任何改动" in result.output


def test_sync_is_idempotent_and_updates_by_stable_id(app, runner, tmp_path):
    result = runner.invoke(args=["bank", "sync"])
    assert result.exit_code == 0, result.output
    assert "新增 0 题，更新 0 题" in result.output
    bank_dir = _copy_bank(tmp_path)
    path = item_files(bank_dir)[0]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    uid = data["items"][0]["id"]
    with app.app_context():
        old_id = db.session.scalar(sa.select(Item.id).where(Item.uid == uid))
    data["items"][0]["explanation"] = "新增的解析。"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = runner.invoke(args=["bank", "sync", "--bank-dir", str(bank_dir)])
    assert result.exit_code == 0, result.output
    assert "新增 0 题，更新 1 题" in result.output
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.uid == uid))
        assert item.id == old_id and item.version == 2 and item.explanation == "新增的解析。"
        versions = db.session.scalars(sa.select(ItemVersion.version).where(ItemVersion.item_id == item.id)).all()
        assert sorted(versions) == [1, 2]


def test_sync_keeps_edits_made_in_the_app_until_the_file_changes(app, runner, tmp_path):
    from app.bank.services import apply_item_content
    from app.models import Topic

    uid = BANK.items[0]["id"]
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.uid == uid))
        topics = {t.name: t for t in db.session.scalars(sa.select(Topic))}
        apply_item_content(item, {**item.to_dict(), "explanation": "教师在网站上补充的解析。"}, topics)
        db.session.commit()
    assert "更新 0 题" in runner.invoke(args=["bank", "sync"]).output
    with app.app_context():
        assert db.session.scalar(sa.select(Item.explanation).where(Item.uid == uid)) == "教师在网站上补充的解析。"
    bank_dir = _copy_bank(tmp_path)
    path = next(p for p in item_files(bank_dir) if uid in p.read_text(encoding="utf-8"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = next(i for i in data["items"] if i["id"] == uid)
    entry["explanation"] = "仓库里更新的解析。"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert "更新 1 题" in runner.invoke(args=["bank", "sync", "--bank-dir", str(bank_dir)]).output
    with app.app_context():
        assert db.session.scalar(sa.select(Item.explanation).where(Item.uid == uid)) == "仓库里更新的解析。"


def _export(runner, fmt, tmp_path):
    out = tmp_path / f"bank.{fmt}"
    result = runner.invoke(args=["bank", "export", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_json_export_holds_every_item_and_passes_the_validator(runner, tmp_path):
    data = json.loads(_export(runner, "json", tmp_path))
    assert len(data["items"]) == len(BANK.items) > 0
    ids = {i["id"] for i in data["items"]}
    assert ids == {i["id"] for i in BANK.items}
    parsed = PARSERS["json"](json.dumps(data, ensure_ascii=False))
    assert not parsed.errors
    for item in parsed.items:
        assert set(item) >= {"id", "type", "stem", "answer", "explanation", "topics", "sources", "key_source"}
        assert ("options" in item) == (item["type"] in ("single_choice", "multi_choice")), item["id"]
        assert item["type"] in ITEM_TYPES
        assert item["sources"], item["id"]
        assert _item_problems({k: v for k, v in item.items() if v not in (None, [], "")}, TOPICS, None) == [], item["id"]


@pytest.mark.parametrize("fmt", ["gift", "moodle-xml", "json"])
def test_export_then_parse_round_trips(runner, tmp_path, fmt):
    text = _export(runner, fmt, tmp_path)
    parsed = PARSERS[fmt](text)
    assert parsed.errors == []
    by_id = {i["id"]: i for i in BANK.items}
    assert len(parsed.items) == len(BANK.items)
    for item in parsed.items:
        original = by_id[item["id"]]
        for name in ("type", "stem", "answer", "key_source", "sources"):
            assert item.get(name) == original.get(name), (item["id"], name)
        assert sorted(item["topics"]) == sorted(original["topics"]), item["id"]
        assert (item.get("options") or None) == (original.get("options") or None), item["id"]
    if fmt == "gift":
        assert "// [id:" in text and "[tag:" in text
    assert EXPORTERS


def test_gift_escapes_special_characters():
    from app.bank.exchange import export_gift, parse_gift

    item = good_item(stem="比例 = 1:2 {注意} #号 ~波浪", options={"A": "a=b", "B": "c~d", "C": "{e}", "D": "f#g"})
    text = export_gift([item])
    assert "\\=" in text and "\\{" in text and "\\:" in text
    parsed = parse_gift(text).items[0]
    assert parsed["stem"] == item["stem"] and parsed["options"] == item["options"] and parsed["answer"] == ["A"]


# ---------------------------------------------------------------- census

def _census() -> list[tuple[str, str, int]]:
    """Read tests/census/<seed file stem>.tsv: one line per section, with the count found by reading the seed."""
    rows = []
    for path in sorted((Path(__file__).parent / "census").glob("*.tsv")):
        seed = path.stem + ".txt"
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            section, count, *_ = line.split("\t")
            rows.append((seed, section, int(count)))
    return rows


CENSUS = _census()


def test_census_covers_every_seed():
    assert {seed[:3] for seed, _, _ in CENSUS} >= {"000", "002", "003"}
    census_files = {p.name[:3] for p in (Path(__file__).parent / "census").glob("*.tsv")}
    assert census_files >= {"000", "001", "002", "003", "004"}


@pytest.mark.parametrize(("seed", "section", "expected"), CENSUS, ids=[f"{s[:3]}:{sec}" for s, sec, _ in CENSUS])
def test_census_section_counts(seed, section, expected):
    held = sum(1 for item in BANK.items for s in item["sources"] if s["seed"] == seed and s["section"] == section)
    assert held == expected


def test_every_item_source_is_in_the_census():
    sections = {(seed, section) for seed, section, _ in CENSUS}
    stray = {(s["seed"], s["section"]) for item in BANK.items for s in item["sources"]} - sections
    assert stray == set()


def test_every_type_of_the_seeds_is_present():
    types = Counter(i["type"] for i in BANK.items)
    for kind in ("single_choice", "multi_choice", "true_false", "term_definition", "short_answer", "essay", "case_study"):
        assert types[kind] > 0, kind


def test_seed_000_choice_items_have_authored_options_and_source_keys():
    items = [i for i in BANK.items if i["id"].startswith("s000-") and i["type"] in ("single_choice", "multi_choice")]
    assert items
    for item in items:
        other_seeds = {s["seed"][:3] for s in item["sources"]} - {"000"}
        # options are authored, unless a merged cross-seed duplicate supplies the seed's own printed options
        assert item["options_source"] == ("source" if other_seeds else "authored"), item["id"]
        # the inlined answer is the key; where the seeds' own text contradicts it, the key is corrected: the printed
        # key stays in printed_key and the explanation shows both, citing the seed by its title
        assert item["key_source"] in ("source", "corrected"), item["id"]
        if item["key_source"] == "corrected":
            assert item["printed_key"] != item["answer"] and set(item["printed_key"]) <= set(item["options"])
            assert "《客户关系管理重点》" in item["explanation"] and "源文档印的答案" in item["explanation"], item["id"]
        assert item.get("source_text") and item.get("notes")


# ---------------------------------------------------------------- pages

def test_home_page(client):
    html = client.get("/").get_data(as_text=True)
    assert "客户关系管理 教学与刷题平台" in html and "从哪里开始" in html
    # every script, stylesheet, font and icon comes from this site (no CDN, no other host); the page's random CSRF
    # token is not a link (it once contained the letters "cdn")
    import re

    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and not [link for link in links if "//" in link or "cdn" in link.lower()]


def test_browse_filters_and_paginates(client):
    html = client.get("/bank/?type=true_false").get_data(as_text=True)
    assert "判断题" in html
    n = sum(1 for i in BANK.items if i["type"] == "true_false")
    assert f"共 {n} 题" in html
    assert client.get("/bank/?page=999").status_code == 200


@pytest.mark.parametrize("term", ["忠诚", "客户满意度", "数据挖掘"])
def test_chinese_search_finds_short_and_long_terms(client, term):
    expected = sum(1 for i in BANK.items if term in json.dumps(i, ensure_ascii=False))
    html = client.get(f"/search?q={term}").get_data(as_text=True)
    assert expected > 0
    assert "没有找到" not in html
    total = int(html.split("共 ")[1].split(" 题")[0])
    assert 0 < total <= expected


def test_item_page_hides_answer_until_asked(client):
    item = next(i for i in BANK.items if i["type"] == "single_choice" and i["key_source"] == "source")
    html = client.get(f"/bank/items/{item['id']}").get_data(as_text=True)
    assert '<details class="reveal">' in html
    before_details = html.split('<details class="reveal">')[0]
    assert "参考答案" not in before_details
    from question_bank.seeds import seed_title

    # the source is named by its document's title, not its file name
    assert "参考答案" in html and f"《{seed_title(item['sources'][0]['seed'])}》" in html
    assert item["sources"][0]["seed"] not in html
    assert "答案来自源文档" in html


def test_unknown_item_is_a_404_page(client):
    response = client.get("/bank/items/s999-nope-01")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_reading_pages_are_linked_and_render(client):
    assert BANK.notes, "the seeds' study notes should become reading pages"
    note = BANK.notes[0]
    html = client.get(f"/notes/{note['slug']}").get_data(as_text=True)
    assert note["title"] in html
    assert client.get("/topics/").status_code == 200
