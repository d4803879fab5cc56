"""Forms of the assignment pages (text fields are stripped; select choices go through app.formutil.choices)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.assignments.services import DEFAULT_POINTS, QUIZ_TYPES
from app.formutil import MultiCheckboxField, choices, strip
from app.models.assignments import FEEDBACK_POLICIES, GRADING_RULES

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class QuizForm(FlaskForm):
    title = StringField("标题", filters=[strip], validators=[DataRequired("请填写标题"), Length(max=200)])
    description = TextAreaField("说明（可选，支持 Markdown）", filters=[strip], validators=[Length(max=5000)])
    opens_at = DateTimeLocalField("开放时间（不填为立即开放）", format=DATETIME_FORMATS, validators=[Optional()])
    closes_at = DateTimeLocalField("截止时间", format=DATETIME_FORMATS,
                                   validators=[DataRequired("请填写截止时间（格式：2026-11-05 18:00）")])
    time_limit = IntegerField("限时（分钟，不填为不限时，截止时间到即交卷）",
                              validators=[Optional(), NumberRange(1, 600, "限时应在 1–600 分钟之间")])
    attempts_allowed = IntegerField("允许作答次数（0 为不限）", default=1,
                                    validators=[InputRequired("请填写允许作答次数"), NumberRange(0, 50, "次数应在 0–50 之间")])
    grading_rule = SelectField("计分的作答", choices=choices(GRADING_RULES.items()), default="highest")
    feedback_policy = SelectField("学生何时可看答案与反馈", choices=choices(FEEDBACK_POLICIES.items()),
                                  default="after_submit")
    source = RadioField("出题方式", choices=choices([("items", "指定题目"), ("blueprint", "按专题和题型随机抽题")]),
                        default="items")
    item_list = TextAreaField("题目编号（每行一个，可在编号后写分值，如 s002-mc60-07 2）", filters=[strip])
    shuffle = BooleanField("打乱题目顺序（每个学生的题目顺序不同；选项顺序总是随机）", default=True)
    topics = MultiCheckboxField("限定专题（不选为全部专题）", choices=[], validators=[Optional()])

    def validate_closes_at(self, field) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            from wtforms.validators import ValidationError

            raise ValidationError("截止时间必须晚于开放时间")

    def sections(self) -> list[dict]:
        out = []
        for item_type in QUIZ_TYPES:
            count = getattr(self, f"count_{item_type}").data or 0
            if count:
                out.append({"type": item_type, "count": int(count),
                            "points": float(getattr(self, f"points_{item_type}").data or 0)})
        return out


for _type in QUIZ_TYPES:
    setattr(QuizForm, f"count_{_type}", IntegerField(
        "题数", default=0, validators=[Optional(), NumberRange(0, 100, "题数应在 0–100 之间")]))
    setattr(QuizForm, f"points_{_type}", FloatField(
        "每题分值", default=DEFAULT_POINTS.get(_type, 1.0),
        validators=[Optional(), NumberRange(0.5, 100, "分值应在 0.5–100 之间")]))


class OverrideForm(FlaskForm):
    score = FloatField("新的得分", validators=[Optional()])
    reason = TextAreaField("理由（必填，学生与其他教师可见）", filters=[strip],
                           validators=[DataRequired("请写明改分理由"), Length(max=500, message="理由最多 500 字")])
    clear = BooleanField("撤销改分（恢复为系统计算的得分）")


class ReviewForm(FlaskForm):
    """The grading queue: accept the suggested score, or give another."""

    score = FloatField("改为", validators=[Optional()])


class ActionForm(FlaskForm):
    """A button that posts (start an attempt, flag items, delete): CSRF only."""
