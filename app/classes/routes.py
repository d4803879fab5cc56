"""Class pages: lists, create/edit, join by code, the class page, the roster (members, removal, CSV import)."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth.decorators import class_or_404, role_required
from app.classes import bp
from app.classes import services as svc
from app.classes.forms import ActionForm, ClassForm, JoinForm, RosterForm
from app.extensions import db
from app.models.classes import classes_of


@bp.route("/")
@login_required
def index():
    classes = classes_of(current_user)
    taught = [c for c in classes if c.can_manage(current_user)]
    joined = [c for c in classes if not c.can_manage(current_user)]
    return render_template("classes/index.html", taught=taught, joined=joined, join_form=JoinForm(),
                           invitations=svc.pending_invitations(current_user), action_form=ActionForm())


@bp.route("/invitations/<int:invitation_id>", methods=["POST"])
@login_required
def answer_invitation(invitation_id: int):
    """Accept or decline a roster invitation (only its own account can)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    school_class, message = svc.answer_invitation(current_user, invitation_id, request.form.get("accept") == "1")
    if school_class is None and message.startswith("邀请不存在"):
        abort(404)
    db.session.commit()
    flash(message + "。", "success" if school_class else "warning")
    return redirect(url_for("classes.index"))


@bp.route("/new", methods=["GET", "POST"])
@role_required("instructor")
def new():
    form = ClassForm()
    del form.archived
    if form.validate_on_submit():
        school_class = svc.create_class(form.name.data, form.description.data or "", current_user)
        db.session.commit()
        flash(f"已创建班级“{school_class.name}”，加入码 {school_class.join_code}。", "success")
        return redirect(url_for("classes.detail", class_id=school_class.id))
    return render_template("classes/form.html", form=form, school_class=None)


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join():
    form = JoinForm()
    if form.validate_on_submit():
        school_class, message = svc.join(current_user, form.code.data)
        if school_class is None:
            form.code.errors.append(message)
        else:
            db.session.commit()
            flash(message + "。", "success")
            return redirect(url_for("classes.detail", class_id=school_class.id))
    return render_template("classes/join.html", form=form)


@bp.route("/<int:class_id>")
@login_required
def detail(class_id: int):
    school_class = class_or_404(class_id)
    manage = school_class.can_manage(current_user)
    return render_template("classes/detail.html", school_class=school_class, manage=manage,
                           member_count=len(school_class.memberships), form=ActionForm())


@bp.route("/<int:class_id>/edit", methods=["GET", "POST"])
@login_required
def edit(class_id: int):
    school_class = class_or_404(class_id, manage=True)
    form = ClassForm(obj=school_class)
    if form.validate_on_submit():
        school_class.name = form.name.data
        school_class.description = form.description.data or ""
        school_class.archived = form.archived.data
        db.session.commit()
        flash("已保存。", "success")
        return redirect(url_for("classes.detail", class_id=class_id))
    return render_template("classes/form.html", form=form, school_class=school_class)


@bp.route("/<int:class_id>/code", methods=["POST"])
@login_required
def regenerate_code(class_id: int):
    """A new join code (the old one stops working; members stay)."""
    school_class = class_or_404(class_id, manage=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    code = svc.regenerate_code(school_class)
    db.session.commit()
    flash(f"新的加入码：{code}。旧的加入码已失效，已加入的学生不受影响。", "success")
    return redirect(url_for("classes.detail", class_id=class_id))


@bp.route("/<int:class_id>/roster")
@login_required
def roster(class_id: int):
    school_class = class_or_404(class_id, manage=True)
    return render_template("classes/roster.html", school_class=school_class, members=svc.members(school_class),
                           form=ActionForm(), roster_form=RosterForm())


@bp.route("/<int:class_id>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(class_id: int, user_id: int):
    """Take a student out of the class (the account and its work stay)."""
    school_class = class_or_404(class_id, manage=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    membership = svc.remove_member(school_class, user_id)
    if membership is None:
        abort(404)
    name = membership.user.name
    db.session.commit()
    flash(f"已将 {name} 移出班级。", "success")
    return redirect(url_for("classes.roster", class_id=class_id))


@bp.route("/<int:class_id>/roster/import", methods=["POST"])
@login_required
def roster_import(class_id: int):
    """Enrol students from a CSV file; new accounts' passwords are shown once, on this response only."""
    school_class = class_or_404(class_id, manage=True)
    form = RosterForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    data = upload.read() if upload else b""
    result = svc.import_roster(school_class, data, current_user) if data else svc.RosterResult(errors=["请选择花名册 CSV 文件"])
    if result.errors:
        db.session.rollback()
        return render_template("classes/roster.html", school_class=school_class, members=svc.members(school_class),
                               form=ActionForm(), roster_form=form, import_errors=result.errors)
    db.session.commit()
    response = make_response(render_template("classes/roster_result.html", school_class=school_class, result=result))
    response.headers["Cache-Control"] = "no-store"  # the page shows initial passwords
    return response
