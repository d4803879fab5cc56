"""submit writes: fewer index entries per response and per closed attempt

Revision ID: d7e2a4c6b8f0
Revises: c3d5f7a9b1e2
Create Date: 2026-11-29 05:00:00.000000

A submit writes ten response rows and closes its attempt. ``response.mode`` had an index no query uses alone (every
look-up by mode also names the user, the item or the exam, which are indexed): dropped. Nor does one read
``response.created_at`` through its index: the clean-up of visitors' old rows finds them through the user's index
(``user_id IS NULL``): dropped.
``exam_attempt.status`` and ``exam_attempt.deadline``: every query on them also names the user or the assignment
(indexed); without an index on the status a submit's close can update the row in place (PostgreSQL's HOT update).
Write-ahead log per submit on PostgreSQL: 9,140 -> 7,480 bytes (scripts/bench/inproc_submit.py, BENCHMARKS.md).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7e2a4c6b8f0'
down_revision = 'c3d5f7a9b1e2'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_response_mode", table_name="response")
    op.drop_index("ix_response_created_at", table_name="response")
    op.drop_index("ix_exam_attempt_status", table_name="exam_attempt")
    op.drop_index("ix_exam_attempt_deadline", table_name="exam_attempt")


def downgrade():
    op.create_index("ix_exam_attempt_deadline", "exam_attempt", ["deadline"])
    op.create_index("ix_exam_attempt_status", "exam_attempt", ["status"])
    op.create_index("ix_response_created_at", "response", ["created_at"])
    op.create_index("ix_response_mode", "response", ["mode"])
