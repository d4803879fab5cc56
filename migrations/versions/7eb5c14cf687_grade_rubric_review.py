"""issue 8: item explanation_source and printed_key; the instructor's review of uncertain grades

Revision ID: 7eb5c14cf687
Revises: 5360aa4e5400
Create Date: 2026-11-27 16:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7eb5c14cf687'
down_revision = '5360aa4e5400'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_source', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('printed_key', sa.JSON(), nullable=True))

    with op.batch_alter_table('exam_answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_status', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_exam_answer_review_status'), ['review_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_answer_reviewed_by_id'), ['reviewed_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_exam_answer_reviewed_by_id_user'), 'user', ['reviewed_by_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('exam_answer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_exam_answer_reviewed_by_id_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_exam_answer_reviewed_by_id'))
        batch_op.drop_index(batch_op.f('ix_exam_answer_review_status'))
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('review_status')

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('printed_key')
        batch_op.drop_column('explanation_source')
