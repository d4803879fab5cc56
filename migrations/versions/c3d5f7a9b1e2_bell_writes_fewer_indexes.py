"""bell writes: fewer index entries per autosave and per submit

Revision ID: c3d5f7a9b1e2
Revises: b1e4a9c20d57
Create Date: 2026-11-28 16:00:00.000000

``exam_answer.attempt_id`` had an index of its own besides the unique (attempt_id, position) one, whose first column
it is: dropped. The review columns of ``exam_answer`` and a response's ``guest_key`` and ``set_id`` are indexed only
where set (partial indexes): an exam's response rows and most answers have NULL there, and every NULL was an index
entry written at the bell. Look-ups by value (``= value`` implies IS NOT NULL) use the partial indexes on both
databases.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d5f7a9b1e2'
down_revision = 'b1e4a9c20d57'
branch_labels = None
depends_on = None

PARTIAL = [("exam_answer", "review_status"), ("exam_answer", "reviewed_by_id"), ("response", "guest_key"),
           ("response", "set_id")]


def upgrade():
    op.drop_index("ix_exam_answer_attempt_id", table_name="exam_answer")
    for table, column in PARTIAL:
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.create_index(f"ix_{table}_{column}", table, [column], postgresql_where=where, sqlite_where=where)


def downgrade():
    for table, column in PARTIAL:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.create_index(f"ix_{table}_{column}", table, [column])
    op.create_index("ix_exam_answer_attempt_id", "exam_answer", ["attempt_id"])
