"""Read GIFT as Moodle does (docs.moodle.org "GIFT format"; Moodle's question/format/gift importer).

Questions are separated by blank lines; ``//`` lines are comments (this site's export keeps ``[id:]``, ``[tag:]``
and a ``crm-meta`` JSON comment there); ``$CATEGORY:`` switches the category; ``::title::`` is optional (an
untitled question is named by its first words); ``\\~ \\= \\# \\{ \\} \\: \\n`` are escapes; the answer block
decides the type: empty = essay, ``#`` = numerical, any ``~`` = multiple choice (single answer if an ``=`` is
present, else multiple answers with ``%n%`` weights), ``=`` with ``->`` = matching, ``T``/``F`` = true/false,
otherwise short answer. Text after the closing brace makes it a missing-word question (the blank stands where
the braces were). Types this site does not have are returned as skipped, with the reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.bank.parsed import (
    META_FIELDS,
    Answer,
    Entry,
    ParseResult,
    Skipped,
    carry_images,
    choice_question,
    feedback_explanation,
    first_words,
    short_answer_question,
    to_markdown,
)

# Escaped special characters are swapped for private-use characters while the question is taken apart.
_ESCAPES = {":": "\ue001", "#": "\ue002", "=": "\ue003", "{": "\ue004", "}": "\ue005", "~": "\ue006", "n": "\n"}
_BACKSLASH = "\ue000"
_RESTORE = {v: k for k, v in _ESCAPES.items() if k != "n"} | {_BACKSLASH: "\\"}
_WEIGHT = re.compile(r"^%(-?\d{1,3}(?:\.\d*)?)%")
FORMATS = ("moodle", "html", "plain", "markdown")
BLANK = "_____"


def _pre(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH)
    for ch, mark in _ESCAPES.items():
        text = text.replace("\\" + ch, mark)
    return text


def _post(text: str) -> str:
    for mark, ch in _RESTORE.items():
        text = text.replace(mark, ch)
    return text


def _with_format(text: str, default: str) -> tuple[str, str]:
    """Split a leading ``[format]`` off a piece of text; return (text as the bank's Markdown, format)."""
    text = text.strip()
    fmt = default
    m = re.match(r"^\[(\w+)\]", text)
    if m and m.group(1).lower() in FORMATS:
        fmt = m.group(1).lower()
        text = text[m.end():]
    return to_markdown(_post(text).strip(), fmt), fmt


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """The file's question blocks (separated by blank lines) with the line number each starts on."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n"), 1):
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
    return blocks


def _split_answers(body: str, marks: str) -> list[str]:
    """Split an answer block before each marker character (``~`` and ``=`` for choices), keeping the marker."""
    pieces, buf = [], ""
    for ch in body:
        if ch in marks and buf.strip():
            pieces.append(buf)
            buf = ""
        buf += ch
    if buf.strip():
        pieces.append(buf)
    return [p.strip() for p in pieces]


def _answer(piece: str, default_fraction: float, fmt: str) -> Answer:
    """One answer: ``=`` / ``~`` marker, optional ``%weight%``, text, optional ``#feedback``."""
    fraction = default_fraction
    if piece[:1] == "=":
        piece, fraction = piece[1:], 100.0
    elif piece[:1] == "~":
        piece = piece[1:]
    piece = piece.strip()
    m = _WEIGHT.match(piece)
    if m:
        fraction = float(m.group(1))
        piece = piece[m.end():]
    text, _, feedback = piece.partition("#")
    return Answer(_with_format(text, fmt)[0], fraction, _with_format(feedback, fmt)[0] if feedback else "")


def parse_gift(text: str) -> ParseResult:
    result = ParseResult()
    category: str | None = None
    for line_no, lines in _blocks(text):
        meta: dict[str, Any] = {}
        ids: list[str] = []
        tags: list[str] = []
        body_lines = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("//"):
                comment = stripped[2:].strip()
                if comment.startswith("crm-meta "):
                    try:
                        meta = json.loads(comment[len("crm-meta "):])
                    except json.JSONDecodeError:
                        result.errors.append(f"第 {line_no} 行：crm-meta 注释不是有效的 JSON")
                ids += re.findall(r"\[id:([^\]]+)\]", comment)
                tags += [t.strip() for t in re.findall(r"\[tag:([^\]]+)\]", comment)]
            else:
                body_lines.append(line)
        source = _pre("\n".join(body_lines).strip())
        if not source:
            continue
        if source.startswith("$CATEGORY:"):
            category = _post(source[len("$CATEGORY:"):]).strip()
            continue
        title = ""
        if source.startswith("::") and "::" in source[2:]:
            raw_title, _, source = source[2:].partition("::")
            title = _post(raw_title).strip()
            source = source.strip()
        where = f"第 {line_no} 行"
        start, finish = source.find("{"), source.find("}")
        if start == -1 and finish == -1:
            result.skipped.append(Skipped(line_no, where, title or first_words(_post(source)),
                                          "说明文字（没有答案的段落），不是题目"))
            continue
        if start == -1 or finish == -1 or finish < start:
            # one malformed question does not make the rest of the file unreadable: it is listed, not imported
            result.skipped.append(Skipped(line_no, where, title or first_words(_post(source)),
                                          "花括号不成对，无法读取这道题（请检查 { 和 } 是否配对，或用 \\{ \\} 转义）"))
            continue
        answer_text = source[start + 1:finish].strip()
        missing_word = not source.endswith("}")
        stem_raw = source[:start] + (BLANK if missing_word else "") + source[finish + 1:]
        stem, fmt = _with_format(stem_raw, "moodle")
        name = title or first_words(stem)
        if "{" in source[finish + 1:]:
            result.skipped.append(Skipped(line_no, where, name, "一道题中有多个答案块（完形填空），本站没有这种题型"))
            continue
        general = ""
        if "####" in answer_text:
            answer_text, _, general = answer_text.rpartition("####")
            answer_text = answer_text.strip()
        entry = Entry(data={}, where=where, line=line_no, title=name, labels=tags + ([category] if category else []),
                      native=bool(ids or meta))
        entry.data["stem"] = carry_images(entry, stem)
        reason = _read_answers(entry, answer_text, fmt)
        if reason:
            result.skipped.append(Skipped(line_no, where, name, reason))
            continue
        entry.data["explanation"] = feedback_explanation(_with_format(general, fmt)[0], entry,
                                                         "答题反馈" if entry.data["type"] == "true_false" else "各选项反馈")
        if ids:
            entry.data["id"] = ids[0].strip()
        body_type = entry.data["type"]
        for name_ in META_FIELDS:
            if name_ in meta:
                entry.data[name_] = meta[name_]
        if "explanation" not in meta and body_type == "essay" and meta.get("answer"):
            entry.data["explanation"] = _with_format(general, fmt)[0]
        result.entries.append(entry)
    return result


def _read_answers(entry: Entry, answer_text: str, fmt: str) -> str | None:
    """Decide the question type from the answer block and fill the entry; return a reason to skip, or None."""
    data = entry.data
    if answer_text == "":
        data.update(type="essay", answer=None)
        return None
    if answer_text.startswith("#"):
        return "数值题（numerical），本站没有这种题型"
    if "~" in answer_text:
        answers = [_answer(p, 0.0, fmt) for p in _split_answers(answer_text, "~=")]
        return choice_question(entry, answers, single="=" in answer_text)
    if "=" in answer_text and "->" in answer_text:
        return "匹配题（matching），本站没有这种题型"
    check = answer_text.split("#", 1)[0].strip()
    if check in ("T", "TRUE", "F", "FALSE"):
        bits = answer_text.split("#", 2)
        truth = check in ("T", "TRUE")
        wrong = _with_format(bits[1], fmt)[0] if len(bits) > 1 else ""
        right = _with_format(bits[2], fmt)[0] if len(bits) > 2 else ""
        entry.feedback = [f"{label}：{text}" for label, text in (("答对时", right), ("答错时", wrong)) if text]
        data.update(type="true_false", answer=truth)
        return None
    answers = [_answer(p, 100.0, fmt) for p in _split_answers(answer_text, "=")]
    return short_answer_question(entry, answers)
