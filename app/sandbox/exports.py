"""Downloads of a sandbox's data: CSV files (UTF-8 with BOM, so Excel opens Chinese text), a data dictionary, a zip.

``orders.csv`` has one row per order with the order's real amount; the products of each order are in
``order_lines.csv`` (one row per line; ``line_amount`` = quantity × unit_price, and the lines of an order add up to
its amount). DuckDB writes each file straight from the sandbox's column store (``COPY ... TO``), at disk speed;
the files are built once per sandbox version by a background job and then served as static files.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path
from typing import Any

from app.sandbox import store

BOM = "\ufeff".encode()
ZIP_NAME = "sandbox_data.zip"
DICTIONARY_NAME = "data_dictionary.csv"

# name -> (Chinese label, the query its rows come from). Money and ratios are rounded as the pages show them.
EXPORTS: dict[str, tuple[str, str]] = {
    "customers": ("客户(含订单汇总、RFM、价值层级、推断的生命周期阶段)",
                  "SELECT c.*, coalesce(m.n_orders, 0) AS n_orders, round(coalesce(m.revenue, 0), 2) AS revenue, "
                  "m.last_order_on, m.rfm, m.tier, m.stage FROM customers c "
                  "LEFT JOIN customer_metrics m ON m.customer_id = c.id ORDER BY c.id"),
    "orders": ("订单(每行一笔订单,金额为订单实付金额)",
               "SELECT o.id AS order_id, o.customer_id, o.ordered_on, round(o.amount, 2) AS amount, "
               "round(o.cost, 2) AS cost, o.channel, o.hour, coalesce(l.n_lines, 0) AS n_lines, "
               "coalesce(l.items, 0) AS items FROM orders o LEFT JOIN (SELECT order_id, count(*) AS n_lines, "
               "sum(quantity) AS items FROM order_lines GROUP BY order_id) l ON l.order_id = o.id ORDER BY o.id"),
    "order_lines": ("订单明细(每行一个商品)",
                    "SELECT l.id AS line_id, l.order_id, l.product_id, p.name AS product_name, p.category, "
                    "l.quantity, round(l.unit_price, 2) AS unit_price, "
                    "round(l.quantity * l.unit_price, 2) AS line_amount FROM order_lines l "
                    "JOIN products p ON p.id = l.product_id ORDER BY l.id"),
    "products": ("产品", "SELECT id, name, category, round(unit_price, 2) AS unit_price, "
                         "round(unit_cost, 2) AS unit_cost FROM products ORDER BY id"),
    "interactions": ("客户接触记录", "SELECT * FROM interactions ORDER BY id"),
    "tickets": ("服务工单", "SELECT id, customer_id, opened_on, type, priority, status, resolution, "
                            "round(hours_to_resolve, 4) AS hours_to_resolve, "
                            "CAST(satisfied_with_handling AS INTEGER) AS satisfied_with_handling FROM tickets ORDER BY id"),
    "surveys": ("满意度调查(a=期望,b=感知,c=b/a)",
                "SELECT id, customer_id, surveyed_on, expectation_a, perception_b, round(satisfaction_c, 4) AS "
                "satisfaction_c, CAST(would_recommend AS INTEGER) AS would_recommend FROM surveys ORDER BY id"),
    "campaigns": ("历史营销活动", "SELECT * FROM campaigns ORDER BY id"),
}

# file -> [(column, meaning, unit)]: on the downloads page and, as data_dictionary.csv, in the zip
DICTIONARY: dict[str, list[tuple[str, str, str]]] = {
    "customers": [
        ("id", "客户编号", ""), ("name", "姓名", ""), ("phone", "电话", ""), ("province", "省份", ""),
        ("city", "城市", ""), ("company", "公司(企业客户)", ""), ("kind", "客户类型", ""),
        ("settlement", "结算方式", ""), ("channel", "获客渠道", ""), ("acquired_on", "获客日期", "日期 YYYY-MM-DD"),
        ("owner", "客户经理", ""), ("gender", "性别", ""), ("birth_year", "出生年份", "年"),
        ("n_orders", "历史期内的订单数", "笔"), ("revenue", "历史期内的累计消费(订单金额之和)", "元"),
        ("last_order_on", "最近一次购买日期(无订单为空)", "日期 YYYY-MM-DD"),
        ("rfm", "RFM 单元格(R、F、M 各 1–5 分,5 最好)", "三位数字"), ("tier", "价值层级(按贡献利润)", ""),
        ("stage", "按数据推断的生命周期阶段", ""),
    ],
    "orders": [
        ("order_id", "订单编号", ""), ("customer_id", "客户编号(对应 customers.id)", ""),
        ("ordered_on", "下单日期", "日期 YYYY-MM-DD"), ("amount", "订单金额(实付,等于该订单各明细金额之和)", "元"),
        ("cost", "订单成本", "元"), ("channel", "下单渠道", ""), ("hour", "下单时刻", "时(0–23)"),
        ("n_lines", "订单明细行数", "行"), ("items", "商品件数(各明细数量之和)", "件"),
    ],
    "order_lines": [
        ("line_id", "明细编号", ""), ("order_id", "订单编号(对应 orders.order_id)", ""),
        ("product_id", "产品编号(对应 products.id)", ""), ("product_name", "产品名称", ""),
        ("category", "产品类别", ""), ("quantity", "数量", "件"), ("unit_price", "成交单价", "元/件"),
        ("line_amount", "明细金额 = 数量 × 单价", "元"),
    ],
    "products": [
        ("id", "产品编号", ""), ("name", "产品名称", ""), ("category", "类别", ""),
        ("unit_price", "标价", "元/件"), ("unit_cost", "单位成本", "元/件"),
    ],
    "interactions": [
        ("id", "记录编号", ""), ("customer_id", "客户编号", ""), ("happened_on", "日期", "日期 YYYY-MM-DD"),
        ("kind", "接触方式", ""), ("direction", "方向(呼入/呼出)", ""), ("rep", "员工", ""), ("note", "内容", ""),
    ],
    "tickets": [
        ("id", "工单编号", ""), ("customer_id", "客户编号", ""), ("opened_on", "开单日期", "日期 YYYY-MM-DD"),
        ("type", "问题类型", ""), ("priority", "优先级", ""), ("status", "状态", ""),
        ("resolution", "处理结果", ""), ("hours_to_resolve", "处理用时", "小时"),
        ("satisfied_with_handling", "客户对处理满意", "1 = 是,0 = 否"),
    ],
    "surveys": [
        ("id", "调查编号", ""), ("customer_id", "客户编号", ""), ("surveyed_on", "调查日期", "日期 YYYY-MM-DD"),
        ("expectation_a", "期望 a", "分(1–10)"), ("perception_b", "感知 b", "分(1–10)"),
        ("satisfaction_c", "满意度 c = b / a", "比值"), ("would_recommend", "愿意推荐", "1 = 是,0 = 否"),
    ],
    "campaigns": [
        ("id", "活动编号", ""), ("name", "活动名称", ""), ("channel", "渠道", ""),
        ("cost_per_contact", "每触达一人的成本", "元/人"), ("fixed_cost", "固定成本", "元"),
        ("sent_on", "发送日期", "日期 YYYY-MM-DD"), ("segment_note", "目标人群说明", ""),
    ],
}


def export_dir(sandbox: Any) -> Path:
    return store.data_dir() / "exports" / f"sandbox-{sandbox.id}-v{sandbox.version}"


def export_path(sandbox: Any, name: str) -> Path:
    return export_dir(sandbox) / name


def exports_ready(sandbox: Any) -> bool:
    return export_path(sandbox, ZIP_NAME).is_file()


def delete_exports(sandbox_id: int) -> None:
    for path in (store.data_dir() / "exports").glob(f"sandbox-{sandbox_id}-v*"):
        shutil.rmtree(path, ignore_errors=True)


def _with_bom(source: Path, target: Path) -> None:
    with target.open("wb") as out, source.open("rb") as raw:
        out.write(BOM)
        shutil.copyfileobj(raw, out, 4 * 1024 * 1024)


def write_dictionary(target: Path) -> None:
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["file", "column", "meaning", "unit"])
        for name, columns in DICTIONARY.items():
            for column, meaning, unit in columns:
                writer.writerow([f"{name}.csv", column, meaning, unit])


def write_csvs(sandbox: Any, directory: Path, report: Any = None) -> dict[str, int]:
    """Write every export as <name>.csv (with BOM) plus the data dictionary; return data rows per file."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    steps = len(EXPORTS) + 2
    for i, (name, (label, sql)) in enumerate(EXPORTS.items()):
        if report:
            report(i, steps, f"正在导出{label.split('(')[0]}……")
        raw = directory / f".{name}.csv.partial"
        counts[name] = store.copy_csv(sandbox, sql, raw)
        _with_bom(raw, directory / f"{name}.csv")
        raw.unlink()
    write_dictionary(directory / DICTIONARY_NAME)
    return counts


def build_exports(sandbox: Any, report: Any = None) -> dict[str, int]:
    """Build the sandbox version's download files and zip (what the downloads page serves)."""
    target = export_dir(sandbox)
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    counts = write_csvs(sandbox, work, report)
    if report:
        report(len(EXPORTS), len(EXPORTS) + 2, "正在打包……")
    with zipfile.ZipFile(work / ZIP_NAME, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in (*EXPORTS, DICTIONARY_NAME.removesuffix(".csv")):
            archive.write(work / f"{name}.csv", f"{name}.csv")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    if report:
        report(len(EXPORTS) + 2, len(EXPORTS) + 2, "下载文件已准备好。")
    return counts
