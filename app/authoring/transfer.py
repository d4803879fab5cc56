"""Moving items in and out: exports (JSON, GIFT, Moodle XML, question_bank YAML) and the two-step import."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import role_required
from app.authoring import bp
from app.authoring import imports as imp
from app.authoring import services as svc
from app.authoring.forms import ActionForm, ImportForm
from app.bank.exchange import FORMATS
from app.bank.services import item_query
from app.extensions import db

DOWNLOADS = {"json": ("bank.json", "application/json"), "gift": ("bank.gift.txt", "text/plain"),
             "moodle-xml": ("bank.moodle.xml", "application/xml")}


@bp.route("/export")
@role_required("instructor")
def export():
    return render_template("authoring/export.html", files=svc.yaml_file_names(), formats=FORMATS)


@bp.route("/export/<fmt>")
@role_required("instructor")
def export_download(fmt: str):
    """Download the live bank; YAML comes as one file per bank file (zipped), or one named file."""
    if fmt == "yaml":
        texts = svc.yaml_exports()
        name = request.args.get("file")
        if name:
            if name not in texts:
                abort(404)
            return _download(texts[name], name, "application/x-yaml")
        return Response(svc.yaml_zip(texts), mimetype="application/zip",
                        headers={"Content-Disposition": "attachment; filename=question_bank.zip"})
    if fmt not in DOWNLOADS:
        abort(404)
    items = [i.to_dict() for i in db.session.scalars(item_query())]
    filename, mimetype = DOWNLOADS[fmt]
    return _download(svc.export_text(fmt, items), filename, mimetype)


def _download(text: str, filename: str, mimetype: str) -> Response:
    return Response(text.encode("utf-8"), mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/import", methods=["GET", "POST"])
@role_required("instructor")
def import_upload():
    form = ImportForm(topic_names=list(svc.topics_by_name()))
    if form.validate_on_submit():
        upload = form.file.data
        filename = getattr(upload, "filename", "") or ""
        fmt = imp.detect_format(filename, form.format.data)
        data = upload.read() if upload else b""
        if upload:
            upload.close()  # a large upload is spooled to a temporary file: release it now
        if not filename or not data:
            form.file.errors.append("请选择要导入的文件")
        elif fmt is None:
            form.format.errors.append("无法从扩展名识别格式，请选择格式（.gift/.txt、.xml、.json、.yaml/.yml）")
        elif imp.decode(data) is None:
            form.file.errors.append("文件不是 UTF-8 编码：请另存为 UTF-8 后再上传")
        elif form.topic.data not in svc.topics_by_name():
            form.topic.errors.append("请选择一个专题")
        else:
            options = {"topic": form.topic.data, "tags": form.tag_list()}
            token = imp.store_upload(current_app.instance_path, current_user.id, filename, fmt, data, options)
            return redirect(url_for("authoring.import_review", token=token))
    return render_template("authoring/import.html", form=form, formats=FORMATS)


def _plan(token: str) -> imp.ImportPlan:
    stored = imp.load_upload(current_app.instance_path, token, current_user.id)
    if stored is None:
        abort(404)
    meta, data = stored
    return imp.plan_import(imp.decode(data) or "", meta["format"], meta["filename"], meta.get("topic"),
                           meta.get("tags"), author=current_user.name)


@bp.route("/import/<token>")
@role_required("instructor")
def import_review(token: str):
    """The dry run: what would be created, updated and refused, with every error's place and reason."""
    return render_template("authoring/import_review.html", plan=_plan(token), token=token, form=ActionForm(),
                           formats=FORMATS)


@bp.route("/import/<token>/confirm", methods=["POST"])
@role_required("instructor")
def import_confirm(token: str):
    """Import everything the dry run showed, or nothing: the stored upload is parsed again and applied at once."""
    plan = _plan(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not plan.ok:
        flash("文件无法读取或没有可以导入的题目，没有导入任何题目。请修改文件后重新上传。", "danger")
        return render_template("authoring/import_review.html", plan=plan, token=token, form=ActionForm(),
                               formats=FORMATS)
    try:
        imp.apply_import(plan, current_user.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    imp.discard_upload(current_app.instance_path, token)
    flash(f"导入完成：{plan.summary()}。", "success")
    return redirect(url_for("authoring.index", origin="import" if plan.created else None))
