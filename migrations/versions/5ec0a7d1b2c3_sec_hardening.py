"""sec hardening: case-insensitive usernames, session versions, class invitations, exam-only items, deferred learning

Revision ID: 5ec0a7d1b2c3
Revises: 9c4d53d5b890
Create Date: 2026-11-27 16:18:08.934841

Usernames become unique regardless of case. Where the database already holds names that differ only in case
(DEMO_TEACHER beside demo_teacher), the oldest account (lowest id) keeps its name and each later one is renamed
to ``<name>_<id>`` (shortened to fit), which is printed so an administrator can tell the owners.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5ec0a7d1b2c3'
down_revision = '9c4d53d5b890'
branch_labels = None
depends_on = None


def _fold_usernames() -> None:
    """Fill username_key; rename later accounts whose names collide with an older one when case is ignored."""
    conn = op.get_bind()
    user = sa.table("user", sa.column("id", sa.Integer), sa.column("username", sa.String),
                    sa.column("username_key", sa.String))
    rows = conn.execute(sa.select(user.c.id, user.c.username).order_by(user.c.id)).all()
    taken = {name.lower() for _id, name in rows}
    seen: set[str] = set()
    for user_id, name in rows:
        key = name.lower()
        if key in seen:
            suffix = f"_{user_id}"
            new_name = name[: 64 - len(suffix)] + suffix
            n = 1
            while new_name.lower() in taken:
                suffix = f"_{user_id}_{n}"
                new_name = name[: 64 - len(suffix)] + suffix
                n += 1
            print(f"username {name!r} (id {user_id}) differs only in case from an older account: renamed to {new_name!r}")
            taken.add(new_name.lower())
            name, key = new_name, new_name.lower()
        seen.add(key)
        conn.execute(sa.update(user).where(user.c.id == user_id).values(username=name, username_key=key))


def upgrade():
    op.create_table('class_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('student_number', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['school_class.id'], name=op.f('fk_class_invitation_class_id_school_class'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'], name=op.f('fk_class_invitation_invited_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_class_invitation_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_invitation')),
    sa.UniqueConstraint('class_id', 'user_id', name=op.f('uq_class_invitation_class_id'))
    )
    with op.batch_alter_table('class_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_invitation_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_class_invitation_user_id'), ['user_id'], unique=False)

    # attempts graded before this revision have already fed the 错题本: true for them
    with op.batch_alter_table('exam_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('learning_applied', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exam_only', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_item_exam_only'), ['exam_only'], unique=False)

    # two steps: add the key as nullable, fill it (resolving case duplicates), then make it required and unique
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    _fold_usernames()
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('username_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_username_key'), ['username_key'])


def downgrade():
    # renamed duplicates keep their new names: they are valid usernames either way
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_username_key'), type_='unique')
        batch_op.drop_column('session_version')
        batch_op.drop_column('username_key')

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_exam_only'))
        batch_op.drop_column('exam_only')

    with op.batch_alter_table('exam_attempt', schema=None) as batch_op:
        batch_op.drop_column('learning_applied')

    with op.batch_alter_table('class_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_invitation_user_id'))
        batch_op.drop_index(batch_op.f('ix_class_invitation_class_id'))

    op.drop_table('class_invitation')
