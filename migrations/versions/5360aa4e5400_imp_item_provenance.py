"""item provenance for instructors' own items (author, date, free-text references, tags); image attachments

Revision ID: 5360aa4e5400
Revises: 1ef7805f5ef1
Create Date: 2026-11-27 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5360aa4e5400'
down_revision = '1ef7805f5ef1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mimetype', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_attachment_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('sha256', name=op.f('uq_attachment_sha256'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_created_by_id'), ['created_by_id'], unique=False)

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_id', sa.Integer(), nullable=True))
        # two steps for a non-null column: add with a server default (existing rows: seed items, no author)
        batch_op.add_column(sa.Column('author_name', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('authored_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('reference_list', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_item_author_id'), ['author_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_item_author_id_user'), 'user', ['author_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.alter_column('author_name', server_default=None)


def downgrade():
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_item_author_id_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_item_author_id'))
        batch_op.drop_column('tags')
        batch_op.drop_column('reference_list')
        batch_op.drop_column('authored_on')
        batch_op.drop_column('author_name')
        batch_op.drop_column('author_id')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_created_by_id'))
    op.drop_table('attachment')
