"""search: the bigram index becomes a table of the schema, with each item's position (words' rows in bank order)

Revision ID: b1e4a9c20d57
Revises: 5ec0a7d1b2c3
Create Date: 2026-11-27 21:10:00.000000

``item_bigram`` was created by the bank sync (``CREATE TABLE IF NOT EXISTS``) as (gram, item_id). It becomes
(gram, position, item_id) so the rows of one two-character window come in bank order: the first page of a search
walks the index and stops after 20 hits instead of sorting every match. The SQLite FTS5 trigram table it replaces
is dropped. ``item_bigram_count`` says how many items hold each window (a search walks its rarest window's
rows). The upgrade fills the new table from ``item.search_text`` (the same windows as
``app.bank.services.bigrams``), so search works before the next ``flask bank sync``.
"""
from collections import Counter

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b1e4a9c20d57'
down_revision = '5ec0a7d1b2c3'
branch_labels = None
depends_on = None


def _windows(text: str) -> set[str]:
    """Copy of app.bank.services.bigrams at this revision (a migration does not import the app's code)."""
    text = (text or "").replace("\u0130", "i").casefold()
    return {text[i:i + 2] for i in range(len(text) - 1) if not (text[i].isspace() or text[i + 1].isspace())}


def upgrade():
    op.execute("DROP TABLE IF EXISTS item_bigram")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS item_fts")
    op.create_table(
        'item_bigram',
        sa.Column('gram', sa.String(length=2), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_bigram_item_id_item'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('gram', 'position', 'item_id', name=op.f('pk_item_bigram')),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f('ix_item_bigram_item_id'), 'item_bigram', ['item_id'], unique=False)
    op.create_table(
        'item_bigram_count',
        sa.Column('gram', sa.String(length=2), nullable=False),
        sa.Column('item_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('gram', name=op.f('pk_item_bigram_count')),
    )
    conn = op.get_bind()
    item = sa.table("item", sa.column("id", sa.Integer), sa.column("position", sa.Integer),
                    sa.column("search_text", sa.Text))
    bigram = sa.table("item_bigram", sa.column("gram"), sa.column("position"), sa.column("item_id"))
    rows = [{"gram": gram, "position": position, "item_id": item_id}
            for item_id, position, text in conn.execute(sa.select(item.c.id, item.c.position, item.c.search_text))
            for gram in _windows(text)]
    for start in range(0, len(rows), 50_000):
        conn.execute(sa.insert(bigram), rows[start:start + 50_000])
    counts = Counter(row["gram"] for row in rows)
    if counts:
        count = sa.table("item_bigram_count", sa.column("gram"), sa.column("item_count"))
        conn.execute(sa.insert(count), [{"gram": gram, "item_count": n} for gram, n in counts.items()])


def downgrade():
    """Bring back the previous code's index: (gram, item_id) with lower-cased windows, and FTS5 trigrams on SQLite."""
    op.drop_table('item_bigram_count')
    op.drop_index(op.f('ix_item_bigram_item_id'), table_name='item_bigram')
    op.drop_table('item_bigram')
    conn = op.get_bind()
    op.execute("CREATE TABLE item_bigram (gram VARCHAR(2) NOT NULL, item_id INTEGER NOT NULL, "
               "PRIMARY KEY (gram, item_id))")
    item = sa.table("item", sa.column("id", sa.Integer), sa.column("search_text", sa.Text))
    rows = []
    for item_id, text in conn.execute(sa.select(item.c.id, item.c.search_text)):
        text = (text or "").lower()
        rows += [{"g": g, "id": item_id} for g in {text[i:i + 2] for i in range(len(text) - 1)
                                                   if not (text[i].isspace() or text[i + 1].isspace())}]
    for start in range(0, len(rows), 50_000):
        conn.execute(sa.text("INSERT INTO item_bigram (gram, item_id) VALUES (:g, :id)"), rows[start:start + 50_000])
    if conn.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE IF NOT EXISTS item_fts USING fts5(body, tokenize='trigram')")
        op.execute("INSERT INTO item_fts(rowid, body) SELECT id, search_text FROM item")
