from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm, RegisterForm
from app.extensions import db
from app.models import User
from app.models.users import username_key


def _dummy_check(password: str) -> None:
    """Spend the time a real password check takes, so an unknown username answers as slowly as a known one."""
    from werkzeug.security import check_password_hash, generate_password_hash

    method = current_app.config["PASSWORD_HASH_METHOD"]
    cache = current_app.extensions.setdefault("crm_dummy_hashes", {})
    if method not in cache:
        cache[method] = generate_password_hash("not-a-password", method=method)
    check_password_hash(cache[method], password)


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target and not parts.netloc and not parts.scheme and target.startswith("/"):
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("bank.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = User.by_username(form.username.data)
        if user is None:
            _dummy_check(form.password.data)
        if user is None or not user.check_password(form.password.data):
            form.password.errors.append("用户名或密码不正确")
        else:
            login_user(user, remember=form.remember.data)
            _adopt_guest_work(user)
            return redirect(_safe_next(url_for("bank.index")))
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("bank.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(User.id).where(User.username_key == username_key(form.username.data))):
            form.username.errors.append("该用户名已被使用（用户名不区分大小写）")
        else:
            user = User(username=form.username.data, display_name=form.display_name.data or "", role="student")
            user.set_password(form.password.data)
            db.session.add(user)
            db.session.commit()
            login_user(user)
            kept = _adopt_guest_work(user)
            flash("注册成功，欢迎！" + (f"你作为访客做过的 {kept} 道题已保存到你的记录中。" if kept else ""), "success")
            return redirect(_safe_next(url_for("bank.index")))
    return render_template("auth/register.html", form=form)


def _adopt_guest_work(user: User) -> int:
    """Move a visitor's answers (kept in the session) into the new account, if practice is installed."""
    for hook in current_app.extensions.get("crm_login_hooks", []):
        n = hook(user)
        if n:
            return int(n)
    return 0


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # a new session version ends this session and every other session and remember cookie of the account
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    flash("你已退出登录。", "info")
    return redirect(url_for("bank.index"))
