"""Forms of the class pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.formutil import strip


class ClassForm(FlaskForm):
    name = StringField("班级名称", filters=[strip],
                       validators=[DataRequired("请填写班级名称"), Length(max=100, message="班级名称最多 100 个字符")])
    description = TextAreaField("说明（可选）", filters=[strip], validators=[Length(max=2000, message="说明最多 2000 字")])
    archived = BooleanField("已结课（归档：学生不能再用加入码加入）")


class JoinForm(FlaskForm):
    code = StringField("加入码", filters=[lambda v: v.strip().upper().replace(" ", "") if isinstance(v, str) else v],
                       validators=[DataRequired("请输入老师给的加入码"), Length(max=12, message="加入码不正确")])


class RosterForm(FlaskForm):
    file = FileField("花名册 CSV 文件")


class ActionForm(FlaskForm):
    """A button that posts (regenerate the code, remove a member): CSRF only."""
