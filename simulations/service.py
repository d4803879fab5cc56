"""After-sales and contact: complaint tickets and their outcomes, satisfaction surveys, rep interactions, campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simulations import catalog
from simulations.common import (
    BoolArray,
    DateArray,
    FloatArray,
    Grid,
    IntArray,
    StrArray,
    Table,
    choice,
    choice_by_group,
)
from simulations.lifecycle import DECLINE, NEVER, TRIAL, Timeline
from simulations.population import Customers, Pools
from simulations.scenarios import Scenario


@dataclass
class Tickets:
    """Complaint tickets, one entry per ticket, with their hidden handling quality and outcome."""

    customer: IntArray
    month: IntArray
    opened: DateArray
    type: IntArray
    priority: IntArray
    status: IntArray
    hours: FloatArray  # true hours to resolve (also for open tickets)
    satisfied: BoolArray
    quality: FloatArray
    effect: StrArray
    told: IntArray


def draw_tickets(rng: np.random.Generator, sc: Scenario, grid: Grid, cust: Customers, rep_quality: FloatArray,
                 intensity: FloatArray, codes: npt.NDArray[np.int8]) -> Tickets:
    """Draw complaint tickets per customer-month from the expected orders, with handling and its outcome."""
    stage_mult = np.array([1.3, 1.0, 0.8, 1.8, 0.0, 0.0])  # by code, the last one for NOT_YET (-1)
    rate = sc.complaint_rate * intensity * stage_mult[codes]
    counts = rng.poisson(rate)
    cells = np.flatnonzero(counts)
    reps = np.repeat(cells, counts.ravel()[cells])
    customer, month = np.divmod(reps, codes.shape[1])
    k = customer.size
    lo = np.where(month == cust.start[customer], cust.acq_offset[customer], 0)
    opened = grid.random_day(rng, month, lo)
    type_p = [0.45, 0.25, 0.10, 0.10, 0.10] if sc.name == "coca_cola_complaints" else [0.30, 0.25, 0.20, 0.15, 0.10]
    ttype = choice(rng, type_p, k)
    priority = choice_by_group(rng, np.array([[0.35, 0.45, 0.20], [0.15, 0.55, 0.30], [0.2, 0.5, 0.3],
                                               [0.10, 0.50, 0.40], [0.05, 0.35, 0.60]]), ttype)
    handler = rng.integers(0, rep_quality.size, k)
    quality = np.clip(rep_quality[handler] + rng.normal(0, 0.05, k), 0.0, 1.0)
    mean_hours = np.array([6.0, 18.0, 36.0])[priority]
    hours = np.round(rng.gamma(2.0, mean_hours / 2.0) * (1.8 - quality), 1) + 0.1
    age_hours = ((grid.as_of - opened).astype(np.int64) + 1) * 24.0
    still_open = hours > age_hours - rng.random(k) * 24.0
    unresolved = rng.random(k) < sc.unresolved_base + 0.25 * (1.0 - quality)
    status = np.where(still_open, 1, np.where(unresolved, 2, 0)).astype(np.int64)
    p_sat = np.clip(0.25 + 0.7 * quality - 0.006 * hours, 0.05, 0.95)
    p_sat[status == 2] = 0.05
    satisfied = (rng.random(k) < p_sat) & (status != 1)
    order = np.lexsort((opened, customer))
    return Tickets(customer[order], month[order], opened[order], ttype[order], priority[order], status[order],
                   hours[order], satisfied[order], quality[order], np.full(k, "不变", dtype="<U4"),
                   np.zeros(k, dtype=np.int64))


def ticket_outcomes(rng: np.random.Generator, sc: Scenario, t: Tickets, tl: Timeline,
                    n: int) -> tuple[BoolArray, IntArray]:
    """Apply complaint outcomes to the lifecycle; return (boycotters, month from which a satisfied buys more)."""
    closed = t.status != 1
    u = rng.random(t.customer.size)
    boost_from = np.full(n, NEVER, dtype=np.int64)
    boycott = np.zeros(n, dtype=bool)
    # Each customer's first closed unsatisfied ticket decides: boycott (1/3), buy less (45 %), or nothing.
    bad = np.flatnonzero(closed & ~t.satisfied)
    first_bad = bad[np.unique(t.customer[bad], return_index=True)[1]]
    ub = u[first_bad]
    ends = first_bad[ub < sc.boycott_share]
    less = first_bad[(ub >= sc.boycott_share) & (ub < sc.boycott_share + sc.reduce_share)]
    t.effect[ends] = "完全抵制"
    t.effect[less] = "减少购买"
    tl.degrade(t.customer[less], t.month[less] + 1)
    tl.end(t.customer[ends], t.month[ends] + 1)
    boycott[t.customer[ends]] = True
    good = np.flatnonzero(closed & t.satisfied)
    first_good = good[np.unique(t.customer[good], return_index=True)[1]]
    more = first_good[u[first_good] < sc.increase_share]
    t.effect[more] = "增加购买"
    boost_from[t.customer[more]] = t.month[more] + 1
    # Word of mouth: satisfied tell 4-5 people, unsatisfied 9-10, and over 12 % of complainants 20 or more.
    told = np.where(t.satisfied, 4 + rng.integers(0, 2, t.customer.size), 9 + rng.integers(0, 2, t.customer.size))
    loud = rng.random(t.customer.size) < 0.125
    told = np.where(loud, 20 + rng.poisson(4.0, t.customer.size), told)
    t.told = np.where(closed, told, 0).astype(np.int64)
    return boycott, boost_from


def select_tickets(t: Tickets, which: npt.NDArray[Any]) -> Tickets:
    """Return the tickets selected by a boolean mask or an index array."""
    return Tickets(*(getattr(t, f)[which] for f in t.__dataclass_fields__))


def concat_tickets(a: Tickets, b: Tickets) -> Tickets:
    """Return both ticket sets, ordered by customer then opening date."""
    merged = Tickets(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__))
    return select_tickets(merged, np.lexsort((merged.opened, merged.customer)))


@dataclass
class Surveys:
    """Satisfaction surveys, one per surveyed customer, and the order-rate effect each one has."""

    customer: IntArray
    month: IntArray
    date: DateArray
    a: FloatArray
    b: FloatArray
    c: FloatArray
    recommend: BoolArray
    effect: FloatArray


def draw_surveys(rng: np.random.Generator, sc: Scenario, grid: Grid, cust: Customers,
                 codes: npt.NDArray[np.int8], t: Tickets) -> Surveys:
    """Survey a share of customers once in an active month: a, b on 1-10 and c = b/a."""
    active = (codes >= TRIAL) & (codes <= DECLINE)
    n_active = active.sum(axis=1)
    chosen = np.flatnonzero((n_active > 0) & (rng.random(codes.shape[0]) < sc.survey_share))
    pick = np.floor(rng.random(chosen.size) * n_active[chosen]).astype(np.int64)
    month = np.argmax(np.cumsum(active[chosen], axis=1) > pick[:, None], axis=1).astype(np.int64)
    lo = np.where(month == cust.start[chosen], cust.acq_offset[chosen], 0)
    date = grid.random_day(rng, month, lo)
    stage = codes[chosen, month]
    k = chosen.size
    a = np.clip(np.round(rng.normal(7.2, 1.2, k) + 0.5 * (cust.kind[chosen] > 0)), 3, 10).astype(np.float64)
    stage_b = np.array([0.0, 0.4, 0.9, -1.4])[stage]
    # The latest closed ticket before the survey moves perception with its handling.
    key_t = t.customer * 1_000_000 + (t.opened - np.datetime64("1970-01-01")).astype(np.int64)
    key_s = chosen * 1_000_000 + (date - np.datetime64("1970-01-01")).astype(np.int64)
    handled = np.zeros(k)
    if t.customer.size:
        pos = np.maximum(np.searchsorted(key_t, key_s, side="left") - 1, 0)
        valid = (key_t[pos] < key_s) & (t.customer[pos] == chosen) & (t.status[pos] != 1)
        handled = np.where(valid, np.where(t.satisfied[pos], 1.2, -2.0), 0.0)
    b = np.clip(np.round(rng.normal(6.6, 1.0, k) + stage_b + handled), 1, 10).astype(np.float64)
    c = np.round(b / a, 3)
    recommend = rng.random(k) < 1.0 / (1.0 + np.exp(-6.0 * (c - 0.95)))
    effect = np.clip(0.55 + 0.5 * c, 0.75, 1.2)
    order = np.argsort(date, kind="stable")
    return Surveys(chosen[order], month[order], date[order], a[order], b[order], c[order], recommend[order],
                   effect[order])


def ticket_table(rng: np.random.Generator, t: Tickets) -> Table:
    """Build the tickets table in opening order, with resolution texts."""
    order = np.lexsort((t.customer, t.opened))
    k = order.size
    status = t.status[order]
    ttype = t.type[order]
    resolution = np.empty(k, dtype=object)
    for s, status_name in enumerate(catalog.TICKET_STATUSES):
        for ty, type_name in enumerate(catalog.TICKET_TYPES):
            rows = np.flatnonzero((status == s) & (ttype == ty))
            texts = np.array(catalog.TICKET_RESOLUTIONS[status_name][type_name])
            resolution[rows] = texts[rng.integers(0, texts.size, rows.size)]
    hours = np.where(status == 1, np.nan, t.hours[order])
    return {
        "id": np.arange(1, k + 1, dtype=np.int64),
        "customer_id": t.customer[order] + 1,
        "opened_on": t.opened[order].astype("datetime64[D]"),
        "type": np.array(catalog.TICKET_TYPES)[ttype],
        "priority": np.array(catalog.TICKET_PRIORITIES)[t.priority[order]],
        "status": np.array(catalog.TICKET_STATUSES)[status],
        "resolution": resolution.astype(str),
        "hours_to_resolve": hours.astype(np.float64),
        "satisfied_with_handling": t.satisfied[order],
    }


def draw_interactions(rng: np.random.Generator, grid: Grid, cust: Customers, codes: npt.NDArray[np.int8],
                      pools: Pools) -> Table:
    """Draw rep-customer interactions per month, more for businesses and early or declining relationships."""
    base = np.array([0.10, 0.9, 0.8, 0.3])[cust.kind]
    stage_mult = np.array([0.6, 0.45, 0.3, 0.5, 0.05, 0.0])[codes]  # last entry: NOT_YET (-1)
    counts = rng.poisson(base[:, None] * stage_mult)
    cells = np.flatnonzero(counts)
    reps = np.repeat(cells, counts.ravel()[cells])
    customer, month = np.divmod(reps, codes.shape[1])
    k = customer.size
    lo = np.where(month == cust.start[customer], cust.acq_offset[customer], 0)
    date = grid.random_day(rng, month, lo)
    stage = codes[customer, month].astype(np.int64)
    kind_p = np.array([[0.35, 0.02, 0.08, 0.55], [0.35, 0.30, 0.20, 0.15], [0.30, 0.35, 0.20, 0.15],
                       [0.30, 0.20, 0.30, 0.20]])
    ikind = choice_by_group(rng, kind_p, cust.kind[customer])
    outbound = rng.random(k) < np.array([0.7, 0.6, 0.6, 0.5, 1.0])[stage]
    rep = np.where(rng.random(k) < 0.9, cust.owner[customer], rng.integers(0, pools.reps.size, k))
    flat = [note for s in catalog.STAGES for note in catalog.INTERACTION_NOTES[s]]
    offsets = np.cumsum([0] + [len(catalog.INTERACTION_NOTES[s]) for s in catalog.STAGES])
    sizes = np.diff(offsets)
    note = np.array(flat)[offsets[stage] + np.floor(rng.random(k) * sizes[stage]).astype(np.int64)]
    order = np.argsort((date - np.datetime64("1970-01-01")).astype(np.int64) * (cust.g.size + 1) + customer,
                       kind="stable")
    return {
        "id": np.arange(1, k + 1, dtype=np.int64),
        "customer_id": customer[order] + 1,
        "happened_on": date[order].astype("datetime64[D]"),
        "kind": np.array(catalog.INTERACTION_KINDS)[ikind[order]],
        "direction": np.where(outbound[order], "呼出", "呼入"),
        "rep": pools.reps[rep[order]],
        "note": note[order],
    }


def in_season(dates: DateArray, season: catalog.Season) -> BoolArray:
    """Whether each date falls in a campaign template's season (always True for a template without one)."""
    if season is None:
        return np.ones(dates.size, dtype=bool)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (dates.astype("datetime64[D]") - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    hit = np.zeros(dates.size, dtype=bool)
    for m, lo, hi in season:
        hit |= (month == m) & (day >= lo) & (day <= hi)
    return hit


def draw_campaigns(rng: np.random.Generator, grid: Grid, months: int) -> Table:
    """Draw the company's past marketing campaigns (what was sent, when, to whom, at what cost).

    Seasonal campaigns (春节, 双十一, 年中答谢) are sent once a year inside their season when the history covers it;
    the others fill up to ``max(4, months // 2)`` campaigns on random days.
    """
    days = np.arange(grid.first.astype("datetime64[D]"), grid.as_of + np.timedelta64(1, "D"), dtype="datetime64[D]")
    year_of = days.astype("datetime64[Y]").astype(np.int64) + 1970
    picked: list[tuple[np.datetime64, int]] = []
    for t, (_, _, _, season) in enumerate(catalog.CAMPAIGN_TEMPLATES):
        if season is None:
            continue
        ok = in_season(days, season)
        for year in np.unique(year_of[ok]):
            candidates = days[ok & (year_of == year)]
            picked.append((candidates[int(rng.integers(candidates.size))], t))
    free = [t for t, tpl in enumerate(catalog.CAMPAIGN_TEMPLATES) if tpl[3] is None]
    k = max(4, months // 2, len(picked))
    others = np.resize(rng.permutation(free), k - len(picked))
    for t in others:
        picked.append((days[int(rng.integers(days.size))], int(t)))
    picked.sort(key=lambda p: (p[0], p[1]))
    date = np.array([p[0] for p in picked], dtype="datetime64[D]")
    template = [p[1] for p in picked]
    years = date.astype("datetime64[Y]").astype(np.int64) + 1970
    name, channel, note, cpc, fixed = [], [], [], [], []
    for i, tpl in enumerate(template):
        pattern, ch, seg, _ = catalog.CAMPAIGN_TEMPLATES[int(tpl)]
        name.append(pattern.format(y=int(years[i])))
        channel.append(ch)
        note.append(seg)
        per, base = catalog.CAMPAIGN_COSTS[ch]
        cpc.append(round(per * float(rng.uniform(0.8, 1.2)), 2))
        fixed.append(round(base * float(rng.uniform(0.7, 1.5)), -2))
    return {
        "id": np.arange(1, k + 1, dtype=np.int64),
        "name": np.array(name),
        "channel": np.array(channel),
        "cost_per_contact": np.array(cpc, dtype=np.float64),
        "fixed_cost": np.array(fixed, dtype=np.float64),
        "sent_on": date.astype("datetime64[D]"),
        "segment_note": np.array(note),
    }
