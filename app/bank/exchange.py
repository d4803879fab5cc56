"""Export the bank as JSON, GIFT or Moodle XML, and read those formats (and YAML) back for import.

The JSON export is the exchange contract written down in docs/exchange.md (schema: docs/exchange.schema.json).
GIFT and Moodle XML carry what Moodle understands (text, options, key, weights, feedback, category, tags); what
only this bank records (key provenance, sources, rubric, notes, model answers in GIFT, ...) rides along in a
``crm-meta`` comment that Moodle ignores, so exporting and importing the same file changes nothing. The readers
live in gift.py and moodle_xml.py and follow Moodle's own documentation.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405  (used to build XML; parsing goes through defusedxml)
from typing import Any

from app.bank.gift import parse_gift
from app.bank.moodle_xml import parse_moodle_xml
from app.bank.parsed import MEDIA_PREFIX, META_FIELDS, Entry, ParseResult, nearest_fraction

FORMATS = {"json": "JSON", "gift": "GIFT", "moodle-xml": "Moodle XML", "yaml": "YAML"}
CONTRACT = "crm-bank-exchange"
CONTRACT_VERSION = 1
CATEGORY_ROOT = "$course$/客户关系管理"
UNCATEGORISED = "未分类"
GIFT_SPECIAL = "~=#{}:"
UNKEYED_NOTE = "（注：本题在题库中还没有经核定的答案，导出为问答题，选项列在题干中。）"
PROVENANCE_FIELDS = ("author", "references", "tags")
__all__ = ["parse_gift", "parse_moodle_xml", "ParseResult", "FORMATS", "EXPORTERS", "PARSERS"]


# ---------------------------------------------------------------- export

CHOICE = ("single_choice", "multi_choice")
OPTIONAL_FIELDS = ("options_source", "explanation_source", "correction", "printed_key", "parts", "blanks",
                   "key_points", "notes", "source_text", *PROVENANCE_FIELDS)


def export_json(items: list[dict[str, Any]], multi_rule: str = "partial") -> str:
    """The exchange contract: every field of every item (docs/exchange.md); options only on choice items."""
    out = []
    for item in items:
        data: dict[str, Any] = {"id": item["id"], "type": item["type"], "stem": item["stem"]}
        if item["type"] in CHOICE:
            data["options"] = [{"key": k, "text": v} for k, v in (item.get("options") or {}).items()]
        data.update(answer=item.get("answer"), key_source=item["key_source"],
                    explanation=item.get("explanation") or "", topics=item.get("topics") or [],
                    sources=item.get("sources") or [])
        for extra in OPTIONAL_FIELDS:
            if item.get(extra) not in (None, "", []):
                data[extra] = item[extra]
        out.append(data)
    doc = {"format": CONTRACT, "version": CONTRACT_VERSION, "multi_choice_rule": multi_rule, "items": out}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def gift_escape(text: str) -> str:
    out = text.replace("\\", "\\\\")
    for ch in GIFT_SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r", "").replace("\n", "\\n")


def _shape(item: dict[str, Any]) -> str:
    """The Moodle question type an item is exported as."""
    kind, answer = item["type"], item.get("answer")
    if kind in CHOICE and isinstance(answer, list) and answer:
        return "multichoice"
    if kind == "true_false" and isinstance(answer, bool):
        return "truefalse"
    if kind == "fill_blank" and item.get("blanks") and len(item["blanks"]) == 1 and item["blanks"][0]:
        return "shortanswer"
    return "essay"


def _visible_stem(item: dict[str, Any], shape: str) -> str:
    """The question text Moodle shows: case parts and the options of unkeyed choice items are written into it."""
    stem = item["stem"]
    if item.get("parts"):
        stem += "\n\n" + "\n".join(f"{n}. {p.get('stem', '')}" for n, p in enumerate(item["parts"], 1))
    if shape == "essay" and item["type"] in CHOICE + ("true_false",):
        if item.get("options"):
            stem += "\n\n" + "\n".join(f"- {k}. {v}" for k, v in item["options"].items())
        stem += "\n\n" + UNKEYED_NOTE
    return stem


def _represented(item: dict[str, Any], shape: str) -> set[str]:
    """The fields the visible Moodle question carries; the rest go into the crm-meta comment."""
    shown = {"explanation"}  # topics and tags stay in crm-meta too: [tag:] and categories only name them
    if _visible_stem(item, shape) == item["stem"]:
        shown.add("stem")
    if shape == "multichoice":
        shown |= {"type", "options", "answer"}
    elif shape == "truefalse":
        shown |= {"type", "answer"}
    elif shape == "shortanswer":
        shown |= {"blanks"} | ({"type"} if item["type"] == "fill_blank" else set())
        if item.get("answer") == item["blanks"][0][0]:
            shown.add("answer")
    elif item["type"] == "essay" and not item.get("answer"):
        shown |= {"type", "answer"}
    return shown


def _meta(item: dict[str, Any], shape: str) -> str:
    skip = _represented(item, shape)
    meta = {k: item.get(k) for k in META_FIELDS if k not in skip and item.get(k) not in (None, "", [])}
    if "answer" not in skip and item.get("answer") is None and "answer" not in meta:
        meta["answer"] = None
    return json.dumps(meta, ensure_ascii=False, separators=(",", ":"))


def multi_fractions(options: dict[str, str], keys: list[str], rule: str) -> dict[str, float]:
    """Moodle fractions that grade a multiple-answer item as the site's rule does (as closely as Moodle can).

    partial (少选得部分分) and all_or_nothing: each right option 100/k, any wrong option -100 (Moodle floors the sum
    at 0, so one wrong choice scores 0); moodle_sum: each wrong option -100/(number of wrong options).
    """
    right = nearest_fraction(100 / len(keys))
    n_wrong = max(1, len(options) - len(keys))
    wrong = -100.0 if rule in ("partial", "all_or_nothing") else nearest_fraction(-100 / n_wrong)
    return {k: (right if k in keys else wrong) for k in options}


def category_of(item: dict[str, Any]) -> str:
    topics = item.get("topics") or []
    return f"{CATEGORY_ROOT}/{topics[0] if topics else UNCATEGORISED}"


def _by_category(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(category_of(item), []).append(item)
    return groups


def export_gift(items: list[dict[str, Any]], multi_rule: str = "partial") -> str:
    blocks = []
    for category, members in _by_category(items).items():
        blocks.append(f"// 分类（Moodle 题库类别）\n$CATEGORY: {category}\n")
        for item in members:
            blocks.append(_gift_question(item, multi_rule))
    return "\n".join(blocks)


def _gift_question(item: dict[str, Any], multi_rule: str) -> str:
    shape = _shape(item)
    tags = " ".join(f"[tag:{t}]" for t in [*(item.get("topics") or []), *(item.get("tags") or [])])
    lines = [f"// [id:{item['id']}] {tags}".rstrip(), f"// crm-meta {_meta(item, shape)}"]
    head = f"::{gift_escape(item['id'])}::[markdown]{gift_escape(_visible_stem(item, shape))}"
    answer = item.get("answer")
    if shape == "multichoice":
        options = item.get("options") or {}
        if item["type"] == "single_choice":
            body = [("=" if k in answer else "~") + gift_escape(v) for k, v in options.items()]
        else:
            fractions = multi_fractions(options, answer, multi_rule)
            body = [f"~%{fractions[k]:g}%{gift_escape(v)}" for k, v in options.items()]
        block = "{\n\t" + "\n\t".join(body) + "\n"
    elif shape == "truefalse":
        block = "{" + ("TRUE" if answer else "FALSE")
    elif shape == "shortanswer":
        block = "{" + " ".join("=" + gift_escape(a) for a in item["blanks"][0])
    else:
        block = "{"  # essay: GIFT has no grader-information field, so a model answer stays in crm-meta
    feedback = item.get("explanation") or ""
    if feedback:
        block += ("\t" if block.endswith("\n") else "") + f"####{gift_escape(feedback)}"
        block += "\n" if shape == "multichoice" else ""
    return "\n".join(lines) + "\n" + head + block + "}\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        ET.SubElement(el, "text").text = text
    return el


PENALTY = {"multichoice": "0.3333333", "truefalse": "1.0000000", "shortanswer": "0.3333333", "essay": "0.0000000"}
_MEDIA = re.compile(re.escape(MEDIA_PREFIX) + r"([0-9a-f]{64})/([\w.\-]+)")


def _with_files(parent: ET.Element, text: str, media: dict[str, bytes] | None) -> None:
    """Write images served by the app as Moodle embedded files (@@PLUGINFILE@@ plus base64 <file>)."""
    import base64

    found = _MEDIA.findall(text) if media is not None else []
    for sha, name in dict.fromkeys(found):
        if sha in media:  # type: ignore[operator]
            text = text.replace(f"{MEDIA_PREFIX}{sha}/{name}", f"@@PLUGINFILE@@/{name}")
    ET.SubElement(parent, "text").text = text
    for sha, name in dict.fromkeys(found):
        if sha in media:  # type: ignore[operator]
            f = ET.SubElement(parent, "file", {"name": name, "path": "/", "encoding": "base64"})
            f.text = base64.b64encode(media[sha]).decode("ascii")  # type: ignore[index]


def export_moodle_xml(items: list[dict[str, Any]], multi_rule: str = "partial",
                      media: dict[str, bytes] | None = None) -> str:
    quiz = ET.Element("quiz")
    for category, members in _by_category(items).items():
        cat = ET.SubElement(quiz, "question", {"type": "category"})
        _sub(cat, "category", category)
        for item in members:
            _xml_question(quiz, item, multi_rule, media)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _xml_question(quiz: ET.Element, item: dict[str, Any], multi_rule: str, media: dict[str, bytes] | None) -> None:
    shape = _shape(item)
    answer = item.get("answer")
    q = ET.SubElement(quiz, "question", {"type": shape})
    q.append(ET.Comment(" crm-meta " + _meta(item, shape).replace("--", "\\u002d\\u002d") + " "))
    _sub(q, "name", item["id"])
    _with_files(ET.SubElement(q, "questiontext", {"format": "markdown"}), _visible_stem(item, shape), media)
    _sub(q, "generalfeedback", item.get("explanation") or "", format="markdown")
    ET.SubElement(q, "defaultgrade").text = "1.0000000"
    ET.SubElement(q, "penalty").text = PENALTY[shape]
    ET.SubElement(q, "hidden").text = "0"
    ET.SubElement(q, "idnumber").text = item["id"]
    if shape == "multichoice":
        options = item.get("options") or {}
        single = item["type"] == "single_choice"
        ET.SubElement(q, "single").text = "true" if single else "false"
        ET.SubElement(q, "shuffleanswers").text = "true"
        ET.SubElement(q, "answernumbering").text = "ABCD"
        fractions = ({k: (100.0 if k in answer else 0.0) for k in options} if single
                     else multi_fractions(options, answer, multi_rule))
        for key, text in options.items():
            a = _sub(q, "answer", text, fraction=f"{fractions[key]:g}", format="markdown")
            _sub(a, "feedback", "", format="markdown")
    elif shape == "truefalse":
        for value in ("true", "false"):
            a = _sub(q, "answer", value, fraction="100" if (value == "true") == answer else "0",
                     format="moodle_auto_format")
            _sub(a, "feedback", "", format="markdown")
    elif shape == "shortanswer":
        ET.SubElement(q, "usecase").text = "0"
        for alt in item["blanks"][0]:
            a = _sub(q, "answer", alt, fraction="100", format="moodle_auto_format")
            _sub(a, "feedback", "", format="markdown")
    else:
        ET.SubElement(q, "responseformat").text = "editor"
        ET.SubElement(q, "responserequired").text = "1"
        ET.SubElement(q, "responsefieldlines").text = "15"
        ET.SubElement(q, "attachments").text = "0"
        model = answer if isinstance(answer, str) else ""
        _sub(q, "graderinfo", model, format="markdown")  # teacher-only: Moodle never shows it to students
        _sub(q, "responsetemplate", "", format="html")
    tags = ET.SubElement(q, "tags")
    for label in [*(item.get("topics") or []), *(item.get("tags") or [])]:
        _sub(tags, "tag", label)


# ---------------------------------------------------------------- JSON and YAML readers

def parse_json(text: str) -> ParseResult:
    result = ParseResult()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.append(f"第 {exc.lineno} 行：JSON 无法解析：{exc.msg}")
        return result
    except RecursionError:
        result.errors.append("第 1 行: JSON 嵌套过深,无法导入")
        return result
    raw_items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(raw_items, list):
        result.errors.append("第 1 行：顶层必须是含 items 列表的对象")
        return result
    _collect(raw_items, result, "对象")
    return result


def _collect(raw_items: list[Any], result: ParseResult, mapping_word: str) -> None:
    """Add each raw item to the result, or an error naming its position (options may be a {key, text} list)."""
    for n, raw in enumerate(raw_items, 1):
        if not isinstance(raw, dict):
            result.errors.append(f"第 {n} 个题目：不是{mapping_word}")
            continue
        item = dict(raw)
        options = item.get("options")
        if isinstance(options, list):
            try:
                item["options"] = {o["key"]: o["text"] for o in options} or None
            except (KeyError, TypeError):
                result.errors.append(f"第 {n} 个题目（{item.get('id', '?')}）：options 必须是 {{key, text}} 列表")
                continue
        title = str(item.get("id") or "") or _first(item)
        result.entries.append(Entry(data=item, where=f"第 {n} 个题目", line=n, title=title,
                                    native=bool(item.get("id"))))


def _first(item: dict[str, Any]) -> str:
    from app.bank.parsed import first_words

    return first_words(str(item.get("stem") or ""))


def parse_yaml(text: str) -> ParseResult:
    import yaml

    from question_bank.safeyaml import load_untrusted

    result = ParseResult()
    try:
        data = load_untrusted(text)  # anchors and aliases refused: no expansion bombs
    except RecursionError:
        result.errors.append("第 1 行: YAML 嵌套过深,无法导入")
        return result
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        result.errors.append(f"第 {mark.line + 1 if mark else '?'} 行：YAML 无法解析：{getattr(exc, 'problem', exc)}")
        return result
    raw_items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(raw_items, list):
        result.errors.append("第 1 行：顶层必须是题目列表或含 items 列表的映射")
        return result
    _collect(raw_items, result, "映射")
    return result


PARSERS = {"json": parse_json, "gift": parse_gift, "moodle-xml": parse_moodle_xml, "yaml": parse_yaml}
EXPORTERS = {"json": export_json, "gift": export_gift, "moodle-xml": export_moodle_xml}
