"""Public pages: home, the bank browser and search, item pages, topics and reading pages."""

import sqlalchemy as sa
from flask import abort, current_app, render_template, request

from app.bank import bp
from app.bank.services import CappedPagination, item_query, notes_for_topics, seed_names
from app.extensions import db
from app.models import Item, ItemSource, Note, Topic
from question_bank.schema import ITEM_TYPES


@bp.route("/")
def index():
    counts = dict(db.session.execute(
        sa.select(Item.type, sa.func.count()).where(Item.retired.is_(False)).group_by(Item.type)).all())
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.position)).all()
    topic_counts = dict(db.session.execute(
        sa.select(Topic.id, sa.func.count(Item.id)).join(Topic, Item.topics)
        .where(Item.retired.is_(False)).group_by(Topic.id)).all())
    context = {}
    for hook in current_app.extensions.get("crm_home_hooks", []):
        context.update(hook())
    return render_template("bank/index.html", counts=counts, total=sum(counts.values()), topics=topics,
                           topic_counts=topic_counts, **context)


@bp.route("/bank/")
def browse():
    item_type = request.args.get("type") or None
    if item_type and item_type not in ITEM_TYPES:
        item_type = None
    topic_slug = request.args.get("topic") or None
    topic = db.session.scalar(sa.select(Topic).where(Topic.slug == topic_slug)) if topic_slug else None
    seed = request.args.get("seed") or None
    q = (request.args.get("q") or "").strip()[:100]
    page = CappedPagination(select=item_query(item_type=item_type, topic=topic, seed=seed, q=q or None),
                            session=db.session(), per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False)
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.position)).all()
    return render_template("bank/browse.html", page=page, topics=topics, seeds=seed_names(),
                           item_type=item_type, topic=topic, seed=seed, q=q)


@bp.route("/search")
def search():
    return browse()


@bp.route("/bank/items/<uid>")
def item(uid: str):
    item = db.session.scalar(sa.select(Item).where(Item.uid == uid))
    if item is None or (item.retired and not _can_see_retired()):
        abort(404)
    notes = notes_for_topics(t.name for t in item.topics)
    context = {}
    for hook in current_app.extensions.get("crm_item_hooks", []):
        context.update(hook(item))
    return render_template("bank/item.html", item=item, notes=notes, **context)


def _can_see_retired() -> bool:
    from flask_login import current_user

    return current_user.is_authenticated and current_user.is_instructor


@bp.route("/topics/")
def topics():
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.position)).all()
    counts = dict(db.session.execute(
        sa.select(Topic.id, sa.func.count(Item.id)).join(Topic, Item.topics)
        .where(Item.retired.is_(False)).group_by(Topic.id)).all())
    notes = db.session.scalars(sa.select(Note).order_by(Note.slug)).all()
    return render_template("bank/topics.html", topics=topics, counts=counts, notes=notes)


@bp.route("/topics/<slug>")
def topic(slug: str):
    topic = db.first_or_404(sa.select(Topic).where(Topic.slug == slug))
    notes = notes_for_topics([topic.name])
    counts = dict(db.session.execute(
        sa.select(Item.type, sa.func.count()).where(Item.retired.is_(False), Item.topics.any(Topic.id == topic.id))
        .group_by(Item.type)).all())
    return render_template("bank/topic.html", topic=topic, notes=notes, counts=counts)


@bp.route("/notes/<slug>")
def note(slug: str):
    note = db.first_or_404(sa.select(Note).where(Note.slug == slug))
    topics = db.session.scalars(sa.select(Topic).where(Topic.name.in_(note.topics or []))).all()
    return render_template("bank/note.html", note=note, topics=topics)


@bp.route("/seeds/")
def seeds():
    rows = db.session.execute(
        sa.select(ItemSource.seed, ItemSource.section, sa.func.count(sa.distinct(ItemSource.item_id)))
        .group_by(ItemSource.seed, ItemSource.section).order_by(ItemSource.seed, sa.func.min(ItemSource.id))).all()
    return render_template("bank/seeds.html", rows=rows)
