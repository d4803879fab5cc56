"""store: sandbox companies move to DuckDB files; background jobs table

The generated tables of every sandbox (sb_customer, sb_product, sb_order, sb_order_line, sb_interaction,
sb_ticket, sb_survey, sb_campaign) and the derived sb_customer_metric leave the SQL database: a company is now one
DuckDB file per sandbox version under SANDBOX_DATA_DIR (app/sandbox/store.py). Their rows are not copied: a
sandbox's company is a deterministic function of its parameters and seed, and `flask setup` (which serve.sh runs)
rebuilds the file of every ready sandbox that has none (app.sandbox.services.rebuild_missing, which compares the
rebuilt data with the recorded data_hash). Downgrading recreates the tables empty, and the sandboxes need a reset.

Revision ID: 9c4d53d5b890
Revises: 1ef7805f5ef1
Create Date: 2026-11-27 16:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9c4d53d5b890'
down_revision = '1ef7805f5ef1'
branch_labels = None
depends_on = None

DATA_TABLES = ('sb_customer_metric', 'sb_survey', 'sb_ticket', 'sb_interaction', 'sb_order_line', 'sb_order',
               'sb_campaign', 'sb_product', 'sb_customer')  # children first


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('done', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('next_url', sa.String(length=300), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_job_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_user_id'), ['user_id'], unique=False)

    for name in DATA_TABLES:
        op.drop_table(name)
    # the cached analyses stay valid (a rebuilt company is the same data); nothing else refers to the dropped rows


def downgrade():
    op.create_table('sb_customer',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=True),
    sa.Column('phone', sa.String(length=24), nullable=True),
    sa.Column('province', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=20), nullable=True),
    sa.Column('company', sa.String(length=80), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('settlement', sa.String(length=20), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('acquired_on', sa.Date(), nullable=True),
    sa.Column('owner', sa.String(length=40), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['sandbox_id'], ['sandbox.id'], name=op.f('fk_sb_customer_sandbox_id_sandbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_customer')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_customer', schema=None) as batch_op:
        batch_op.create_index('ix_sb_customer_city', ['sandbox_id', 'city'], unique=False)
        batch_op.create_index('ix_sb_customer_kind', ['sandbox_id', 'kind'], unique=False)
    op.create_table('sb_product',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=80), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('unit_price', sa.Float(), nullable=True),
    sa.Column('unit_cost', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['sandbox_id'], ['sandbox.id'], name=op.f('fk_sb_product_sandbox_id_sandbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_product')),
    sqlite_with_rowid=False
    )
    op.create_table('sb_order',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('ordered_on', sa.Date(), nullable=True),
    sa.Column('amount', sa.Float(), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('hour', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_order')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_order', schema=None) as batch_op:
        batch_op.create_index('ix_sb_order_customer_id', ['sandbox_id', 'customer_id'], unique=False)
    op.create_table('sb_order_line',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('unit_price', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_order_line')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_order_line', schema=None) as batch_op:
        batch_op.create_index('ix_sb_order_line_order_id', ['sandbox_id', 'order_id'], unique=False)
        batch_op.create_index('ix_sb_order_line_product_id', ['sandbox_id', 'product_id'], unique=False)
    op.create_table('sb_interaction',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('happened_on', sa.Date(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('direction', sa.String(length=12), nullable=True),
    sa.Column('rep', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_interaction')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_interaction', schema=None) as batch_op:
        batch_op.create_index('ix_sb_interaction_customer_id', ['sandbox_id', 'customer_id'], unique=False)
    op.create_table('sb_ticket',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=True),
    sa.Column('priority', sa.String(length=12), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=True),
    sa.Column('resolution', sa.String(length=200), nullable=True),
    sa.Column('hours_to_resolve', sa.Float(), nullable=True),
    sa.Column('satisfied_with_handling', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['sandbox_id', 'customer_id'], ['sb_customer.sandbox_id', 'sb_customer.id'], name=op.f('fk_sb_ticket_sandbox_id_sb_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sandbox_id'], ['sandbox.id'], name=op.f('fk_sb_ticket_sandbox_id_sandbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_ticket')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_ticket', schema=None) as batch_op:
        batch_op.create_index('ix_sb_ticket_customer_id', ['sandbox_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_sb_ticket_status', ['sandbox_id', 'status'], unique=False)
    op.create_table('sb_survey',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('surveyed_on', sa.Date(), nullable=True),
    sa.Column('expectation_a', sa.Float(), nullable=True),
    sa.Column('perception_b', sa.Float(), nullable=True),
    sa.Column('satisfaction_c', sa.Float(), nullable=True),
    sa.Column('would_recommend', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['sandbox_id', 'customer_id'], ['sb_customer.sandbox_id', 'sb_customer.id'], name=op.f('fk_sb_survey_sandbox_id_sb_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sandbox_id'], ['sandbox.id'], name=op.f('fk_sb_survey_sandbox_id_sandbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_survey')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_survey', schema=None) as batch_op:
        batch_op.create_index('ix_sb_survey_customer_id', ['sandbox_id', 'customer_id'], unique=False)
    op.create_table('sb_campaign',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('cost_per_contact', sa.Float(), nullable=True),
    sa.Column('fixed_cost', sa.Float(), nullable=True),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('segment_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['sandbox_id'], ['sandbox.id'], name=op.f('fk_sb_campaign_sandbox_id_sandbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sandbox_id', 'id', name=op.f('pk_sb_campaign')),
    sqlite_with_rowid=False
    )
    op.create_table('sb_customer_metric',
    sa.Column('sandbox_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('n_orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Float(), nullable=False),
    sa.Column('profit', sa.Float(), nullable=False),
    sa.Column('first_order_on', sa.Date(), nullable=True),
    sa.Column('last_order_on', sa.Date(), nullable=True),
    sa.Column('r', sa.SmallInteger(), nullable=True),
    sa.Column('f', sa.SmallInteger(), nullable=True),
    sa.Column('m', sa.SmallInteger(), nullable=True),
    sa.Column('rfm', sa.String(length=3), nullable=True),
    sa.Column('tier', sa.String(length=8), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['sandbox_id', 'customer_id'], ['sb_customer.sandbox_id', 'sb_customer.id'], name=op.f('fk_sb_customer_metric_sandbox_id_sb_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sandbox_id'], ['sandbox.id'], name=op.f('fk_sb_customer_metric_sandbox_id_sandbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sandbox_id', 'customer_id', name=op.f('pk_sb_customer_metric')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sb_customer_metric', schema=None) as batch_op:
        batch_op.create_index('ix_sb_customer_metric_revenue', ['sandbox_id', 'revenue'], unique=False)
        batch_op.create_index('ix_sb_customer_metric_rfm', ['sandbox_id', 'rfm'], unique=False)
        batch_op.create_index('ix_sb_customer_metric_stage', ['sandbox_id', 'stage'], unique=False)
        batch_op.create_index('ix_sb_customer_metric_tier', ['sandbox_id', 'tier'], unique=False)

    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_user_id'))
        batch_op.drop_index(batch_op.f('ix_job_status'))
        batch_op.drop_index(batch_op.f('ix_job_name'))
        batch_op.drop_index(batch_op.f('ix_job_key'))
    op.drop_table('job')
