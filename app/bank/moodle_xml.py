"""Read Moodle XML (docs.moodle.org "Moodle XML format") into entries of the exchange contract.

``<question type="category">`` sets the category of the questions after it; multichoice, truefalse,
shortanswer and essay become bank items; description, matching, numerical, cloze and the rest are skipped with
the reason. Fractions are checked as Moodle checks them (a fraction Moodle does not allow skips the question).
Images embedded as ``@@PLUGINFILE@@`` with a base64 ``<file>`` are carried in as attachments; anything that
cannot be kept is named in a warning, never dropped silently. This site's crm-meta comment restores the rest.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405  (element types only; parsing goes through defusedxml)
from typing import Any

from defusedxml.ElementTree import XMLParser as SafeXMLParser

from app.bank.parsed import (
    META_FIELDS,
    Answer,
    Entry,
    ParseResult,
    Skipped,
    carry_images,
    choice_question,
    decode_file,
    feedback_explanation,
    first_words,
    is_moodle_fraction,
    short_answer_question,
    to_markdown,
)

SKIPPED_TYPES = {
    "description": "说明文字（description），不是题目",
    "matching": "匹配题（matching），本站没有这种题型",
    "numerical": "数值题（numerical），本站没有这种题型",
    "cloze": "完形填空（cloze），本站没有这种题型",
    "multianswer": "完形填空（cloze），本站没有这种题型",
    "calculated": "计算题（calculated），本站没有这种题型",
    "calculatedsimple": "计算题（calculated），本站没有这种题型",
    "calculatedmulti": "计算题（calculated），本站没有这种题型",
    "ddwtos": "拖放题，本站没有这种题型",
    "gapselect": "下拉选词题，本站没有这种题型",
    "randomsamatch": "随机匹配题，本站没有这种题型",
    "random": "随机题（random），本站没有这种题型",
}
_PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([^\"'\s)<>]+)")


def _text(parent: ET.Element | None, entry: Entry | None = None) -> str:
    """The ``<text>`` of an element in the bank's Markdown, with its embedded files carried in (or warned about)."""
    if parent is None:
        return ""
    raw = (parent.findtext("text") or "").strip()
    fmt = parent.get("format", "html")
    if entry is not None:
        files = {f.get("name", ""): f.text or "" for f in parent.findall("file")}
        for name in dict.fromkeys(_PLUGINFILE.findall(raw)):
            decoded = _unquote(name)
            attachment, problem = decode_file(decoded, files[decoded]) if decoded in files else (
                None, f"图片 {decoded} 在文件中没有内容（缺少 <file>），未导入")
            if attachment is None:
                entry.warnings.append(f"{problem}；题干中该处改为文字说明")
                raw = re.sub(r"<img[^>]*@@PLUGINFILE@@/" + re.escape(name) + r"[^>]*>", f"〔图片 {decoded} 未导入〕", raw)
                raw = raw.replace(f"@@PLUGINFILE@@/{name}", "")
            else:
                entry.files.append(attachment)
                raw = raw.replace(f"@@PLUGINFILE@@/{name}", attachment.url)
        for name in files:
            if name not in {_unquote(n) for n in _PLUGINFILE.findall(parent.findtext("text") or "")}:
                entry.warnings.append(f"附件 {name} 没有在文字中使用，未导入")
        raw = carry_images(entry, raw)
    return to_markdown(raw, fmt)


def _unquote(name: str) -> str:
    from urllib.parse import unquote

    return unquote(name)


def _meta(q: ET.Element, result: ParseResult, where: str) -> dict[str, Any]:
    for child in q:
        if child.tag is ET.Comment and (child.text or "").strip().startswith("crm-meta "):
            try:
                meta: dict[str, Any] = json.loads((child.text or "").strip()[len("crm-meta "):])
                return meta
            except json.JSONDecodeError:
                result.errors.append(f"{where}：crm-meta 注释不是有效的 JSON")
    return {}


def parse_moodle_xml(text: str) -> ParseResult:
    result = ParseResult()
    try:
        parser = SafeXMLParser(target=ET.TreeBuilder(insert_comments=True))
        parser.feed(text.lstrip("\ufeff").encode("utf-8"))
        root = parser.close()
    except (ET.ParseError, ValueError) as exc:
        line = exc.position[0] if hasattr(exc, "position") else "?"
        result.errors.append(f"第 {line} 行：XML 无法解析：{exc}")
        return result
    if root.tag != "quiz":
        result.errors.append("根元素必须是 <quiz>")
        return result
    category: str | None = None
    lines = _question_lines(text)
    for index, q in enumerate(root.findall("question")):
        qtype = q.get("type") or ""
        if qtype == "category":
            category = (q.findtext("category/text") or "").strip() or None
            continue
        n = lines[index] if index < len(lines) else index + 1
        where = f"第 {n} 行"
        name = (q.findtext("name/text") or "").strip()
        if qtype in SKIPPED_TYPES or qtype not in ("multichoice", "truefalse", "shortanswer", "essay"):
            reason = SKIPPED_TYPES.get(qtype, f"题型 {qtype or '（未注明）'} 本站没有")
            result.skipped.append(Skipped(n, where, name or first_words(q.findtext("questiontext/text") or ""), reason))
            continue
        meta = _meta(q, result, where)
        tags = [(t.findtext("text") or "").strip() for t in q.findall("tags/tag")]
        entry = Entry(data={}, where=where, line=n, title="", labels=[t for t in tags if t] + ([category] if category else []),
                      native=bool(meta))
        entry.data["stem"] = _text(q.find("questiontext"), entry)
        entry.title = name or first_words(entry.data["stem"])
        idnumber = (q.findtext("idnumber") or "").strip()
        if meta and idnumber:
            entry.data["id"] = idnumber
        answers = [Answer(_text(a), _fraction(a.get("fraction")), _text(a.find("feedback")))
                   for a in q.findall("answer")]
        bad = [a for a in q.findall("answer") if not is_moodle_fraction(_fraction(a.get("fraction")))]
        if bad and qtype in ("multichoice", "shortanswer"):
            values = "、".join(str(a.get("fraction")) for a in bad)
            result.skipped.append(Skipped(n, where, entry.title,
                                          f"分值 {values} 不是 Moodle 允许的分值（如 100、50、33.33333、25），Moodle 会拒绝这道题"))
            continue
        reason = _read(q, qtype, entry, answers)
        if reason:
            result.skipped.append(Skipped(n, where, entry.title, reason))
            continue
        entry.data["explanation"] = feedback_explanation(_text(q.find("generalfeedback"), entry), entry,
                                                         "答题反馈" if qtype == "truefalse" else "各选项反馈")
        for field_name in META_FIELDS:
            if field_name in meta:
                entry.data[field_name] = meta[field_name]
        result.entries.append(entry)
    return result


def _question_lines(text: str) -> list[int]:
    """The line of each ``<question`` start tag (ElementTree keeps no line numbers; messages name lines)."""
    body = re.sub(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    return [body.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<question\b", body)]


def _fraction(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def _read(q: ET.Element, qtype: str, entry: Entry, answers: list[Answer]) -> str | None:
    if qtype == "multichoice":
        single = (q.findtext("single") or "true").strip().lower() in ("true", "1")
        return choice_question(entry, answers, single)
    if qtype == "truefalse":
        right = [a for a in answers if a.fraction > 0]
        if len(right) != 1 or right[0].text.strip().lower() not in ("true", "false"):
            return "判断题需要恰好一个得分的答案（true 或 false）"
        truth = right[0].text.strip().lower() == "true"
        wrong = next((a.feedback for a in answers if a.fraction <= 0), "")
        entry.feedback = [f"{label}：{text}" for label, text in (("答对时", right[0].feedback), ("答错时", wrong)) if text]
        entry.data.update(type="true_false", answer=truth)
        return None
    if qtype == "shortanswer":
        return short_answer_question(entry, answers)
    model = _text(q.find("graderinfo"), entry)
    entry.data.update(type="essay", answer=model or None)
    return None
