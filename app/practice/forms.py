from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import NumberRange, Optional

from app.formutil import MultiCheckboxField, choices
from question_bank.schema import ITEM_TYPES

TYPE_CHOICES = choices(ITEM_TYPES.items())


class StartForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only chooses what to practise

    mode = SelectField("模式", choices=choices([("sequential", "顺序练习"), ("random", "随机练习"),
                                                        ("topic", "专题练习"), ("study", "背题模式")]), default="sequential")
    types = SelectMultipleField("题型（可多选，不选为全部）", choices=TYPE_CHOICES, validators=[Optional()])
    topic = SelectField("专题", choices=[], validators=[Optional()])
    seed = SelectField("来源资料", choices=[], validators=[Optional()])
    count = IntegerField("题数（随机练习）", default=20, validators=[Optional(), NumberRange(1, 200, "题数应在 1–200 之间")])


class BlueprintForm(FlaskForm):
    title = StringField("试卷名称", default="模拟考试")
    minutes = IntegerField("考试时长（分钟）", default=60, validators=[NumberRange(1, 300, "时长应在 1–300 分钟之间")])
    topics = MultiCheckboxField("限定专题（不选为全部）", choices=[], validators=[Optional()])
