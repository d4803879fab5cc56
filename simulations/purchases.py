"""What customers buy: order counts and dates, channels and hours, baskets with planted rules, amounts and costs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulations import catalog
from simulations.analytics import sorted_unique
from simulations.common import (
    BoolArray,
    DateArray,
    FloatArray,
    Grid,
    IntArray,
    Table,
    choice_by_group,
    money,
    weighted_days,
)
from simulations.lifecycle import ORDER_VALUE_FACTOR, PRICE_DISCOUNT, SERVICE_COST_FACTOR
from simulations.population import KINDS, Customers, product_weights
from simulations.scenarios import Scenario


def season_factor(grid: Grid, months: int, on: bool) -> FloatArray:
    """Return a mild seasonal factor per month (春节, 618, 双十一, 年末)."""
    if not on:
        return np.ones(months)
    cal = (grid.first + np.arange(months).astype("timedelta64[M]")).astype(int) % 12 + 1
    factor = {1: 1.08, 2: 0.88, 6: 1.06, 11: 1.15, 12: 1.06}
    return np.array([factor.get(int(m), 1.0) for m in cal])


@dataclass
class Orders:
    """Orders in date order: customer, month number, date and the customer's stage then."""

    customer: IntArray
    month: IntArray
    date: DateArray
    stage: npt.NDArray[np.int8]


def draw_orders(rng: np.random.Generator, sc: Scenario, grid: Grid, cust: Customers, lam: FloatArray,
                codes: npt.NDArray[np.int8]) -> Orders:
    """Draw Poisson order counts per customer-month plus each new customer's first order on acquisition day."""
    counts = rng.poisson(lam)
    cells = np.flatnonzero(counts)
    reps = np.repeat(cells, counts.ravel()[cells])
    customer, month = np.divmod(reps, lam.shape[1])
    lo = np.where(month == cust.start[customer], cust.acq_offset[customer], 0)
    date = weighted_days(rng, grid, month, sc.weekday, lo)
    first = np.flatnonzero(cust.in_window)
    customer = np.concatenate([first, customer])
    month = np.concatenate([cust.start[first], month])
    date = np.concatenate([cust.table["acquired_on"][first], date])
    order = np.argsort((date - np.datetime64("1970-01-01")).astype(np.int64) * (cust.g.size + 1) + customer,
                       kind="stable")
    customer, month, date = customer[order], month[order], date[order]
    return Orders(customer.astype(np.int64), month.astype(np.int64), date, codes[customer, month])


def order_hours(rng: np.random.Generator, sc: Scenario, channel: IntArray, segment: IntArray) -> IntArray:
    """Draw the hour of each order: by time-of-day segment (convenience) or by order channel."""
    h = np.arange(24)
    if sc.time_segments:
        table = []
        for seg in catalog.TIME_SEGMENTS:
            w = np.where((h >= 7) & (h <= 23), 0.25, 0.06)
            w[list(seg[2])] = 4.0
            table.append(w)
        return choice_by_group(rng, np.array(table), segment)
    online = np.array([2, 1, 0.5, 0.2, 0.1, 0.1, 0.3, 1, 2, 3, 4, 4, 5, 4, 3, 3, 3, 3, 4, 6, 8, 9, 7, 4])
    store = np.array([0, 0, 0, 0, 0, 0, 0, 0.5, 2, 4, 6, 6, 5, 4, 4, 4, 5, 6, 7, 7, 5, 3, 1, 0])
    phone = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 6, 8, 8, 3, 4, 7, 7, 6, 4, 1, 0.5, 0, 0, 0, 0])
    return choice_by_group(rng, np.array([online, store, phone], dtype=np.float64), channel)


def draw_lines(rng: np.random.Generator, sc: Scenario, items: list[catalog.Item], weights: FloatArray, group: IntArray,
               male: BoolArray, value: FloatArray) -> tuple[IntArray, IntArray, BoolArray]:
    """Draw the distinct products of each order and plant the association rules; return (order, product, add-on).

    A product priced above twice its line's share of the order value is swapped for an affordable one (the
    planted antecedents excepted), so small customers do not buy laptops by chance and spend follows the
    customer's order value.
    """
    n_orders = group.size
    p = len(items)
    names = [it.name for it in items]
    k = 1 + np.minimum(rng.poisson(sc.lines_mean - 1.0, n_orders), 11)
    order = np.repeat(np.arange(n_orders, dtype=np.int64), k)
    product = choice_by_group(rng, weights, group[order])
    price = np.array([it.price for it in items])
    budget = 2.0 * value[order] / k[order]
    keep = np.zeros(p, dtype=bool)
    keep[[names.index(rule[0]) for rule in catalog.PLANTED_RULES[sc.name]]] = True
    swap = np.flatnonzero((price[product] > budget) & ~keep[product])
    for _ in range(4):  # redraw by popularity; what is still too dear after that gets a random affordable item
        product[swap] = choice_by_group(rng, weights, group[order[swap]])
        swap = swap[price[product[swap]] > budget[swap]]  # a redrawn antecedent must be affordable too
    by_price = np.argsort(price, kind="stable")
    affordable = np.maximum(np.searchsorted(price[by_price], budget[swap], side="right"), 1)
    product[swap] = by_price[np.floor(rng.random(swap.size) * affordable).astype(np.int64)]
    keys = sorted_unique(order * p + product)  # duplicates within an order merge into one line
    o, pr = np.divmod(keys, p)
    added: list[IntArray] = []
    for antecedent, consequent, prob, _, _ in catalog.PLANTED_RULES[sc.name]:
        a, b = names.index(antecedent), names.index(consequent)
        has_a = np.zeros(n_orders, dtype=bool)
        has_a[o[pr == a]] = True
        has_b = np.zeros(n_orders, dtype=bool)
        has_b[o[pr == b]] = True
        if added:
            extra_o, extra_p = np.divmod(np.concatenate(added), p)
            has_b[extra_o[extra_p == b]] = True
        q = np.full(n_orders, prob)
        if sc.parent_share > 0:  # 先生们 add the beer: men more often than women
            q = np.where(male, min(prob + 0.2, 0.95), max(prob - 0.2, 0.05))
        add = np.flatnonzero(has_a & ~has_b & (rng.random(n_orders) < q))
        added.append(add * p + b)
    extra = np.concatenate(added) if added else np.zeros(0, dtype=np.int64)
    tagged = np.sort(np.concatenate([keys * 2, extra * 2 + 1]), kind="stable")  # two sorted runs: merged in linear time
    addon = (tagged & 1).astype(bool)
    line_order, line_product = np.divmod(tagged >> 1, p)
    return line_order, line_product, addon


def order_tables(rng: np.random.Generator, line_rng: np.random.Generator, sc: Scenario, cust: Customers,
                 orders: Orders, products: Table, items: list[catalog.Item]) -> dict[str, Table]:
    """Build the orders and order_lines tables: channels, hours, baskets, prices, amounts and costs."""
    k = orders.customer.size
    kind = cust.kind[orders.customer]
    prefer = choice_by_group(rng, np.array([sc.channel_probs[kk] for kk in KINDS]), cust.kind)
    channel = np.where(rng.random(k) < 0.8, prefer[orders.customer],
                       choice_by_group(rng, np.array([sc.channel_probs[kk] for kk in KINDS]), kind))
    hour = order_hours(rng, sc, channel, cust.segment[orders.customer])
    stage = orders.stage.astype(np.int64)
    value = cust.theta[orders.customer] * ORDER_VALUE_FACTOR[stage] * rng.gamma(2.0, 0.5, k)

    weights = product_weights(sc, items, line_rng)
    if sc.time_segments or sc.parent_share > 0:
        group = cust.segment[orders.customer]
    elif sc.name == "default":
        group = kind
    else:
        group = np.zeros(k, dtype=np.int64)
    male = ~cust.female[orders.customer]
    line_order, line_product, addon = draw_lines(line_rng, sc, items, weights, group, male, value)
    # (intermediates of a line or an order are dropped as soon as they are used: the generator's peak memory)
    del group, male
    discount = (1.0 - PRICE_DISCOUNT[stage]) * np.array([1.0, 0.95, 0.85, 1.0])[kind]
    unit_cost = products["unit_cost"][line_product]
    floor = np.ceil(unit_cost * catalog.MIN_MARKUP * 100.0) / 100.0  # no sale below cost (no loss-leaders)
    unit_price = np.maximum(money(products["unit_price"][line_product] * discount[line_order]), floor)
    del floor, discount
    np.maximum(unit_price, 0.01, out=unit_price)
    n_main = np.bincount(line_order[~addon], minlength=k)
    share = value[line_order] / np.maximum(n_main[line_order], 1)
    del n_main, value
    quantity = np.clip(np.round(share / unit_price), 1, 9999).astype(np.int64)
    del share
    names = [it.name for it in items]
    for _, consequent, _, qty, _ in catalog.PLANTED_RULES[sc.name]:  # the add-on line's fixed quantity
        quantity[addon & (line_product == names.index(consequent))] = qty
    del addon
    amount = money(np.bincount(line_order, weights=quantity * unit_price, minlength=k))
    cogs = np.bincount(line_order, weights=quantity * unit_cost, minlength=k)
    del unit_cost
    fee_by_kind = np.array([sc.service_fee[kk] for kk in KINDS])
    fee = fee_by_kind[kind] * SERVICE_COST_FACTOR[stage] * np.array([0.8, 0.6, 1.3])[channel]  # 线上 门店 电话
    del kind, stage
    earned = np.maximum(amount - cogs - 0.02 * amount, 0.0)
    fee = np.minimum(fee, catalog.MAX_SERVICE_SHARE * earned)  # cost to serve is capped by what the order earns
    del earned
    cost = np.minimum(money(cogs + fee + 0.02 * amount), amount)
    del cogs, fee
    order_table: Table = {
        "id": np.arange(1, k + 1, dtype=np.int64),
        "customer_id": orders.customer + 1,
        "ordered_on": orders.date.astype("datetime64[D]"),
        "amount": amount,
        "cost": cost,
        "channel": np.array(catalog.ORDER_CHANNELS)[channel],
        "hour": hour.astype(np.int64, copy=False),
    }
    line_order += 1  # ids from here on (in place: the 0-based positions are not needed any more)
    line_product += 1
    line_table: Table = {
        "id": np.arange(1, line_order.size + 1, dtype=np.int64),
        "order_id": line_order,
        "product_id": line_product,
        "quantity": quantity,
        "unit_price": unit_price,
    }
    return {"orders": order_table, "order_lines": line_table}
