"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from tests.conftest import BASE_CONFIG


def test_migrations_match_models(tmp_path):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [d for d in compare_metadata(context, db.metadata)
                    if not (d[0] == "remove_table" and d[1].name.startswith("item_fts"))]
        assert diff == [], "models and migrations differ: run `flask db migrate` and review the revision"
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()
