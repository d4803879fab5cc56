"""CSV exports of a sandbox's generated data (UTF-8 with BOM so Excel opens Chinese text correctly).

Rows stream from the database in id ranges (each range one complete query, so a client that goes away mid-download
leaves no open cursor behind); nothing holds a whole table in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.models.sandbox import (
    sb_campaign,
    sb_customer,
    sb_customer_metric,
    sb_interaction,
    sb_order,
    sb_order_line,
    sb_product,
    sb_survey,
    sb_ticket,
)

BOM = "\ufeff"
CHUNK = 5000


def _columns(table: sa.Table) -> list[sa.Column]:
    return [c for c in table.columns if c.name != "sandbox_id"]


def _orders_with_lines(sandbox_id: int) -> sa.Select:
    line, order, product = sb_order_line, sb_order, sb_product
    return (sa.select(order.c.id.label("order_id"), order.c.customer_id, order.c.ordered_on, order.c.amount,
                      order.c.cost, order.c.channel, order.c.hour, line.c.id.label("line_id"), line.c.product_id,
                      product.c.name.label("product_name"), product.c.category, line.c.quantity, line.c.unit_price)
            .select_from(order.outerjoin(line, sa.and_(line.c.sandbox_id == order.c.sandbox_id,
                                                       line.c.order_id == order.c.id))
                         .outerjoin(product, sa.and_(product.c.sandbox_id == line.c.sandbox_id,
                                                     product.c.id == line.c.product_id)))
            .where(order.c.sandbox_id == sandbox_id).order_by(order.c.id, line.c.id))


def _plain(table: sa.Table) -> tuple[Callable[[int], sa.Select], sa.Column]:
    def select(sandbox_id: int) -> sa.Select:
        return sa.select(*_columns(table)).where(table.c.sandbox_id == sandbox_id).order_by(table.c.id)
    return select, table.c.id


def _customers(sandbox_id: int) -> sa.Select:
    m = sb_customer_metric
    return (sa.select(*_columns(sb_customer), m.c.n_orders, m.c.revenue, m.c.last_order_on, m.c.rfm, m.c.tier,
                      m.c.stage)
            .select_from(sb_customer.outerjoin(m, sa.and_(m.c.sandbox_id == sb_customer.c.sandbox_id,
                                                          m.c.customer_id == sb_customer.c.id)))
            .where(sb_customer.c.sandbox_id == sandbox_id).order_by(sb_customer.c.id))


# name -> (Chinese label, select builder, the id column its rows are chunked by)
EXPORTS = {
    "customers": ("客户（含订单汇总、RFM、价值层级、推断的生命周期阶段）", _customers, sb_customer.c.id),
    "orders": ("订单及订单明细（每行一个明细）", _orders_with_lines, sb_order.c.id),
    "products": ("产品", *_plain(sb_product)),
    "interactions": ("客户接触记录", *_plain(sb_interaction)),
    "tickets": ("服务工单", *_plain(sb_ticket)),
    "surveys": ("满意度调查（a=期望，b=感知，c=b/a）", *_plain(sb_survey)),
    "campaigns": ("历史营销活动", *_plain(sb_campaign)),
}


def _format(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def iter_csv(name: str, sandbox_id: int, bom: bool = True, counter: list[int] | None = None) -> Iterator[str]:
    """The CSV text of one export in chunks: a BOM, the header, then rows (counted into ``counter``)."""
    _label, build, key = EXPORTS[name]
    select = build(sandbox_id)
    top = db.session.scalar(sa.select(sa.func.max(key.table.c.id)).where(key.table.c.sandbox_id == sandbox_id)) or 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write(BOM)
    writer.writerow([c.name for c in select.selected_columns])
    for start in range(0, top, CHUNK):
        rows = db.session.execute(select.where(key > start, key <= start + CHUNK)).all()
        for row in rows:
            writer.writerow([_format(v) for v in row])
        if counter is not None:
            counter[0] += len(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def export_all(sandbox_id: int, directory: Path) -> dict[str, int]:
    """Write every export as <name>.csv into a directory; return the number of data rows per file."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in EXPORTS:
        counter = [0]
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            for chunk in iter_csv(name, sandbox_id, counter=counter):
                handle.write(chunk)
        counts[name] = counter[0]
    return counts
