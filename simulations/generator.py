"""Generate a synthetic company: observable CRM tables (numpy columns) plus the hidden truth behind them.

The behaviour model (all draws from numpy generators seeded by ``(seed, stream)``; Faker, seeded the same way,
only builds pools of names, which numpy then samples):

* **Customers** have a kind (消费者/企业/渠道/内部客户), an acquisition month (some before the observed history),
  a monthly order rate ``g`` (gamma heterogeneity) and a mean order value ``theta`` (log-normal heterogeneity,
  larger for 企业 and 渠道). Together they give the course's 80/20 rule (seed 001: "企业80% 的利益或收入是从20%的
  客户中获得的"): on the default scenario the top 20 % of customers make about 75-85 % of revenue.
* **Lifecycle** (seed 000: "客户生命周期可分为识别期期、形成期、稳定期和退化期等四个阶段"): per customer,
  考察期 lasts 1-4 months with small trial orders (volume x0.4, order value x0.45, highest cost to serve); a
  quarter of customers drop out right after it (acquisition channel moves that share); 形成期 lasts 2-9 months with
  volume ramping 0.45 -> 0.95; 稳定期 has the highest volume, no discount (highest willingness to pay) and the
  lowest cost to serve, and lasts 4 months plus a geometric tail; 退化期 (2-8 months) ramps volume 0.7 -> 0.2 while
  the customer's own business does not change (the rep's notes say so); then 已流失. A fifth of churned customers
  come back after a gap (a second 形成期 then 稳定期): ``truth.reactivated``.
* **Purchases**: orders per customer-month are Poisson with mean ``s * g * factor(stage) * season * effects``
  (``s`` calibrated so that the default gives about 20 orders per customer over 24 months); each acquired-in-window
  customer also has a first order on the acquisition day. An order's target value is gamma-distributed (shape 2)
  around ``theta * value_factor(stage)``; it is split over 1 + Poisson lines of products drawn by popularity, and
  quantities are set from the target, so ``amount`` = sum of its lines. ``cost`` = cost of goods + cost to serve.
* **Planted association**: for each rule in ``catalog.PLANTED_RULES`` the antecedent sits in a set share of
  orders and an order holding it gets the consequent with a set probability (沃尔玛: 尿布 -> two cans of 啤酒).
  ``truth.rules`` holds the support, confidence and lift measured on the generated baskets.
* **Tickets** arrive in proportion to expected orders (more in 考察期 and 退化期). Handler quality sets the time to
  resolve, the chance of closing unresolved and satisfaction with handling. Outcomes follow seed 003's 可口可乐
  survey: of the unsatisfied, 1/3 boycott (the relationship ends next month) and 45 % buy less (退化期 starts);
  10 % of the satisfied buy more (x1.3). Word of mouth (satisfied tell 4-5 people, unsatisfied 9-10, 12 % of
  complainants tell 20+) is recorded in the truth. The coca_cola_complaints scenario has five times the complaints
  and a wider spread of handler quality.
* **Surveys**: expectation ``a`` and perception ``b`` on 1-10, ``c = b/a`` (seed 001: "c=b/a"); ``b`` rises with
  the stage and with satisfying ticket handling before the survey, falls with unsatisfying handling. After the
  survey the order rate is multiplied by clip(0.55 + 0.5 c, 0.75, 1.2): higher c, more repurchase.
* **Campaign response** (hidden): propensity grows with the customer's expected orders in the last month and
  with attention after a recent purchase (seed 001: "最好的第五级回函率是第四级的三倍,因为这些客户刚完成交易不久");
  the response value is the customer's current mean order value, so RFM targeting beats random contact while the
  best two M quintiles answer at similar rates ("最好与次好的平均回复率,几乎没有显著差异").

Realism (measured in tests/test_realism.py): names combine Faker zh_CN's surnames (by frequency) and the
characters of its given names, repeats mostly redrawn (99.8 % unique at 100,000 customers); every customer is 18 or
older when acquired; orders and acquisitions follow a weekday profile per scenario (an office-supply seller is quiet
at weekends, a hypermarket busiest); unit costs follow gross margins by category, no sale goes below cost and the
cost to serve is capped by what an order earns, so no order costs more than its amount; seasonal campaigns
(春节, 双十一, 年中答谢) are sent in their season; customers who never bought in the history are 潜在客户 (prospects),
not lost customers.

Scenarios (``scenarios.SCENARIO_CONFIGS``): walmart_basket (retail baskets of ~4 lines, diaper-buying young
parents, strong 尿布 -> 啤酒 rule), cosmetics_members (half the members join at the June graduation show — seed
003's 化妆品公司 — with channel 校园活动; cohort retention in the truth), coca_cola_complaints (complaint handling
drives churn and word of mouth), convenience_time_of_day (seed 003's 7-11: four time-of-day segments with their
own hours, products and gender mix).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from simulations import catalog
from simulations.analytics import PROSPECT, rule_statistics, value_tiers
from simulations.common import BoolArray, DateArray, FloatArray, Grid, IntArray, StrArray, Table, money, rng_for
from simulations.lifecycle import (
    CHURNED,
    DECLINE,
    NEVER,
    ORDER_VALUE_FACTOR,
    PRICE_DISCOUNT,
    TRIAL,
    Timeline,
    draw_timeline,
    reactivate,
    stage_names,
)
from simulations.population import Customers, build_pools, build_products, draw_customers
from simulations.purchases import draw_orders, order_tables, season_factor
from simulations.scenarios import SCENARIO_CONFIGS, Scenario
from simulations.service import (
    Surveys,
    Tickets,
    concat_tickets,
    draw_campaigns,
    draw_interactions,
    draw_surveys,
    draw_tickets,
    select_tickets,
    ticket_outcomes,
    ticket_table,
)


@dataclass(frozen=True)
class Params:
    """What an instructor chooses: size, history length, end date, scenario and catalogue size."""

    n_customers: int = 2000
    months: int = 24  # history length ending at as_of
    as_of: datetime.date = datetime.date(2026, 6, 30)
    scenario: str = "default"  # default | walmart_basket | cosmetics_members | coca_cola_complaints | convenience_time_of_day
    n_products: int = 60
    n_reps: int = 12


@dataclass
class Truth:
    """The hidden state behind the tables: what exercise checkers compare students' answers with."""

    stage: StrArray  # per customer at as_of: 考察期/形成期/稳定期/退化期/已流失, 潜在客户 if never bought
    churned: BoolArray
    reactivated: BoolArray
    value_tier: StrArray  # VIP/主要/普通/小客户 by true profit contribution
    profit: FloatArray  # true profit contribution over the history (orders minus ticket handling)
    propensity: FloatArray  # campaign response probability
    response_value: FloatArray  # expected revenue of a response
    rules: list[dict[str, Any]]  # planted association rules measured on the generated baskets
    stage_history: npt.NDArray[np.int8]  # customers x months, index into STAGES, -1 before acquisition
    month_starts: DateArray  # first day of each month of the history
    order_rate: FloatArray  # expected orders per month in 稳定期
    order_value: FloatArray  # mean order value in 稳定期
    segment: StrArray  # scenario segment (time-of-day segment, 毕业季会员, 有婴儿家庭, or the customer kind)
    cohort_year: IntArray  # cosmetics: graduation cohort year, 0 for other customers
    cohort_retention: dict[str, list[float]]  # cohort year -> share not yet lost 1, 2, ... years after joining
    ticket_effect: StrArray  # per ticket: 完全抵制/减少购买/增加购买/不变
    ticket_told: IntArray  # per ticket: people the complainant told about the handling
    ticket_quality: FloatArray  # per ticket: handler quality 0-1
    survey_effect: FloatArray  # per survey: order-rate multiplier applied after it
    facts: dict[str, Any] = field(default_factory=dict)  # scenario figures and summaries


@dataclass
class Company:
    """A generated company: its parameters, seed, observable tables and hidden truth."""

    params: Params
    seed: int
    tables: dict[str, Table]
    truth: Truth


def _validate(params: Params, seed: int) -> Scenario:
    """Check parameters and return the scenario's configuration."""
    if params.scenario not in SCENARIO_CONFIGS:
        raise ValueError(f"unknown scenario {params.scenario!r}; choose one of {', '.join(SCENARIO_CONFIGS)}")
    if params.n_customers < 1 or params.months < 1 or params.n_reps < 1:
        raise ValueError("n_customers, months and n_reps must be positive")
    if not 0 <= seed < 2**63:
        raise ValueError("seed must be a non-negative integer below 2**63")
    return SCENARIO_CONFIGS[params.scenario]


def generate(params: Params, seed: int) -> Company:
    """Generate a company deterministically from parameters and a seed."""
    sc = _validate(params, seed)
    n, months = params.n_customers, params.months
    grid = Grid(months, np.datetime64(params.as_of, "D"), np.datetime64(params.as_of, "M") - (months - 1))
    pools = build_pools(seed, params.n_reps, rng_for(seed, "pools"))
    cust = draw_customers(n, months, sc, grid, pools, rng_for(seed, "customers"))
    products, items = build_products(params.n_products, sc, rng_for(seed, "products"))

    # Lifecycle, then complaints that can cut it short, then reactivation.
    rng = rng_for(seed, "timeline")
    tl = draw_timeline(rng, cust.start, cust.fail_share)
    season = season_factor(grid, months, sc.seasonality)
    codes = tl.matrix(months)
    target = sc.orders_per_customer_24m / 24.0 * n * months - cust.in_window.sum()
    base = cust.g[:, None] * tl.factor(codes) * season[None, :]
    scale = max(target, 1.0) / max(float(base.sum()), 1e-9)
    rep_quality = 1.0 - sc.handling_spread * rng_for(seed, "reps").random(pools.reps.size)
    trng = rng_for(seed, "tickets")
    tickets = draw_tickets(trng, sc, grid, cust, rep_quality, scale * base, codes)
    boycott, boost_from = ticket_outcomes(trng, sc, tickets, tl, n)
    codes = tl.matrix(months)
    tickets = select_tickets(tickets, codes[tickets.customer, tickets.month] != CHURNED)
    reactivated = reactivate(rng, tl, months, sc.reactivation, boycott)
    codes_after = tl.matrix(months)
    second = np.arange(months)[None, :] >= tl.back[:, None]
    base = cust.g[:, None] * tl.factor(codes_after) * season[None, :]
    more = draw_tickets(trng, sc, grid, cust, rep_quality, np.where(second, scale * base, 0.0), codes_after)
    more.told = np.where(more.status != 1, np.where(more.satisfied, 4, 9), 0).astype(np.int64)
    tickets = concat_tickets(tickets, more)
    codes = codes_after

    # Surveys, then the final order intensity with every multiplier.
    surveys = draw_surveys(rng_for(seed, "surveys"), sc, grid, cust, codes, tickets)
    m = np.arange(months)[None, :]
    effects = np.where(m >= boost_from[:, None], 1.3, 1.0)
    survey_from = np.full(n, NEVER, dtype=np.int64)
    survey_mult = np.ones(n)
    survey_from[surveys.customer] = surveys.month + 1
    survey_mult[surveys.customer] = surveys.effect
    effects = effects * np.where(m >= survey_from[:, None], survey_mult[:, None], 1.0)
    final_scale = max(target, 1.0) / max(float((base * effects).sum()), 1e-9)
    lam = base * effects * final_scale
    del base, effects, second, m  # (customers x months matrices: the peak memory comes next, with the orders)

    orng = rng_for(seed, "orders")
    orders = draw_orders(orng, sc, grid, cust, lam, codes)
    tables = order_tables(orng, rng_for(seed, "lines"), sc, cust, orders, products, items)
    del orders
    tables["customers"] = cust.table
    tables["products"] = products
    tables["tickets"] = ticket_table(rng_for(seed, "ticket_text"), tickets)
    tables["surveys"] = {
        "id": np.arange(1, surveys.customer.size + 1, dtype=np.int64),
        "customer_id": surveys.customer + 1,
        "surveyed_on": surveys.date.astype("datetime64[D]"),
        "expectation_a": surveys.a.astype(np.float64),
        "perception_b": surveys.b.astype(np.float64),
        "satisfaction_c": surveys.c.astype(np.float64),
        "would_recommend": surveys.recommend,
    }
    tables["interactions"] = draw_interactions(rng_for(seed, "interactions"), grid, cust, codes, pools)
    tables["campaigns"] = draw_campaigns(rng_for(seed, "campaigns"), grid, months)
    ordered = {name: tables[name] for name in ("customers", "products", "orders", "order_lines", "interactions",
                                               "tickets", "surveys", "campaigns")}
    truth = _truth(rng_for(seed, "truth"), params, sc, grid, cust, tl, codes, lam, cust.g * final_scale, ordered,
                   tickets, surveys, reactivated)
    return Company(params, seed, ordered, truth)


def _truth(rng: np.random.Generator, params: Params, sc: Scenario, grid: Grid, cust: Customers, tl: Timeline,
           codes: npt.NDArray[np.int8], lam: FloatArray, order_rate: FloatArray, tables: dict[str, Table],
           tickets: Tickets, surveys: Surveys, reactivated: BoolArray) -> Truth:
    """Assemble the hidden truth: stages, tiers, propensities, planted rules, cohorts and scenario facts."""
    n, months = params.n_customers, params.months
    last = codes[:, months - 1].astype(np.int64)
    orders = tables["orders"]
    margin = np.bincount(orders["customer_id"] - 1, weights=orders["amount"] - orders["cost"], minlength=n)
    handling = np.bincount(tickets.customer, weights=30.0 + 2.0 * tickets.hours, minlength=n)
    profit = money(margin - handling)
    # Response: engaged customers (high expected orders now) respond more, and a recent buyer pays attention
    # (seed 001: "最好的第五级回函率是第四级的三倍,因为这些客户刚完成交易不久,所以会更注意同一公司的产品信息").
    expected_now = lam[:, months - 1]
    last_order = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_order, orders["customer_id"] - 1, (orders["ordered_on"] - np.datetime64("1970-01-01")).astype(
        np.int64))
    recency = np.where(last_order > np.iinfo(np.int64).min,
                       (grid.as_of - np.datetime64("1970-01-01")).astype(np.int64) - last_order, 10_000)
    attention = 0.15 + 0.85 * np.exp(-recency / 8.0)
    engaged = 1.0 - np.exp(-expected_now / 0.8)
    propensity = (0.004 + 0.25 * engaged * attention) * np.exp(rng.normal(0, 0.25, n))
    propensity = np.clip(propensity, 0.001, 0.6)
    now = np.where(last == CHURNED, DECLINE, np.maximum(last, TRIAL))
    kind_price = np.array([1.0, 0.95, 0.85, 1.0])[cust.kind]
    response_value = money(cust.theta * ORDER_VALUE_FACTOR[now] * (1.0 - PRICE_DISCOUNT[now]) * kind_price)

    lines = tables["order_lines"]
    names = tables["products"]["name"]
    n_orders = int(orders["id"].size)
    rules = []
    for antecedent, consequent, prob, qty, share in catalog.PLANTED_RULES[sc.name]:
        a = int(np.flatnonzero(names == antecedent)[0]) + 1
        b = int(np.flatnonzero(names == consequent)[0]) + 1
        for x, y, direction in ((a, b, "planted"), (b, a, "reverse")):
            rule = rule_statistics(lines["order_id"], lines["product_id"], x, y, n_orders=n_orders)
            rules.append({
                "antecedent": str(names[x - 1]), "consequent": str(names[y - 1]),
                "antecedent_id": x, "consequent_id": y, "direction": direction,
                "support": rule["support"], "confidence": rule["confidence"], "lift": rule["lift"],
                "planted_probability": prob, "added_quantity": qty, "antecedent_share_target": share,
            })

    cohort_retention: dict[str, list[float]] = {}
    cohort_active: dict[str, list[float]] = {}
    facts: dict[str, Any] = {"scenario": sc.name, "label": sc.label}
    if sc.cohort_share > 0:
        cohort_sizes: dict[str, int] = {}
        for year in sorted(set(cust.cohort_year[cust.cohort_year > 0].tolist())):
            members = np.flatnonzero(cust.cohort_year == year)
            start = cust.start[members]
            kept, active = [], []
            for k in range(1, 10):
                at = start + 12 * k
                if int(at[0]) > months - 1:
                    break
                kept.append(round(float(np.mean(tl.churn[members] > at)), 4))
                active.append(round(float(np.mean(tl.codes_at_subset(members, at) != CHURNED)), 4))
            cohort_retention[str(year)] = kept
            cohort_active[str(year)] = active
            cohort_sizes[str(year)] = int(members.size)
        facts.update({
            "event": "每年6月第三个周六为应届女毕业生举办服装表演会与美容教学(seed 003 化妆品公司案例)",
            "attendance_rate": 0.92, "signup_rate": 0.75, "cohort_sizes": cohort_sizes,
            "cohort_active": cohort_active,  # share not 已流失 at each anniversary (comebacks count again)
            "graduates": {y: int(round(s / (0.92 * 0.75))) for y, s in cohort_sizes.items()},
        })
    if sc.time_segments:
        facts["time_segments"] = {s[0]: {"share": s[1], "peak_hours": list(s[2]), "female_share": s[3],
                                         "favourite_categories": list(s[4])} for s in catalog.TIME_SEGMENTS}
    if sc.parent_share > 0:
        facts["parent_share"] = float(np.mean(cust.segment == 1))
    closed = tickets.status != 1
    facts["complaints"] = {
        "source": "seed 003 可口可乐的客户调查",
        "boycott_share_of_unsatisfied": sc.boycott_share, "reduce_share_of_unsatisfied": sc.reduce_share,
        "increase_share_of_satisfied": sc.increase_share,
        "tickets": int(tickets.customer.size), "closed": int(closed.sum()),
        "satisfied_share_of_closed": float(np.mean(tickets.satisfied[closed])) if closed.any() else 0.0,
        "mean_told_satisfied": float(np.mean(tickets.told[closed & tickets.satisfied]))
        if (closed & tickets.satisfied).any() else 0.0,
        "mean_told_unsatisfied": float(np.mean(tickets.told[closed & ~tickets.satisfied]))
        if (closed & ~tickets.satisfied).any() else 0.0,
        "effects": {e: int(np.sum(tickets.effect == e)) for e in ("完全抵制", "减少购买", "增加购买", "不变")},
    }
    # Tickets in table order (opened_on, customer) so per-ticket truth lines up with tables["tickets"]["id"].
    t_order = np.lexsort((tickets.customer, tickets.opened))
    # Who never bought in the history is a prospect (潜在客户, 未转化) in the CRM, whatever happened before it.
    never_bought = np.bincount(orders["customer_id"] - 1, minlength=n) == 0
    stage = stage_names(last.astype(np.int8)).astype("<U4")
    stage[never_bought] = PROSPECT
    return Truth(
        stage=stage,
        churned=(last == CHURNED) & ~never_bought,
        reactivated=reactivated,
        value_tier=value_tiers(profit),
        profit=profit,
        propensity=np.round(propensity, 5),
        response_value=response_value,
        rules=rules,
        stage_history=codes.astype(np.int8),
        month_starts=grid.start(np.arange(months)),
        order_rate=np.round(order_rate, 4),
        order_value=money(cust.theta),
        segment=cust.segment_label,
        cohort_year=cust.cohort_year,
        cohort_retention=cohort_retention,
        ticket_effect=tickets.effect[t_order],
        ticket_told=tickets.told[t_order],
        ticket_quality=np.round(tickets.quality[t_order], 3),
        survey_effect=np.round(surveys.effect, 4),
        facts=facts,
    )


def data_hash(company: Company | dict[str, Table]) -> str:
    """Return a SHA-256 over all observable tables (names, column names, dtypes and values)."""
    tables = company.tables if isinstance(company, Company) else company
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(f"table:{name}\n".encode())
        for column in sorted(tables[name]):
            values = np.asarray(tables[name][column])
            digest.update(f"{column}:{values.dtype.str}:{values.size}\n".encode())
            if values.dtype.kind == "O":
                digest.update("\x1f".join(map(str, values.tolist())).encode("utf-8"))
            else:
                digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


__all__ = ["Company", "Params", "Truth", "data_hash", "generate"]


__all__ = ["Company", "Params", "Truth", "data_hash", "generate"]
