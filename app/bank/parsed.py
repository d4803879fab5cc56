"""What a reader of GIFT, Moodle XML, JSON or YAML returns, and the Moodle answer rules the readers share.

A reader is Flask-free: it turns a file into entries (one per question, each an item dict in the exchange
contract of docs/exchange.md plus where it came from, its title and warnings), questions it skipped with the
reason, and the file's own errors. Topics, ids and provenance are filled in later by the import planner.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

META_FIELDS = ("type", "stem", "options", "key_source", "options_source", "explanation", "explanation_source",
               "correction", "printed_key", "parts", "blanks", "key_points", "notes", "source_text", "sources",
               "topics", "answer", "author", "references", "tags")
# Moodle accepts only these fractions (percent) for an answer; anything else it refuses on import.
MOODLE_FRACTIONS = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667,
                    14.28571, 12.5, 11.11111, 10, 5, 0)
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
               "webp": "image/webp"}
MEDIA_PREFIX = "/media/"


@dataclass
class Attachment:
    """A file carried inside an upload (a Moodle XML ``<file>``), served by the app once imported."""

    name: str
    mimetype: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def url(self) -> str:
        return f"{MEDIA_PREFIX}{self.sha256}/{self.name}"


@dataclass
class Entry:
    data: dict[str, Any]
    where: str  # 第 N 行 (GIFT, Moodle XML) / 第 N 个题目 (JSON, YAML)
    line: int
    title: str  # the question's name, or its first words
    warnings: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # tags and the category: topics when they name one
    feedback: list[str] = field(default_factory=list)  # per-answer feedback, for the dry run
    weights: dict[str, float] = field(default_factory=dict)  # option key -> fraction (percent) in the file
    files: list[Attachment] = field(default_factory=list)
    native: bool = False  # written by this site's own export (carries its id and crm-meta)


@dataclass
class Skipped:
    line: int
    where: str
    title: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "title": self.title, "reason": self.reason}


@dataclass
class ParseResult:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "第 N 行:reason": the parts that could not be read at all
    warnings: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[dict[str, Any]]:
        return [e.data for e in self.entries]

    @property
    def locations(self) -> list[str]:
        return [e.where for e in self.entries]


def first_words(text: str, limit: int = 30) -> str:
    """A question's default name: its text without markup, shortened (Moodle names untitled questions so)."""
    plain = re.sub(r"<[^>]+>", " ", text)
    plain = re.sub(r"[\s*`#>]+", " ", plain).strip()
    return plain if len(plain) <= limit else plain[:limit].rstrip() + "…"


def is_moodle_fraction(percent: float) -> bool:
    return any(abs(abs(percent) - allowed) < 0.001 for allowed in MOODLE_FRACTIONS)


def nearest_fraction(percent: float) -> float:
    """The Moodle fraction closest to a wanted percentage (sign kept)."""
    best = min(MOODLE_FRACTIONS, key=lambda f: abs(f - abs(percent)))
    return best if percent >= 0 else -best


def _fmt(percent: float) -> str:
    return f"{percent:g}%"


@dataclass
class Answer:
    text: str
    fraction: float  # percent, as in the file
    feedback: str = ""


def option_key(n: int) -> str:
    return chr(ord("A") + n)


def choice_question(entry: Entry, answers: list[Answer], single: bool) -> str | None:
    """Fill ``entry.data`` from Moodle multichoice answers; return a reason to skip it instead, or None."""
    if len(answers) < 2:
        return "选择题至少需要两个选项"
    options = {option_key(n): a.text for n, a in enumerate(answers)}
    entry.weights = {option_key(n): a.fraction for n, a in enumerate(answers)}
    entry.feedback = [f"{option_key(n)}. {a.text}：{a.feedback}" for n, a in enumerate(answers) if a.feedback]
    full = [option_key(n) for n, a in enumerate(answers) if a.fraction >= 99.999]
    positive = [option_key(n) for n, a in enumerate(answers) if a.fraction > 0]
    if single:
        if not full:
            return "单选题没有满分（100%）的选项"
        if len(full) > 1:
            return f"单选题有 {len(full)} 个满分选项（{'、'.join(full)}），本站的单选题只能有一个正确答案"
        partial = [f"{k} {_fmt(entry.weights[k])}" for k in positive if k not in full]
        if partial:
            entry.warnings.append(f"部分得分的选项（{'、'.join(partial)}）按 0 分导入：本站单选题只有一个正确答案")
        entry.data.update(type="single_choice", options=options, answer=full)
    else:
        if not positive:
            return "多选题没有得分的选项"
        total = sum(entry.weights[k] for k in positive)
        if abs(total - 100) > 0.01:
            entry.warnings.append(f"正确选项的分值之和为 {total:g}%，Moodle 要求为 100%，会拒绝这道题")
        weights = "、".join(f"{k} {_fmt(w)}" for k, w in entry.weights.items() if w)
        entry.warnings.append(f"文件中的分值（{weights}）不保留：本站按站点设定的多选题评分规则计分")
        entry.data.update(type="multi_choice", options=options, answer=positive)
    odd = [f"{k} {_fmt(w)}" for k, w in entry.weights.items() if not is_moodle_fraction(w)]
    if odd:
        entry.warnings.append(f"分值 {'、'.join(odd)} 不是 Moodle 允许的分值，Moodle 会拒绝这道题")
    return None


def short_answer_question(entry: Entry, answers: list[Answer]) -> str | None:
    """Fill ``entry.data`` from Moodle shortanswer answers (full-credit ones are accepted)."""
    accepted = [a.text for a in answers if a.fraction >= 99.999 and a.text]
    entry.feedback = [f"{a.text}：{a.feedback}" for a in answers if a.feedback]
    others = [f"{a.text}({_fmt(a.fraction)})" for a in answers if a.fraction < 99.999]
    if not accepted:
        return "填空题没有得满分（100%）的答案"
    if others:
        entry.warnings.append(f"不得满分的答案 {'、'.join(others)} 不作为正确答案导入（本站填空题只有对错）")
    entry.data.update(type="fill_blank", blanks=[accepted], answer=accepted[0])
    return None


def feedback_explanation(general: str, entry: Entry, heading: str = "各选项反馈") -> str:
    """The item's explanation: the general feedback, then the per-answer feedback (which the bank has no field for)."""
    parts = [general.strip()] if general.strip() else []
    if entry.feedback:
        parts.append(f"**{heading}**\n\n" + "\n".join(f"- {line}" for line in entry.feedback))
    return "\n\n".join(parts)


_PLAIN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def to_markdown(text: str, fmt: str) -> str:
    """Text in a Moodle format as the bank's Markdown: HTML passes through the sanitiser, plain text is escaped."""
    if fmt in ("plain", "plain_text"):
        return _PLAIN_SPECIAL.sub(r"\\\1", text)
    return text


def decode_file(name: str, encoded: str) -> tuple[Attachment | None, str | None]:
    """A base64 file from an upload, or the reason it cannot be kept."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in IMAGE_TYPES:
        return None, f"附件 {name} 不是图片（只接受 png、jpg、gif、webp），未导入"
    try:
        data = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return None, f"图片 {name} 的编码无法读取，未导入"
    if not data:
        return None, f"图片 {name} 是空文件，未导入"
    safe = re.sub(r"[^\w.\-]+", "_", name).strip("._") or f"image.{ext}"
    return Attachment(name=safe, mimetype=IMAGE_TYPES[ext], data=data), None


_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1[^>]*>""", re.IGNORECASE | re.DOTALL)
_MD_IMG = re.compile(r"!\[([^\]]*)\]\(\s*([^)\s]+)[^)]*\)")
_DATA_URI = re.compile(r"^data:image/(png|jpe?g|gif|webp);base64,(.*)$", re.IGNORECASE | re.DOTALL)


def carry_images(entry: Entry, text: str) -> str:
    """Keep the images of an HTML text: inline (data:) images become attachments; images the app cannot serve
    (external addresses) are replaced by a visible note and named in a warning, never dropped silently."""

    def replace(m: re.Match[str]) -> str:
        src = m.group(2).strip()
        if src.startswith(MEDIA_PREFIX):
            return m.group(0)
        data = _DATA_URI.match(src)
        if data:
            ext = data.group(1).lower()
            attachment, problem = decode_file(f"image-{len(entry.files) + 1}.{ext}", data.group(2))
            if attachment is not None:
                entry.files.append(attachment)
                return m.group(0).replace(src, attachment.url)
            entry.warnings.append(f"{problem}；该处改为文字说明")
            return "〔图片未导入〕"
        if src.startswith("@@PLUGINFILE@@"):
            return m.group(0)  # the Moodle XML reader resolves these against the question's <file> elements
        entry.warnings.append(f"外部图片 {src[:80]} 不会显示（本站只显示导入时随文件带来的图片），该处改为文字说明")
        return f"〔外部图片未导入：{src[:80]}〕"

    def replace_markdown(m: re.Match[str]) -> str:
        src = m.group(2)
        if src.startswith("/"):
            return m.group(0)
        entry.warnings.append(f"外部图片 {src[:80]} 不会显示（本站只显示导入时随文件带来的图片），该处改为文字说明")
        return f"〔外部图片未导入：{src[:80]}〕"

    return _MD_IMG.sub(replace_markdown, _IMG.sub(replace, text))
