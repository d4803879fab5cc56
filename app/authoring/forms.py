"""Forms of the authoring pages. An item form turns into an item dict (the bank's export contract) and back."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from app.authoring.services import OPTION_KEYS
from app.bank.exchange import FORMATS
from app.formutil import MultiCheckboxField, choices, strip
from app.grading import rubric_labels
from app.models.users import ROLES
from app.zhtext import zh_punct
from question_bank.schema import CHOICE_TYPES, ITEM_TYPES, KEY_SOURCES

MAX_PARTS = 12
OPTIONS_SOURCES = {"source": "选项来自源文档", "authored": "选项为本题库编写（干扰项）"}
TRUE_FALSE = {"": "请选择", "true": "正确（√）", "false": "错误（×）"}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class PartForm(Form):
    stem = TextAreaField("小题题干", filters=[strip])
    answer = TextAreaField("答题提示（可空）", filters=[strip])


class ItemForm(FlaskForm):
    type = SelectField("题型", choices=choices(ITEM_TYPES.items()), default="single_choice", validate_choice=False)
    stem = TextAreaField("题干（Markdown）", filters=[strip],
                         validators=[DataRequired("请填写题干"), Length(max=20000, message="题干太长")])
    answer_keys = MultiCheckboxField("正确答案", choices=choices((k, k) for k in OPTION_KEYS), validate_choice=False)
    answer_tf = SelectField("正确答案", choices=choices(TRUE_FALSE.items()), validate_choice=False)
    answer_text = TextAreaField("参考答案（Markdown）", filters=[strip])
    key_source = SelectField("答案来源", choices=choices((k, zh_punct(v)) for k, v in KEY_SOURCES.items()), default="source", validate_choice=False)
    options_source = SelectField("选项来源", choices=choices(OPTIONS_SOURCES.items()), default="source",
                                 validate_choice=False)
    explanation = TextAreaField("解析（Markdown；推导或更正的答案须用「」引用资料原文并注明出处）", filters=[strip])
    correction = TextAreaField("改正（判断题：改正后的说法或分析）", filters=[strip])
    key_points = TextAreaField("得分要点（名词解释、简答、论述、案例：每行一个；不填则从参考答案自动拆分）", filters=[strip])
    blanks = TextAreaField("各空可接受的答案（每行一个空，同一空的多个答案用 | 分隔）", filters=[strip])
    parts = FieldList(FormField(PartForm), label="案例小题", min_entries=0, max_entries=MAX_PARTS)
    topics = MultiCheckboxField("专题（可多选）", choices=[], validate_choice=False)
    sources = TextAreaField("源文档出处（每行一个：资料文件 | 章节 | 题号；你自己出的题不填）", filters=[strip])
    references = TextAreaField("参考资料（可选，每行一条：讲义、教材页码等）", filters=[strip],
                               validators=[Length(max=2000, message="参考资料太长")])
    notes = TextAreaField("编辑说明（每行一条：改了什么、为什么）", filters=[strip])
    preview = SubmitField("预览")
    save = SubmitField("保存")

    def __init__(self, *args: Any, topic_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topics.choices = choices((name, name) for name in topic_names or [])
        self.form_errors_extra: list[str] = []
        self.options_errors: list[str] = []
        self.parts_errors: list[str] = []
        self.source_problems: list[str] = []
        filled = sum(1 for p in self.parts if p.stem.data)
        while len(self.parts) < min(MAX_PARTS, max(3, filled + 1)):
            self.parts.append_entry()

    # ---- to and from the item dict

    def option_fields(self):
        return [getattr(self, f"option_{k}") for k in OPTION_KEYS]

    def fill(self, data: dict[str, Any]) -> None:
        """Show an item dict in the form (for GET)."""
        self.type.data = data.get("type")
        self.stem.data = data.get("stem") or ""
        for key, field in zip(OPTION_KEYS, self.option_fields(), strict=True):
            field.data = (data.get("options") or {}).get(key, "")
        answer = data.get("answer")
        self.answer_keys.data = list(answer) if isinstance(answer, list) else []
        self.answer_tf.data = {True: "true", False: "false"}.get(answer, "") if isinstance(answer, bool) else ""
        self.answer_text.data = answer if isinstance(answer, str) else ""
        self.key_source.data = data.get("key_source") or "source"
        self.options_source.data = data.get("options_source") or "source"
        self.explanation.data = data.get("explanation") or ""
        self.correction.data = data.get("correction") or ""
        self.key_points.data = "\n".join(rubric_labels(data.get("key_points")))
        self.blanks.data = "\n".join(" | ".join(alts) for alts in data.get("blanks") or [])
        parts = data.get("parts") or []
        while len(self.parts):
            self.parts.pop_entry()
        for part in parts:
            self.parts.append_entry({"stem": part.get("stem", ""), "answer": part.get("answer", "") or ""})
        while len(self.parts) < min(MAX_PARTS, max(3, len(parts) + 1)):
            self.parts.append_entry()
        self.topics.data = list(data.get("topics") or [])
        self.sources.data = "\n".join(f"{s['seed']} | {s['section']} | {s.get('number', '')}"
                                      for s in data.get("sources") or [])
        self.notes.data = "\n".join(data.get("notes") or [])
        self.references.data = "\n".join(data.get("references") or [])

    def parsed_sources(self) -> list[dict[str, Any]]:
        out = []
        self.source_problems = []
        for n, line in enumerate(_lines(self.sources.data), 1):
            pieces = [p.strip() for p in line.split("|")]
            if len(pieces) != 3 or not pieces[0] or not pieces[1]:
                self.source_problems.append(f"第 {n} 行格式应为：资料文件 | 章节 | 题号")
                continue
            number: int | str = int(pieces[2]) if pieces[2].isdigit() else pieces[2]
            out.append({"seed": pieces[0], "section": pieces[1], "number": number})
        return out

    def item_dict(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The item the form describes, on top of ``base`` (fields the form does not edit, e.g. source_text)."""
        kind = self.type.data
        # explanation_source and printed_key have no control of their own: an edit keeps them (printed_key only while
        # the key stays corrected)
        data: dict[str, Any] = {k: v for k, v in (base or {}).items()
                                if k in ("id", "source_text", "author", "tags", "explanation_source", "printed_key")}
        data.update(type=kind, stem=self.stem.data or "", key_source=self.key_source.data,
                    explanation=self.explanation.data or "", topics=list(self.topics.data or []),
                    sources=self.parsed_sources(), notes=_lines(self.notes.data) or None,
                    references=_lines(self.references.data) or None)
        if kind in CHOICE_TYPES:
            data["options"] = {k: f.data for k, f in zip(OPTION_KEYS, self.option_fields(), strict=True) if f.data}
            data["options_source"] = self.options_source.data if self.options_source.data in OPTIONS_SOURCES else "source"
            data["answer"] = sorted(set(self.answer_keys.data or []))
        elif kind == "true_false":
            data["answer"] = {"true": True, "false": False}.get(self.answer_tf.data or "")
            data["correction"] = self.correction.data or ""
        else:
            data["answer"] = self.answer_text.data or None
        if kind in ("term_definition", "short_answer", "essay", "case_study"):
            lines = _lines(self.key_points.data)
            kept = (base or {}).get("key_points")
            # the form shows a curated rubric by its point labels only: unchanged labels keep the whole rubric
            data["key_points"] = kept if kept and lines == rubric_labels(kept) else (lines or None)
        if data["key_source"] != "corrected":
            data.pop("printed_key", None)
        if kind == "fill_blank":
            blanks = [[alt.strip() for alt in line.split("|") if alt.strip()] for line in _lines(self.blanks.data)]
            data["blanks"] = [b for b in blanks if b] or None
        if kind == "case_study":
            data["parts"] = [{"stem": p.stem.data, "answer": p.answer.data or ""} for p in self.parts if p.stem.data] or None
        return data

    def option_gap(self) -> str | None:
        """Options must be filled from A without holes (keys are letters students read aloud)."""
        values = [f.data for f in self.option_fields()]
        last = max((i for i, v in enumerate(values) if v), default=-1)
        for i in range(last):
            if not values[i]:
                return f"选项 {OPTION_KEYS[i]} 为空而后面的选项有内容：请从 A 开始连续填写选项"
        return None

    def attach(self, problems: list[tuple[str, str]]) -> None:
        """Put (field, reason) problems next to the fields they concern."""
        targets = {"type": self.type.errors, "key_source": self.key_source.errors, "stem": self.stem.errors, "explanation": self.explanation.errors, "topics": self.topics.errors,
                   "sources": self.sources.errors, "options": self.options_errors, "parts": self.parts_errors}
        for name, reason in problems:
            if name == "answer":
                kind = self.type.data
                field = self.answer_keys if kind in CHOICE_TYPES else self.answer_tf if kind == "true_false" \
                    else self.answer_text
                field.errors = [*field.errors, reason]
            elif name in targets:
                if reason not in targets[name]:
                    targets[name].append(reason)
            else:
                self.form_errors_extra.append(reason)

    @property
    def has_problems(self) -> bool:
        return bool(self.errors or self.form_errors_extra or self.options_errors or self.parts_errors)


for _key in OPTION_KEYS:
    setattr(ItemForm, f"option_{_key}", StringField(f"选项 {_key}", filters=[strip],
                                                    validators=[Length(max=2000, message="选项太长")]))


class KeyForm(FlaskForm):
    """An instructor's key for an unkeyed or flagged item: the answer and the justification."""

    answer_keys = MultiCheckboxField("正确答案", choices=choices((k, k) for k in OPTION_KEYS), validate_choice=False)
    answer_tf = SelectField("正确答案", choices=choices(TRUE_FALSE.items()), validate_choice=False)
    answer_text = TextAreaField("参考答案（Markdown）", filters=[strip])
    explanation = TextAreaField("依据（必填：引用支持这个答案的资料原文并注明出处，或说明核对结论）", filters=[strip],
                                validators=[DataRequired("请写明答案的依据：引用资料原文并注明出处")])
    submit = SubmitField("保存答案")

    def answer(self, kind: str) -> Any:
        if kind in CHOICE_TYPES:
            return sorted(set(self.answer_keys.data or []))
        if kind == "true_false":
            return {"true": True, "false": False}.get(self.answer_tf.data or "")
        return self.answer_text.data or None

    def answer_field(self, kind: str):
        return self.answer_keys if kind in CHOICE_TYPES else self.answer_tf if kind == "true_false" else self.answer_text


class ImportForm(FlaskForm):
    file = FileField("题目文件（GIFT、Moodle XML、JSON 或 YAML,UTF-8 编码）")
    format = SelectField("格式", choices=choices([("", "按扩展名自动识别"), *FORMATS.items()]), default="",
                         validate_choice=False)
    topic = SelectField("默认专题（文件中没有专题或分类对不上专题的题目归入这里）", choices=[], default="未分类",
                        validate_choice=False)
    tags = StringField("附加标签（可选，用逗号分隔，例如班级名）", filters=[strip],
                       validators=[Length(max=200, message="标签太长")])

    def __init__(self, *args: Any, topic_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic.choices = choices((name, name) for name in topic_names or [])

    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags.data or "").replace(",", ",").split(",") if t.strip()]


class ActionForm(FlaskForm):
    """A button that posts (retire, confirm an import, delete an account): CSRF only."""


class RoleForm(FlaskForm):
    role = SelectField("角色", choices=choices(ROLES.items()), validate_choice=False)
