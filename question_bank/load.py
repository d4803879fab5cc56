"""Load and validate the bank files; a file with any error loads nothing."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from question_bank.schema import (
    ALLOWED_FIELDS,
    CHOICE_TYPES,
    EXPLANATION_SOURCES,
    ID_PATTERN,
    ITEM_TYPES,
    KEY_SOURCES,
    KEYED_SOURCES,
    OPTIONS_SOURCES,
    REQUIRE_COMPLETE_CONTENT,
    REQUIRED_FIELDS,
    RUBRIC_LIMITS,
    RUBRIC_TYPES,
)

# CRM_BANK_DIR points the loader at another copy of the bank (e.g. a work-in-progress rubric set to evaluate).
BANK_DIR = Path(os.environ.get("CRM_BANK_DIR") or Path(__file__).resolve().parent)
SEEDS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
_ID_RE = re.compile(ID_PATTERN)
_OPTION_KEY_RE = re.compile(r"^[A-Z]$")


class BankError(Exception):
    """A bank that does not validate; ``problems`` lists every ``file: item: reason``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Bank:
    items: list[dict[str, Any]]
    topics: list[dict[str, str]]
    notes: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)  # file name -> item ids

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {item["id"]: item for item in self.items}


def load_topics(bank_dir: Path = BANK_DIR) -> list[dict[str, str]]:
    import yaml  # (imported when a file is read, not by whoever imports the package: the web app starts without it)

    with open(bank_dir / "topics.yaml", encoding="utf-8") as fh:
        topics: list[dict[str, str]] = yaml.safe_load(fh)
    return topics


def rubric_problems(key_points: Any, *, plain_allowed: bool) -> list[str]:
    """Reasons a ``key_points`` rubric is malformed: 1–10 points {point, expressions (1–12, ≤ 30 字), weight 1–5}.

    Instructor items (s9xx) may list plain strings instead; each is a point whose only expression is its text.
    """
    limits = RUBRIC_LIMITS
    if not isinstance(key_points, list) or not key_points:
        return ["key_points 必须是非空列表"]
    problems: list[str] = []
    if len(key_points) > limits["points"]:
        problems.append(f"key_points 最多 {limits['points']} 个要点,现有 {len(key_points)} 个")
    for n, point in enumerate(key_points, 1):
        where = f"key_points 第 {n} 个要点"
        if isinstance(point, str):
            if not plain_allowed:
                problems.append(f"{where}必须写成 point、expressions、weight 的映射(纯文字要点只用于教师题)")
            elif not point.strip() or len(point) > limits["plain_chars"]:
                problems.append(f"{where}为空或超过 {limits['plain_chars']} 字")
            continue
        if not isinstance(point, dict):
            problems.append(f"{where}必须是映射")
            continue
        unknown = sorted(str(k) for k in point if k not in ("point", "expressions", "weight"))
        if unknown:
            problems.append(f"{where}有未知字段 {', '.join(unknown)}")
        label = point.get("point")
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where}缺少 point(要点名称)")
        elif len(label) > limits["label_chars"]:
            problems.append(f"{where}的 point 超过 {limits['label_chars']} 字")
        expressions = point.get("expressions")
        if not isinstance(expressions, list) or not expressions:
            problems.append(f"{where}缺少 expressions(至少一个说法)")
            expressions = []
        elif len(expressions) > limits["expressions"]:
            problems.append(f"{where}最多 {limits['expressions']} 个说法,现有 {len(expressions)} 个")
        for expression in expressions:
            if not isinstance(expression, str) or not [t for t in expression.split("+") if t.strip()]:
                problems.append(f"{where}的说法 {expression!r} 不是文字")
            elif len(expression) > limits["expression_chars"]:
                problems.append(f"{where}的说法「{expression[:12]}…」超过 {limits['expression_chars']} 字")
            elif any(not t.strip() for t in expression.split("+")):
                problems.append(f"{where}的说法「{expression}」中“+”两边必须都有词")
        weight = point.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= limits["weight"]:
            problems.append(f"{where}的 weight 必须是 1 到 {limits['weight']} 的整数")
    return problems


def _policy_problems(item: dict[str, Any], seed_item: bool, strict: bool) -> list[str]:
    """The key policy (FORMAT.md) and, for seed items, the content every item must carry."""
    problems: list[str] = []
    kind, key_source = item.get("type"), item.get("key_source")
    explanation = str(item.get("explanation") or "").strip()
    if "printed_key" in item and key_source != "corrected":
        problems.append("printed_key 只用于 key_source: corrected 的题目")
    if key_source == "corrected":
        if item.get("printed_key") in (None, "", []):
            problems.append("更正的答案(corrected)必须保留源文档所印答案 printed_key")
        elif _same_key(item.get("printed_key"), item.get("answer")):
            problems.append("printed_key 与 answer 相同,不是更正(应为 source)")
    if key_source in ("derived", "corrected"):
        label = "推导的答案(derived)" if key_source == "derived" else "更正的答案(corrected)"
        if not explanation:
            problems.append(f"{label}必须在 explanation 中引用支持它的源文档段落")
        elif strict and (not re.search(r"「[^」]+」", explanation) or not re.search(r"《[^》]+》|依据", explanation)):
            problems.append(f"{label}的 explanation 必须用「」引用源文档原文并注明出处(如《……》某节)")
    source = item.get("explanation_source")
    if source is not None and source not in EXPLANATION_SOURCES:
        problems.append(f"explanation_source 必须是 {'/'.join(sorted(EXPLANATION_SOURCES))} 之一,而不是 {source!r}")
    if source == "authored" and explanation and not re.search(r"编者|通识|补充", explanation):
        problems.append("explanation_source 为 authored 的解析必须说明哪些内容是编者补充的")
    if seed_item and strict:
        if not explanation:
            problems.append("缺少字段 explanation(每道题都要有解析)")
        if source is None:
            problems.append("缺少字段 explanation_source(seed 或 authored)")
        if kind in RUBRIC_TYPES and key_source in KEYED_SOURCES and not item.get("key_points"):
            problems.append(f"{kind} 有答案时必须有 key_points 评分要点")
    return problems


def _same_key(printed: Any, answer: Any) -> bool:
    if isinstance(printed, list) and isinstance(answer, list):
        return sorted(map(str, printed)) == sorted(map(str, answer))
    return bool(printed == answer)


def _item_problems(item: Any, topic_names: set[str], seed_names: set[str] | None,
                   strict: bool = REQUIRE_COMPLETE_CONTENT) -> list[str]:
    """Return the reasons an item is malformed (empty if it is fine)."""
    if not isinstance(item, dict):
        return ["条目不是映射(mapping)"]
    problems: list[str] = []
    instructor = isinstance(item.get("author"), dict)  # an instructor's own item needs no seed source
    for name in REQUIRED_FIELDS:
        if item.get(name) in (None, "", []) and not (name == "sources" and instructor):
            problems.append(f"缺少字段 {name}")
    problems += _provenance_problems(item)
    for name in item:
        if name not in ALLOWED_FIELDS:
            problems.append(f"未知字段 {name}")
    item_id = item.get("id")
    if isinstance(item_id, str) and not _ID_RE.match(item_id):
        problems.append(f"id 格式不对(应匹配 {ID_PATTERN})")
    kind = item.get("type")
    if kind not in ITEM_TYPES:
        problems.append(f"未知题型 {kind!r}")
    key_source = item.get("key_source")
    if key_source not in KEY_SOURCES:
        problems.append(f"key_source 必须是 {'/'.join(KEY_SOURCES)} 之一,而不是 {key_source!r}")
    answer = item.get("answer")
    keyed = key_source in KEYED_SOURCES
    if kind in CHOICE_TYPES:
        options = item.get("options")
        if not isinstance(options, dict) or len(options) < 2:
            problems.append("选择题至少需要两个选项(options 映射)")
            options = {}
        for key, text in options.items():
            if not isinstance(key, str) or not _OPTION_KEY_RE.match(key):
                problems.append(f"选项键 {key!r} 必须是一个大写字母")
            if not isinstance(text, str) or not text.strip():
                problems.append(f"选项 {key} 的文字为空")
        if item.get("options_source", "source") not in OPTIONS_SOURCES:
            problems.append("options_source 必须是 source 或 authored")
        if keyed:
            if not isinstance(answer, list) or not answer:
                problems.append("选择题的答案必须是选项键的列表")
            else:
                for key in answer:
                    if key not in options:
                        problems.append(f"答案 {key!r} 不在选项中")
                if len(set(answer)) != len(answer):
                    problems.append("答案中有重复的选项键")
                if kind == "single_choice" and len(answer) != 1:
                    problems.append(f"单选题必须恰有一个答案,现有 {len(answer)} 个")
    elif kind == "true_false":
        if keyed and not isinstance(answer, bool):
            problems.append("判断题的答案必须是 true 或 false")
        if item.get("options"):
            problems.append("判断题不应有 options")
    elif kind in ITEM_TYPES:
        if item.get("options"):
            problems.append(f"{kind} 不应有 options")
        if keyed and kind != "case_study" and (not isinstance(answer, str) or not answer.strip()):
            problems.append("有答案来源的题目必须有文字答案")
        if kind == "case_study":
            parts = item.get("parts")
            if not isinstance(parts, list) or not parts:
                problems.append("案例分析题必须有 parts(小题列表)")
            else:
                for n, part in enumerate(parts, 1):
                    if not isinstance(part, dict) or not str(part.get("stem", "")).strip():
                        problems.append(f"第 {n} 个小题缺少 stem")
    if key_source == "none" and answer not in (None, "", []) and kind != "case_study":
        problems.append("key_source 为 none 的题目不应有答案")
    seed_item = isinstance(item_id, str) and item_id[1:2] == "0"  # s0xx: the seed documents; s9xx: the app
    problems += _policy_problems(item, seed_item, strict)
    if item.get("key_points") not in (None, []):
        if kind not in RUBRIC_TYPES and kind != "case_study":
            problems.append(f"{kind} 不应有 key_points")
        else:
            problems += rubric_problems(item.get("key_points"), plain_allowed=not seed_item)
    topics = item.get("topics") or []
    if not isinstance(topics, list):
        problems.append("topics 必须是列表")
        topics = []
    for topic in topics:
        if topic not in topic_names:
            problems.append(f"未知主题 {topic!r}")
    sources = item.get("sources") or []
    if not isinstance(sources, list):
        problems.append("sources 必须是列表")
        sources = []
    for source in sources:
        if not isinstance(source, dict) or not source.get("seed") or not source.get("section"):
            problems.append(f"来源 {source!r} 缺少 seed 或 section")
            continue
        if "number" not in source:
            problems.append(f"来源 {source!r} 缺少 number")
        if seed_names is not None and seed_item and source["seed"] not in seed_names:
            problems.append(f"来源中的种子文件 {source['seed']!r} 不存在")
    notes = item.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        problems.append("notes 必须是字符串列表")
    return problems + _shape_problems(item)


# The size of any one field: the longest in the bank today is under 1,000 characters.
MAX_TEXT = 20_000
MAX_LIST = 100
MAX_ITEM_CHARS = 200_000
TEXT_FIELDS = ("id", "type", "stem", "key_source", "options_source", "explanation", "correction", "source_text",
               "explanation_source")


def _is_text_list(value: Any, limit: int = MAX_LIST) -> bool:
    return isinstance(value, list) and len(value) <= limit and all(
        isinstance(v, str) and len(v) <= MAX_TEXT for v in value)


def _shape_problems(item: dict[str, Any]) -> list[str]:
    """Types and sizes of every field, so no page meets a number where it expects text or a giant list."""
    problems: list[str] = []
    for name in TEXT_FIELDS:
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} 必须是文字,而不是 {type(value).__name__}")
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            problems.append(f"{name} 超过 {MAX_TEXT} 个字符")
    options = item.get("options")
    if isinstance(options, dict) and len(options) > 26:
        problems.append("选项最多 26 个")
    if isinstance(options, dict) and any(isinstance(t, str) and len(t) > MAX_TEXT for t in options.values()):
        problems.append(f"选项文字超过 {MAX_TEXT} 个字符")
    answer = item.get("answer")
    if answer is not None and not isinstance(answer, (str, bool)) and not _is_text_list(answer, 26):
        problems.append("answer 必须是文字、true/false 或选项键列表")
    if isinstance(answer, str) and len(answer) > MAX_TEXT:
        problems.append(f"answer 超过 {MAX_TEXT} 个字符")
    # key_points: rubric_problems() checks their type and size
    blanks = item.get("blanks")
    if blanks is not None and not (isinstance(blanks, list) and len(blanks) <= MAX_LIST
                                   and all(_is_text_list(b) for b in blanks)):
        problems.append("blanks 必须是列表的列表(每空一组可接受的答案文字)")
    parts = item.get("parts")
    if parts is not None and not (isinstance(parts, list) and len(parts) <= MAX_LIST and all(
            isinstance(p, dict) and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in p.values())
            for p in parts)):
        problems.append("parts 必须是小题列表,每个小题的 stem 和 answer 都是文字")
    printed = item.get("printed_key")
    if printed is not None and not isinstance(printed, bool) and not _is_text_list(printed, 26) \
            and not (isinstance(printed, str) and len(printed) <= MAX_TEXT):
        problems.append("printed_key 必须与 answer 同形:文字、true/false 或选项键列表")
    for name in ("topics", "notes"):
        value = item.get(name)
        if isinstance(value, list) and len(value) > MAX_LIST:
            problems.append(f"{name} 最多 {MAX_LIST} 条")
    sources = item.get("sources")
    if isinstance(sources, list) and len(sources) > MAX_LIST:
        problems.append(f"sources 最多 {MAX_LIST} 条")
    if isinstance(sources, list):
        for source in sources:
            if isinstance(source, dict) and any(not isinstance(source.get(k), (str, int)) or isinstance(
                    source.get(k), bool) for k in ("seed", "section") if k in source):
                problems.append("来源的 seed 和 section 必须是文字")
                break
            if isinstance(source, dict) and "number" in source and (
                    not isinstance(source["number"], (str, int)) or isinstance(source["number"], bool)):
                problems.append("来源的 number 必须是数字或文字")
                break
    if len(repr(item)) > MAX_ITEM_CHARS:
        problems.append(f"题目过大(超过 {MAX_ITEM_CHARS} 个字符)")
    return problems


def _provenance_problems(item: dict[str, Any]) -> list[str]:
    """Shape of the instructor-provenance fields: author {name, date}, references and tags (lists of text)."""
    problems = []
    author = item.get("author")
    if author is not None and (not isinstance(author, dict) or not str(author.get("name") or "").strip()):
        problems.append("author 必须是含 name（及可选 date）的映射")
    for name in ("references", "tags"):
        value = item.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            problems.append(f"{name} 必须是字符串列表")
    return problems


def load_file(path: Path, topic_names: set[str], seed_names: set[str] | None,
              strict: bool = REQUIRE_COMPLETE_CONTENT) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse one item file; return its items and its problems as ``file: id: reason`` lines."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else "?"
        return [], [f"{path.name}: {where}: YAML 无法解析: {getattr(exc, 'problem', exc)}"]
    except UnicodeDecodeError:
        return [], [f"{path.name}: 文件不是 UTF-8 编码"]
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [], [f"{path.name}: 顶层必须是含 items 列表的映射"]
    problems = []
    items = []
    for n, item in enumerate(data["items"], 1):
        label = item.get("id", f"第 {n} 条") if isinstance(item, dict) else f"第 {n} 条"
        problems += [f"{path.name}: {label}: {reason}" for reason in _item_problems(item, topic_names, seed_names, strict)]
        items.append(item)
    return items, problems


def item_files(bank_dir: Path = BANK_DIR) -> list[Path]:
    return sorted(bank_dir.glob("s[0-9][0-9][0-9]_*.yaml"))


def load_bank(bank_dir: Path = BANK_DIR, paths: list[Path] | None = None, check_seeds: bool = True,
              strict: bool = REQUIRE_COMPLETE_CONTENT) -> Bank:
    """Load and validate every item file; raise ``BankError`` listing all problems if any.

    ``strict`` also requires what every seed item must carry (explanation, explanation_source, a rubric on keyed
    名词解释/简答/论述); the shape and key-policy rules apply either way.
    """
    topics = load_topics(bank_dir)
    topic_names = {t["name"] for t in topics}
    seed_names = {p.name for p in SEEDS_DIR.glob("*.txt")} if check_seeds and SEEDS_DIR.is_dir() else None
    problems: list[str] = []
    items: list[dict[str, Any]] = []
    files: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for path in paths if paths is not None else item_files(bank_dir):
        file_items, file_problems = load_file(path, topic_names, seed_names, strict)
        problems += file_problems
        files[path.name] = []
        for item in file_items:
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str):
                continue
            if item_id in seen:
                problems.append(f"{path.name}: {item_id}: id 重复(已见于 {seen[item_id]})")
            seen[item_id] = path.name
            files[path.name].append(item_id)
            items.append(item)
    if problems:
        raise BankError(problems)
    return Bank(items=items, topics=topics, notes=load_notes(bank_dir, topic_names), files=files)


def load_notes(bank_dir: Path = BANK_DIR, topic_names: set[str] | None = None) -> list[dict[str, Any]]:
    """Read ``notes/*.md``: YAML front matter (title, topics, sources) then Markdown."""
    import yaml

    notes = []
    problems = []
    for path in sorted((bank_dir / "notes").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        meta: dict[str, Any] = {}
        body = text
        if text.startswith("---\n"):
            head, _, body = text[4:].partition("\n---\n")
            meta = yaml.safe_load(head) or {}
        if not meta.get("title"):
            problems.append(f"notes/{path.name}: 缺少 title")
        for topic in meta.get("topics", []):
            if topic_names is not None and topic not in topic_names:
                problems.append(f"notes/{path.name}: 未知主题 {topic!r}")
        notes.append({"slug": path.stem, "title": meta.get("title", path.stem), "topics": meta.get("topics", []),
                      "sources": meta.get("sources", []), "body": body.strip()})
    if problems:
        raise BankError(problems)
    return notes
