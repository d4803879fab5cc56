"""Administration of accounts (admins only): list users, change roles, delete demo accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import admin_required
from app.authoring import bp
from app.authoring.forms import ActionForm, RoleForm
from app.extensions import db
from app.models import User
from app.models.users import ROLES


@bp.route("/users")
@admin_required
def users():
    role = request.args.get("role") if request.args.get("role") in ROLES else None
    q = (request.args.get("q") or "").strip()[:64]
    stmt = sa.select(User).order_by(User.role.desc(), User.username)
    if role:
        stmt = stmt.where(User.role == role)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(User.username.ilike(like, escape="\\"), User.display_name.ilike(like, escape="\\")))
    page = db.paginate(stmt, per_page=current_app.config.get("USERS_PER_PAGE", 50), error_out=False)
    counts = dict(db.session.execute(sa.select(User.role, sa.func.count()).group_by(User.role)).all())
    return render_template("authoring/users.html", page=page, role=role, q=q, roles=ROLES, counts=counts,
                           form=ActionForm())


def _back():
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/manage/users")
                    else url_for("authoring.users"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@admin_required
def user_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit() or form.role.data not in ROLES:
        flash("请选择有效的角色。", "warning")
    elif user.id == current_user.id:
        flash("不能修改自己的角色（请让另一位管理员操作）。", "warning")
    elif user.role != form.role.data:
        user.role = form.role.data
        db.session.commit()
        flash(f"{user.username} 现在是{user.role_label}。", "success")
    return _back()


@bp.route("/users/<int:user_id>/delete", methods=["POST"])
@admin_required
def user_delete(user_id: int):
    """Delete a demo account (and everything it owns). Real accounts are never deleted from here."""
    user = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not user.is_demo:
        flash("只能删除演示账号。", "warning")
    elif user.id == current_user.id:
        flash("不能删除自己的账号。", "warning")
    else:
        db.session.delete(user)
        db.session.commit()
        flash(f"已删除演示账号 {user.username}。", "success")
    return _back()
