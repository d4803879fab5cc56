"""Authoring pages: the item list, the item form (create, edit, preview), retiring, versions, the keying queue."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import role_required
from app.authoring import bp
from app.authoring import services as svc
from app.authoring.forms import ActionForm, ItemForm, KeyForm
from app.bank.services import CappedPagination, item_query, normalise_content
from app.clock import now
from app.extensions import db
from app.models import Item, Topic
from app.zhtext import zh_punct
from question_bank.schema import ITEM_TYPES, KEY_SOURCES

ORIGINS = {"bank": "题库文件", "instructor": "教师新增", "import": "导入"}
STATUSES = {"all": "全部（含已停用）", "active": "在用", "retired": "已停用"}


def _item_or_404(uid: str) -> Item:
    return db.first_or_404(sa.select(Item).where(Item.uid == uid))


# ---------------------------------------------------------------- list

@bp.route("/")
@role_required("instructor")
def index():
    """Every item, retired ones too, filtered by type, topic, key source, origin, status and search text."""
    args = request.args
    item_type = args.get("type") if args.get("type") in ITEM_TYPES else None
    topic = db.session.scalar(sa.select(Topic).where(Topic.slug == args["topic"])) if args.get("topic") else None
    q = (args.get("q") or "").strip()[:100]
    status = args.get("status") if args.get("status") in STATUSES else "all"
    stmt = item_query(item_type=item_type, topic=topic, q=q or None, include_retired=True)
    if status != "all":
        stmt = stmt.where(Item.retired.is_(status == "retired"))
    if args.get("key") in KEY_SOURCES:
        stmt = stmt.where(Item.key_source == args["key"])
    if args.get("origin") in ORIGINS:
        stmt = stmt.where(Item.origin == args["origin"])
    # the bank's search index pages a search (a count capped at 1,000), as on the public bank pages
    page = CappedPagination(select=stmt, session=db.session(), per_page=current_app.config["ITEMS_PER_PAGE"],
                            error_out=False)
    queue = db.session.scalar(sa.select(sa.func.count()).select_from(Item).where(
        Item.retired.is_(False), sa.or_(Item.key_source == "none", Item.flagged != ""))) or 0
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.position)).all()
    return render_template("authoring/index.html", page=page, topics=topics, topic=topic, item_type=item_type, q=q,
                           status=status, statuses=STATUSES, origins=ORIGINS, queue=queue)


# ---------------------------------------------------------------- the item form

def _preview_item(data: dict[str, Any]) -> SimpleNamespace:
    """An object the item macros can render, built from an unsaved item dict."""
    key_source = data.get("key_source") if data.get("key_source") in KEY_SOURCES else "none"
    content = normalise_content({**data, "key_source": key_source})
    author = data.get("author") or {}
    return SimpleNamespace(**content, uid=data.get("id") or "（新题目）", topics=[], retired=False,
                           sources=data.get("sources") or [], topic_names=data.get("topics") or [],
                           author_name=author.get("name", ""), authored_on=author.get("date"),
                           reference_list=data.get("references") or [])


def _run_form(form: ItemForm, base: dict[str, Any], extra_seeds: set[str]) -> dict[str, Any] | None:
    """Validate a submitted item form; return the item dict when it may be saved (not on 预览)."""
    form.validate()
    data = form.item_dict(base)
    problems: list[tuple[str, str]] = []
    gap = form.option_gap()
    if gap and data["type"] in ("single_choice", "multi_choice"):
        problems.append(("options", gap))
    problems += [("sources", p) for p in form.source_problems]
    problems += svc.check_item(data, set(_topic_names()), svc.known_seeds() | extra_seeds)
    form.attach(problems)
    form.preview_item = _preview_item(data)
    if form.preview.data or form.has_problems:
        return None
    return data


def _topic_names() -> list[str]:
    return list(svc.topics_by_name())


@bp.route("/items/new", methods=["GET", "POST"])
@role_required("instructor")
def new():
    form = ItemForm(topic_names=_topic_names())
    form.preview_item = None
    # an item written here is the instructor's own: provenance 教师编写 (author, date), no seed source needed
    base = {"author": {"name": current_user.name, "date": now().date().isoformat()}}
    if request.method == "GET":
        if request.args.get("type") in ITEM_TYPES:
            form.type.data = request.args["type"]
        form.key_source.data = "instructor"
    elif (data := _run_form(form, base, set())) is not None:
        item = svc.create_item(data, current_user.id)
        db.session.commit()
        flash(f"已创建题目 {item.uid}。", "success")
        return redirect(url_for("bank.item", uid=item.uid))
    return render_template("authoring/form.html", form=form, item=None, seeds=sorted(svc.known_seeds()))


@bp.route("/items/<uid>/edit", methods=["GET", "POST"])
@role_required("instructor")
def edit(uid: str):
    item = _item_or_404(uid)
    base = svc.item_data(item)
    form = ItemForm(topic_names=_topic_names())
    form.preview_item = None
    if request.method == "GET":
        form.fill(base)
    elif (data := _run_form(form, base, {s.seed for s in item.sources})) is not None:
        before = item.version
        changed = svc.save_item(item, data, current_user.id)
        db.session.commit()
        if item.version != before:
            flash(f"已保存为第 {item.version} 版。", "success")
        else:
            flash("已保存。" if changed else "没有改动。", "success" if changed else "info")
        return redirect(url_for("bank.item", uid=item.uid))
    return render_template("authoring/form.html", form=form, item=item, seeds=sorted(svc.known_seeds()),
                           action_form=ActionForm())


@bp.route("/items/<uid>/retire", methods=["POST"])
@role_required("instructor")
def retire(uid: str):
    """Retire an item (it leaves practice and the public bank, history stays) or bring it back."""
    item = _item_or_404(uid)
    if ActionForm().validate_on_submit():
        item.retired = not item.retired
        db.session.commit()
        flash(f"已停用 {item.uid}：它不再出现在题库和练习中。" if item.retired else f"已恢复 {item.uid}。", "success")
    return redirect(url_for("authoring.edit", uid=item.uid))


@bp.route("/items/<uid>/versions")
@role_required("instructor")
def versions(uid: str):
    item = _item_or_404(uid)
    return render_template("authoring/versions.html", item=item, rows=svc.version_rows(item))


# ---------------------------------------------------------------- keying queue

@bp.route("/keying")
@role_required("instructor")
def keying():
    """Items without a key, and items the statistics flagged as possibly miskeyed."""
    reason = request.args.get("reason")
    stmt = sa.select(Item).where(Item.retired.is_(False))
    if reason == "none":
        stmt = stmt.where(Item.key_source == "none")
    elif reason == "flagged":
        stmt = stmt.where(Item.flagged != "")
    else:
        stmt = stmt.where(sa.or_(Item.key_source == "none", Item.flagged != ""))
    stmt = stmt.order_by((Item.flagged == "").asc(), Item.position, Item.id)
    page = db.paginate(stmt, per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False)
    return render_template("authoring/keying.html", page=page, reason=reason)


@bp.route("/keying/<uid>", methods=["GET", "POST"])
@role_required("instructor")
def key(uid: str):
    item = _item_or_404(uid)
    form = KeyForm()
    if request.method == "GET":
        if isinstance(item.answer, list):
            form.answer_keys.data = list(item.answer)
        elif isinstance(item.answer, bool):
            form.answer_tf.data = "true" if item.answer else "false"
        elif isinstance(item.answer, str):
            form.answer_text.data = item.answer
        form.explanation.data = item.explanation
    elif form.validate_on_submit():
        answer = form.answer(item.type)
        data = {**item.to_dict(), "answer": answer, "explanation": form.explanation.data,
                "key_source": svc.key_source_after_keying(item, answer)}
        problems = [(f, r) for f, r in svc.check_item(data, set(svc.topics_by_name())) if f in ("answer", "")]
        if answer in (None, "", []):
            problems.insert(0, ("answer", "请给出答案"))
        if problems:
            field = form.answer_field(item.type)
            field.errors = [*field.errors, *dict.fromkeys(r for _, r in problems)]
        else:
            svc.key_item(item, answer, form.explanation.data, current_user.id)
            db.session.commit()
            flash(f"已记录 {item.uid} 的答案（由你核定，答案来源：{zh_punct(KEY_SOURCES[item.key_source])}）。", "success")
            return redirect(url_for("authoring.keying"))
    return render_template("authoring/key.html", item=item, form=form)
