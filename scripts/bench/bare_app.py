"""The reference for the serving benchmarks: a bare Flask app with a page and a JSON POST, nothing else."""

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def home() -> str:
        return "<!doctype html><html lang='zh'><title>空白</title><p>你好</p></html>"

    @app.post("/save")
    def save():  # type: ignore[no-untyped-def]
        data = request.get_json(silent=True) or {}
        return jsonify(ok=True, position=data.get("position"))

    return app
