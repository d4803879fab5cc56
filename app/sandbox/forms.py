"""Forms of the sandbox pages (CSRF through Flask-WTF; text stripped)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, FloatField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.formutil import choices, strip
from app.models.sandbox import SCENARIOS
from simulations.catalog import CAMPAIGN_COSTS

INTERACTION_KINDS = ("电话", "微信", "邮件", "拜访", "短信")
TICKET_OUTCOMES = {"resolved": "已解决", "escalated": "已升级处理", "follow_up": "待回访"}
# channel -> (cost per contact as in the generator's catalogue, fixed cost of one classroom-sized campaign)
CAMPAIGN_CHANNELS = {channel: (per_contact, {"短信": 200.0, "微信": 300.0, "邮件": 100.0, "电话": 500.0,
                                             "直邮": 800.0}.get(channel, 300.0))
                     for channel, (per_contact, _fixed) in CAMPAIGN_COSTS.items()}


class _MaxCustomers(NumberRange):
    """200 up to the configured SANDBOX_MAX_CUSTOMERS (read when the form is checked, so config changes apply)."""

    def __init__(self) -> None:
        super().__init__(200, None, "客户数须在 %(min)s 到 %(max)s 之间")

    def __call__(self, form, field) -> None:
        from flask import current_app

        self.max = int(current_app.config.get("SANDBOX_MAX_CUSTOMERS", 200_000))
        super().__call__(form, field)


class CreateSandboxForm(FlaskForm):
    class_id = SelectField("班级", validators=[InputRequired()])
    scenario = SelectField("情景", choices=choices(SCENARIOS.items()), default="default")
    customers = IntegerField("客户数", default=1500, validators=[InputRequired(), _MaxCustomers()])
    months = IntegerField("历史月数", default=24, validators=[InputRequired(), NumberRange(6, 60, "月数须在 6 到 60 之间")])
    seed = IntegerField("随机种子", default=2026, validators=[InputRequired(), NumberRange(0, 2**31 - 1)])
    name = StringField("名称(可选)", filters=[strip], validators=[Optional(), Length(max=100)])


class ConfirmForm(FlaskForm):
    """A button that posts (reset, delete); the template asks for confirmation."""

    confirm = StringField("请输入沙盒编号以确认", filters=[strip], validators=[DataRequired("请输入沙盒编号以确认")])


class ResetForm(ConfirmForm):
    seed = IntegerField("新的随机种子(留空则沿用原种子)", validators=[Optional(), NumberRange(0, 2**31 - 1)])


class SegmentForm(FlaskForm):
    name = StringField("细分名称", filters=[strip], validators=[DataRequired("请给细分起个名字"), Length(max=60)])
    filters = HiddenField()


class InteractionForm(FlaskForm):
    kind = SelectField("方式", choices=choices((k, k) for k in INTERACTION_KINDS))
    direction = SelectField("方向", choices=choices((("呼出", "呼出(我方主动联系)"), ("呼入", "呼入(客户来电/来访)"))))
    note = TextAreaField("记录", filters=[strip], validators=[DataRequired("请写下沟通内容"), Length(max=1000)])


class TicketForm(FlaskForm):
    outcome = SelectField("处理结果", choices=choices(TICKET_OUTCOMES.items()))
    note = TextAreaField("处理说明", filters=[strip], validators=[DataRequired("请写下处理说明"), Length(max=1000)])


class CampaignForm(FlaskForm):
    name = StringField("活动名称", filters=[strip], validators=[DataRequired("请给活动起个名字"), Length(max=100)])
    segment_id = SelectField("目标细分", validators=[InputRequired("请选择一个细分")])
    channel = SelectField("渠道", choices=choices((k, f"{k}(每人 {c:g} 元,固定 {f:g} 元)")
                                                   for k, (c, f) in CAMPAIGN_CHANNELS.items()))
    max_contacts = IntegerField("最多触达人数(可选)", validators=[Optional(), NumberRange(1, 10_000_000)])


class CaseStartForm(FlaskForm):
    class_id = SelectField("班级", validators=[InputRequired()])
    case_key = SelectField("案例", validators=[InputRequired()])
    customers = IntegerField("客户数(新建沙盒时)", default=1500, validators=[InputRequired(), _MaxCustomers()])
    closes_at = DateTimeLocalField("讨论开放时间(可选)", format="%Y-%m-%dT%H:%M", validators=[Optional()])


class CaseCloseForm(FlaskForm):
    closes_at = DateTimeLocalField("讨论开放时间", format="%Y-%m-%dT%H:%M", validators=[Optional()])


class AssignExerciseForm(FlaskForm):
    sandbox_id = SelectField("沙盒", validators=[InputRequired()])
    exercise_key = SelectField("实训题", validators=[InputRequired()])
    title = StringField("作业标题", filters=[strip], validators=[DataRequired(), Length(max=200)])
    points = FloatField("满分", default=10, validators=[InputRequired(), NumberRange(0.5, 1000)])
    closes_at = DateTimeLocalField("截止时间(可选)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
