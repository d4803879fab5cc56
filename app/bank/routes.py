"""Public pages: home, the bank browser and search, item pages, topics and reading pages."""

import re

import sqlalchemy as sa
from flask import Response, abort, current_app, jsonify, render_template, request, url_for

from app.bank import bp
from app.bank.services import CappedPagination, item_query, notes_for_topics, search_notes, seed_names
from app.extensions import db
from app.models import Attachment, Item, ItemSource, Note, Topic
from question_bank.schema import ITEM_TYPES
from question_bank.seeds import SEEDS


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
    page = CappedPagination(select=item_query(item_type=item_type, topic=topic, seed=seed, q=q or None, public=True),
                            session=db.session(), per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False)
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.position)).all()
    notes = search_notes(q) if q else []
    return render_template("bank/browse.html", page=page, topics=topics, seeds=seed_names(), notes=notes,
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
    counts: dict[str, list] = {}
    for seed, section, n in rows:
        counts.setdefault(seed, []).append((section, n))
    notes = db.session.scalars(sa.select(Note).order_by(Note.slug)).all()
    reading = {seed: [n for n in notes if any(src.get("seed") == seed for src in n.sources or [])] for seed in SEEDS}
    return render_template("bank/seeds.html", seeds=SEEDS.values(), sections=counts, reading=reading)


THEME_COLOR = "#1f6feb"


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: the site can be added to a phone's home screen and opens like an app."""
    icon = lambda size: {"src": url_for("static", filename=f"icons/icon-{size}.png"),  # noqa: E731
                         "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any maskable"}
    body = {"name": "客户关系管理 教学与刷题平台", "short_name": "CRM 刷题", "lang": "zh-CN",
            "start_url": url_for("bank.index"), "scope": "/", "display": "standalone",
            "background_color": "#f6f7f9", "theme_color": THEME_COLOR, "icons": [icon(192), icon(512)]}
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/media/<sha>/<name>")
def media(sha: str, name: str):
    """An image an item's text refers to (carried in from a Moodle XML file); content-addressed, so cached long."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        abort(404)
    row = db.session.execute(sa.select(Attachment.mimetype, Attachment.data).where(Attachment.sha256 == sha)).first()
    if row is None or not row.mimetype.startswith("image/"):
        abort(404)
    return Response(row.data, mimetype=row.mimetype, headers={
        "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"})
