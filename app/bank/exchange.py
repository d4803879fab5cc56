"""Export the bank as JSON, GIFT or Moodle XML, and parse those formats back (for import).

GIFT and Moodle XML carry what Moodle understands (stem, options, key, feedback, id and tags); everything else
this bank records (key provenance, sources, notes, case parts, ...) rides along in a ``crm-meta`` comment that
Moodle ignores, so an export followed by an import of the same file changes nothing.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405  (used to build XML; parsing goes through defusedxml)
from dataclasses import dataclass, field
from typing import Any

from defusedxml.ElementTree import XMLParser as SafeXMLParser

from question_bank.schema import ITEM_TYPES

FORMATS = {"json": "JSON", "gift": "GIFT", "moodle-xml": "Moodle XML", "yaml": "YAML"}
GIFT_SPECIAL = "~=#{}:"
META_FIELDS = ("type", "options", "key_source", "options_source", "explanation", "correction", "parts", "blanks",
               "key_points", "notes", "source_text", "sources", "topics", "answer")
# Moodle accepts only these fractions for answers.
MOODLE_FRACTIONS = [100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667,
                    14.28571, 12.5, 11.11111, 10, 5]


def _fraction(n: int) -> float:
    """The Moodle fraction closest to 100/n."""
    return min(MOODLE_FRACTIONS, key=lambda f: abs(f - 100 / n))


# ---------------------------------------------------------------- export

def export_json(items: list[dict[str, Any]]) -> str:
    out = []
    for item in items:
        data = {
            "id": item["id"], "type": item["type"], "stem": item["stem"],
            "options": [{"key": k, "text": v} for k, v in (item.get("options") or {}).items()],
            "answer": item.get("answer"), "explanation": item.get("explanation") or "",
            "topics": item.get("topics", []), "sources": item.get("sources", []), "key_source": item["key_source"],
        }
        if item.get("parts"):
            data["parts"] = item["parts"]
        for extra in ("options_source", "correction", "blanks", "key_points", "notes", "source_text"):
            if item.get(extra):
                data[extra] = item[extra]
        out.append(data)
    return json.dumps({"items": out}, ensure_ascii=False, indent=2) + "\n"


def gift_escape(text: str) -> str:
    out = text.replace("\\", "\\\\")
    for ch in GIFT_SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", "\\n")


def _represented(item: dict[str, Any]) -> set[str]:
    """The fields the visible GIFT/Moodle question carries; the rest go into the crm-meta comment."""
    kind, answer = item["type"], item.get("answer")
    if kind in ("single_choice", "multi_choice") and answer:
        return {"options", "answer", "explanation", "topics"}
    if kind == "true_false" and isinstance(answer, bool):
        return {"answer", "explanation", "topics"}
    if kind == "fill_blank" and item.get("blanks") and len(item["blanks"]) == 1:
        return {"blanks", "explanation", "topics"}
    return {"topics"}


def _meta(item: dict[str, Any]) -> str:
    skip = _represented(item)
    meta = {k: item.get(k) for k in META_FIELDS if k not in skip and item.get(k) not in (None, "", [])}
    return json.dumps(meta, ensure_ascii=False, separators=(",", ":"))


def export_gift(items: list[dict[str, Any]]) -> str:
    blocks = []
    for item in items:
        tags = " ".join(f"[tag:{t}]" for t in item.get("topics", []))
        lines = [f"// [id:{item['id']}] {tags}".rstrip(), f"// crm-meta {_meta(item)}"]
        head = f"::{gift_escape(item['id'])}::[markdown]{gift_escape(item['stem'])}"
        feedback = item.get("explanation") or ""
        kind, answer = item["type"], item.get("answer")
        if kind in ("single_choice", "multi_choice") and answer:
            options = item.get("options") or {}
            keys = set(answer)
            body = []
            for key, text in options.items():
                if kind == "single_choice":
                    body.append(("=" if key in keys else "~") + gift_escape(text))
                else:
                    right = _fraction(len(keys))
                    wrong = -_fraction(max(1, len(options) - len(keys)))
                    body.append(f"~%{right if key in keys else wrong:g}%{gift_escape(text)}")
            answer_block = "{\n\t" + "\n\t".join(body)
        elif kind == "true_false" and isinstance(answer, bool):
            answer_block = "{" + ("TRUE" if answer else "FALSE")
        elif kind == "fill_blank" and item.get("blanks") and len(item["blanks"]) == 1:
            answer_block = "{" + " ".join("=" + gift_escape(a) for a in item["blanks"][0])
        else:
            # Essay-like (and unkeyed) items: a free-text question; the model answer is the general feedback.
            answer_block = "{"
            if isinstance(answer, str) and answer:
                feedback = (answer + ("\n\n" + feedback if feedback else "")).strip()
        if feedback:
            answer_block += f"\n\t####{gift_escape(feedback)}"
        blocks.append("\n".join(lines) + "\n" + head + answer_block + "\n}\n")
    return "\n".join(blocks)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        ET.SubElement(el, "text").text = text
    return el


MOODLE_TYPES = {"single_choice": "multichoice", "multi_choice": "multichoice", "true_false": "truefalse",
                "fill_blank": "shortanswer"}


def export_moodle_xml(items: list[dict[str, Any]]) -> str:
    quiz = ET.Element("quiz")
    for item in items:
        kind, answer = item["type"], item.get("answer")
        mtype = MOODLE_TYPES.get(kind, "essay")
        if kind in ("single_choice", "multi_choice", "true_false") and answer in (None, []):
            mtype = "essay"
        if kind == "fill_blank" and not item.get("blanks"):
            mtype = "essay"
        q = ET.SubElement(quiz, "question", {"type": mtype})
        q.append(ET.Comment(" crm-meta " + _meta(item).replace("--", "\\u002d\\u002d") + " "))
        _sub(q, "name", item["id"])
        _sub(q, "questiontext", item["stem"], format="markdown")
        feedback = item.get("explanation") or ""
        if mtype == "essay" and isinstance(answer, str) and answer:
            _sub(q, "graderinfo", answer, format="markdown")
        _sub(q, "generalfeedback", feedback, format="markdown")
        ET.SubElement(q, "idnumber").text = item["id"]
        if mtype == "multichoice":
            keys = set(answer or [])
            ET.SubElement(q, "single").text = "true" if kind == "single_choice" else "false"
            ET.SubElement(q, "shuffleanswers").text = "true"
            ET.SubElement(q, "answernumbering").text = "ABCD"
            options = item.get("options") or {}
            for key, text in options.items():
                if kind == "single_choice":
                    frac: float = 100 if key in keys else 0
                else:
                    frac = _fraction(len(keys)) if key in keys else -_fraction(max(1, len(options) - len(keys)))
                _sub(q, "answer", text, fraction=f"{frac:g}", format="html")
        elif mtype == "truefalse":
            _sub(q, "answer", "true", fraction="100" if answer else "0")
            _sub(q, "answer", "false", fraction="0" if answer else "100")
        elif mtype == "shortanswer":
            ET.SubElement(q, "usecase").text = "0"
            for alt in item["blanks"][0] if len(item["blanks"]) == 1 else [item.get("answer") or ""]:
                _sub(q, "answer", alt, fraction="100")
        tags = ET.SubElement(q, "tags")
        for topic in item.get("topics", []):
            _sub(tags, "tag", topic)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


# ---------------------------------------------------------------- import

@dataclass
class ParseResult:
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "第 N 行: reason" / "第 N 个 <question>: reason"
    locations: list[str] = field(default_factory=list)  # where each parsed item came from


def parse_json(text: str) -> ParseResult:
    result = ParseResult()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.append(f"第 {exc.lineno} 行: JSON 无法解析: {exc.msg}")
        return result
    except RecursionError:
        result.errors.append("第 1 行: JSON 嵌套过深,无法导入")
        return result
    raw_items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(raw_items, list):
        result.errors.append("第 1 行: 顶层必须是含 items 列表的对象")
        return result
    _collect(raw_items, result, "对象", options_as_list=True)
    return result


def _collect(raw_items: list[Any], result: ParseResult, mapping_word: str, options_as_list: bool = False) -> None:
    """Add each raw item to the result, or an error naming its position (JSON gives options as a {key, text} list)."""
    for n, raw in enumerate(raw_items, 1):
        if not isinstance(raw, dict):
            result.errors.append(f"第 {n} 个题目: 不是{mapping_word}")
            continue
        item = dict(raw)
        options = item.get("options")
        if options_as_list and isinstance(options, list):
            try:
                item["options"] = {o["key"]: o["text"] for o in options} or None
            except (KeyError, TypeError):
                result.errors.append(f"第 {n} 个题目 ({item.get('id', '?')}): options 必须是 {{key, text}} 列表")
                continue
        result.items.append(item)
        result.locations.append(f"第 {n} 个题目")


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
        result.errors.append(f"第 {mark.line + 1 if mark else '?'} 行: YAML 无法解析: {getattr(exc, 'problem', exc)}")
        return result
    raw_items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(raw_items, list):
        result.errors.append("第 1 行: 顶层必须是题目列表或含 items 列表的映射")
        return result
    _collect(raw_items, result, "映射")
    return result


def _gift_unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _split_unescaped(text: str, chars: str) -> list[tuple[str, str]]:
    """Split GIFT answer text at unescaped markers, returning (marker, chunk) pairs."""
    parts: list[tuple[str, str]] = []
    marker, buf, i = "", [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i:i + 2])
            i += 2
            continue
        if text.startswith("####", i):
            parts.append((marker, "".join(buf)))
            marker, buf = "####", []
            i += 4
            continue
        if ch in chars:
            parts.append((marker, "".join(buf)))
            marker, buf = ch, []
        else:
            buf.append(ch)
        i += 1
    parts.append((marker, "".join(buf)))
    return [(m, c) for m, c in parts if m or c.strip()]


_GIFT_Q = re.compile(r"^::(?P<title>(?:\\.|[^:])*)::(?:\[(?P<fmt>\w+)\])?(?P<stem>(?:\\.|[^{])*)\{(?P<body>(?:\\.|[^}])*)\}",
                     re.DOTALL)


def parse_gift(text: str) -> ParseResult:
    result = ParseResult()
    lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    blocks: list[tuple[int, list[str]]] = []
    start, current = 0, []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            if current:
                blocks.append((start, current))
            current = []
            continue
        if not current:
            start = n
        current.append(line)
    if current:
        blocks.append((start, current))
    for line_no, block in blocks:
        meta: dict[str, Any] = {}
        tags: list[str] = []
        item_id = None
        body_lines = []
        for line in block:
            stripped = line.strip()
            if stripped.startswith("//"):
                comment = stripped[2:].strip()
                if comment.startswith("crm-meta "):
                    try:
                        meta = json.loads(comment[len("crm-meta "):])
                    except json.JSONDecodeError:
                        result.errors.append(f"第 {line_no} 行: crm-meta 注释不是有效的 JSON")
                id_match = re.search(r"\[id:([^\]]+)\]", comment)
                if id_match:
                    item_id = id_match.group(1)
                tags += re.findall(r"\[tag:([^\]]+)\]", comment)
            else:
                body_lines.append(line)
        if not body_lines:
            continue
        source = "\n".join(body_lines).strip()
        m = _GIFT_Q.match(source)
        if not m:
            result.errors.append(f"第 {line_no} 行: 无法识别的 GIFT 题目(需要 ::标题:: 题干 {{答案}})")
            continue
        title = _gift_unescape(m.group("title")).strip()
        stem = _gift_unescape(m.group("stem")).strip()
        body = m.group("body").strip()
        item: dict[str, Any] = {"id": item_id or title, "stem": stem, "topics": tags}
        chunks = _split_unescaped(body, "=~")
        feedback = next((_gift_unescape(c).strip() for mk, c in chunks if mk == "####"), "")
        answers = [(mk, c) for mk, c in chunks if mk in ("=", "~")]
        upper = body.split("####")[0].strip().upper()
        if upper in ("T", "TRUE", "F", "FALSE"):
            item["type"] = "true_false"
            item["answer"] = upper in ("T", "TRUE")
        elif answers and all(mk == "=" for mk, _ in answers):
            item["type"] = "fill_blank"
            item["blanks"] = [[_gift_unescape(c).strip() for _, c in answers]]
            item["answer"] = item["blanks"][0][0]
        elif answers:
            options, keys = {}, []
            weighted = any(c.lstrip().startswith("%") for _, c in answers)
            for n, (mk, chunk) in enumerate(answers):
                key = chr(ord("A") + n)
                chunk = chunk.strip()
                weight = None
                wm = re.match(r"%(-?[\d.]+)%", chunk)
                if wm:
                    weight = float(wm.group(1))
                    chunk = chunk[wm.end():]
                options[key] = _gift_unescape(chunk).strip()
                if mk == "=" or (weight is not None and weight > 0):
                    keys.append(key)
            item["type"] = "multi_choice" if weighted else "single_choice"
            item["options"] = options
            item["answer"] = keys
        else:
            item["type"] = "essay"
            item["answer"] = None
        item["explanation"] = feedback
        body_type = item["type"]  # what the GIFT body itself says, before crm-meta refines it
        for name in META_FIELDS:
            if name in meta:
                item[name] = meta[name]
        if "explanation" not in meta:
            # an essay-like body's feedback carries the model answer; a keyed body's feedback is the explanation
            item["explanation"] = "" if body_type == "essay" and isinstance(item.get("answer"), str) else feedback
        result.items.append(item)
        result.locations.append(f"第 {line_no} 行")
    return result


def _fraction_value(raw: str | None) -> float:
    """An answer's fraction attribute as a number (Moodle writes -100..100)."""
    import math

    try:
        value = float((raw or "0").strip() or 0)
    except ValueError:
        raise ValueError(f"answer 的 fraction 必须是数字,而不是 {raw!r}") from None
    if not math.isfinite(value) or not -100 <= value <= 100:
        raise ValueError(f"answer 的 fraction 必须在 -100 到 100 之间,而不是 {raw!r}")
    return value


def parse_moodle_xml(text: str) -> ParseResult:
    result = ParseResult()
    try:
        parser = SafeXMLParser(target=ET.TreeBuilder(insert_comments=True))
        parser.feed(text.lstrip("\ufeff").encode("utf-8"))
        root = parser.close()
    except (ET.ParseError, ValueError) as exc:
        line = exc.position[0] if hasattr(exc, "position") else "?"
        result.errors.append(f"第 {line} 行: XML 无法解析: {exc}")
        return result
    if root.tag != "quiz":
        result.errors.append("根元素必须是 <quiz>")
        return result
    n = 0
    for q in root.findall("question"):
        qtype = q.get("type")
        if qtype == "category":
            continue
        n += 1
        where = f"第 {n} 个 <question>"
        meta: dict[str, Any] = {}
        for child in q:
            if child.tag is ET.Comment and (child.text or "").strip().startswith("crm-meta "):
                try:
                    meta = json.loads((child.text or "").strip()[len("crm-meta "):])
                except json.JSONDecodeError:
                    result.errors.append(f"{where}: crm-meta 注释不是有效的 JSON")
        name = (q.findtext("name/text") or "").strip()
        idnumber = (q.findtext("idnumber") or "").strip()
        stem = (q.findtext("questiontext/text") or "").strip()
        item: dict[str, Any] = {"id": idnumber or name, "stem": stem,
                                "explanation": (q.findtext("generalfeedback/text") or "").strip(),
                                "topics": [t.findtext("text") or "" for t in q.findall("tags/tag")]}
        try:
            answers = [(a.findtext("text") or "", _fraction_value(a.get("fraction"))) for a in q.findall("answer")]
        except ValueError as exc:
            result.errors.append(f"{where} ({item['id']}): {exc}")
            continue
        if qtype == "multichoice":
            single = (q.findtext("single") or "true").strip() == "true"
            item["type"] = "single_choice" if single else "multi_choice"
            item["options"] = {chr(ord("A") + i): t.strip() for i, (t, _) in enumerate(answers)}
            item["answer"] = [chr(ord("A") + i) for i, (_, f) in enumerate(answers) if f > 0]
        elif qtype == "truefalse":
            right = [t.strip().lower() for t, f in answers if f > 0]
            item["type"] = "true_false"
            item["answer"] = right == ["true"]
        elif qtype == "shortanswer":
            item["type"] = "fill_blank"
            item["blanks"] = [[t.strip() for t, f in answers if f > 0]]
            item["answer"] = item["blanks"][0][0] if item["blanks"][0] else ""
        elif qtype == "essay":
            item["type"] = "essay"
            item["answer"] = (q.findtext("graderinfo/text") or "").strip() or None
        else:
            result.errors.append(f"{where} ({item['id']}): 不支持的题型 {qtype!r}")
            continue
        for field_name in META_FIELDS:
            if field_name in meta:
                item[field_name] = meta[field_name]
        result.items.append(item)
        result.locations.append(where)
    return result


PARSERS = {"json": parse_json, "gift": parse_gift, "moodle-xml": parse_moodle_xml, "yaml": parse_yaml}
EXPORTERS = {"json": export_json, "gift": export_gift, "moodle-xml": export_moodle_xml}
TYPE_NAMES = ITEM_TYPES
