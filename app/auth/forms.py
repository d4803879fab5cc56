from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from app.auth.passwords import password_problem


def strip(value):
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名")], filters=[strip])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")])
    remember = BooleanField("记住我")
    submit = SubmitField("登录")


class RegisterForm(FlaskForm):
    username = StringField("用户名", filters=[strip], validators=[
        DataRequired("请输入用户名"), Length(3, 32, "用户名长度 3–32 个字符"),
        Regexp(r"^[A-Za-z0-9_.\-]+$", message="用户名只能包含字母、数字、下划线、点和连字符")])
    display_name = StringField("姓名（显示名）", filters=[strip], validators=[Length(0, 32, "姓名最多 32 个字符")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")],
                             description="至少 8 个字符；不能是常见密码，也不能与用户名相同")
    confirm = PasswordField("确认密码", validators=[EqualTo("password", "两次输入的密码不一致")])
    submit = SubmitField("注册")

    def validate_password(self, field):
        problem = password_problem(field.data or "", self.username.data or "")
        if problem:
            raise ValidationError(problem)
