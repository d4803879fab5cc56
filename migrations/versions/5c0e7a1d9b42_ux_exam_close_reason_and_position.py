"""exam attempts: where the student stopped, and close reasons named student | timeup | abandoned

Revision ID: 5c0e7a1d9b42
Revises: 7eb5c14cf687
Create Date: 2026-11-27 16:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5c0e7a1d9b42'
down_revision = '7eb5c14cf687'
branch_labels = None
depends_on = None

# old value -> new value of exam_attempt.closed_by ('deadline' was also written by the bell, now 'timeup')
RENAMES = {'deadline': 'timeup', 'visit': 'abandoned'}


def upgrade():
    with op.batch_alter_table('exam_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_position', sa.Integer(), server_default='0', nullable=False))
    attempt = sa.table('exam_attempt', sa.column('closed_by', sa.String))
    for old, new in RENAMES.items():
        op.execute(attempt.update().where(attempt.c.closed_by == old).values(closed_by=new))


def downgrade():
    attempt = sa.table('exam_attempt', sa.column('closed_by', sa.String))
    for old, new in RENAMES.items():
        op.execute(attempt.update().where(attempt.c.closed_by == new).values(closed_by=old))
    with op.batch_alter_table('exam_attempt', schema=None) as batch_op:
        batch_op.drop_column('last_position')
