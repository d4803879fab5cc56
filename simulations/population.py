"""Who the customers are: name pools (Faker), customer attributes and hidden scales, the product catalogue."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
from faker import Faker

from simulations import catalog
from simulations.common import (
    BoolArray,
    FloatArray,
    Grid,
    IntArray,
    StrArray,
    Table,
    choice,
    choice_by_group,
    money,
    weighted_days,
)
from simulations.scenarios import Scenario

KINDS = catalog.CUSTOMER_KINDS


@dataclass
class Pools:
    """Name pools drawn once per company with a seeded Faker; numpy samples from them."""

    surnames: StrArray  # Faker zh_CN's surnames with their frequency weights
    surname_weights: FloatArray
    male_given: StrArray  # Faker zh_CN's given names (whole) and the characters they are made of
    female_given: StrArray
    male_chars: StrArray
    female_chars: StrArray
    reps: StrArray
    company_stems: StrArray  # "鑫博科技有限公司": a city is prefixed per customer
    channel_stems: StrArray


def build_pools(seed: int, n_reps: int, rng: np.random.Generator) -> Pools:
    """Build name pools with a seeded Faker (zh_CN): its name parts, the reps, 500 company-name stems.

    People's names are not drawn from a short list of whole names (a pool of 1,000 names per sex made 84-92 % of
    customers share their name): ``draw_person_names`` combines Faker's surnames (with their frequencies) and the
    characters of its given names, so names repeat about as rarely as real ones.
    """
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    person = fake.provider("faker.providers.person")
    surnames = dict(person.last_names)
    male_given = list(person.first_names_male)
    female_given = list(person.first_names_female)
    reps: list[str] = []
    while len(reps) < n_reps:
        name = fake.last_name() + (fake.first_name_male() if len(reps) % 2 else fake.first_name_female())
        if name not in reps:
            reps.append(name)
    prefixes: set[str] = set()
    for _ in range(400):
        prefix = fake.company_prefix()
        for trim in catalog.PREFIX_TRIM:
            if prefix.endswith(trim) and len(prefix) > len(trim) + 1:
                prefix = prefix[: -len(trim)]
        prefixes.add(prefix)
    stems = sorted(prefixes)

    def names(industries: tuple[str, ...], count: int) -> StrArray:
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < count and len(seen) < len(stems) * len(industries):
            stem = stems[int(rng.integers(len(stems)))]
            name = stem + industries[int(rng.integers(len(industries)))]
            name += catalog.COMPANY_FORMS[int(rng.integers(len(catalog.COMPANY_FORMS)))]
            if name not in seen:
                seen.add(name)
                out.append(name)
        return np.array(out)

    def chars(given: list[str]) -> StrArray:
        return np.array(sorted({ch for name in given for ch in name}))

    return Pools(np.array(list(surnames)), np.array(list(surnames.values()), dtype=np.float64),
                 np.array(male_given), np.array(female_given), chars(male_given), chars(female_given),
                 np.array(reps), names(catalog.COMPANY_INDUSTRIES, 500), names(catalog.CHANNEL_INDUSTRIES, 200))


def draw_person_names(rng: np.random.Generator, female: BoolArray, pools: Pools, rounds: int = 8) -> StrArray:
    """Draw one Chinese name per person from Faker's name parts; redraw most repeated names.

    A name is a surname (by Faker's frequency weights) and a given name: a third of the time one of Faker's
    given names of the person's sex, otherwise two characters from the characters of those names. Repeats are
    redrawn a few rounds, keeping about 1 % of them (namesakes exist in any real customer list).
    """
    n = female.size

    def draw(idx: IntArray) -> StrArray:
        fem = female[idx]
        surname = pools.surnames[choice(rng, pools.surname_weights, idx.size)]
        out = np.empty(idx.size, dtype="<U4")
        for sex, given, chars in ((True, pools.female_given, pools.female_chars),
                                  (False, pools.male_given, pools.male_chars)):
            sel = np.flatnonzero(fem == sex)
            whole = rng.random(sel.size) < 1 / 3
            two = np.char.add(chars[rng.integers(0, chars.size, sel.size)], chars[rng.integers(0, chars.size, sel.size)])
            out[sel] = np.char.add(surname[sel], np.where(whole, given[rng.integers(0, given.size, sel.size)], two))
        return out

    names = draw(np.arange(n, dtype=np.int64))
    for _ in range(rounds):
        order = np.argsort(names, kind="stable")
        ordered = names[order]
        repeat = np.zeros(n, dtype=bool)
        repeat[order[1:]] = ordered[1:] == ordered[:-1]  # every occurrence after the first
        redo = np.flatnonzero(repeat & (rng.random(n) < 0.99))
        if redo.size == 0:
            break
        names[redo] = draw(redo)
    return names


@dataclass
class Customers:
    """The customers table plus the hidden per-customer traits the rest of the model uses."""

    table: Table
    kind: IntArray
    start: IntArray  # acquisition month index (negative: before the history)
    acq_offset: IntArray  # day of the month of acquisition (0-based)
    in_window: BoolArray
    theta: FloatArray
    g: FloatArray
    segment: IntArray  # time segment (convenience), parent flag (walmart), cohort flag (cosmetics), else 0
    segment_label: StrArray
    cohort_year: IntArray
    fail_share: FloatArray
    owner: IntArray
    female: BoolArray


def graduation_day(year: int) -> datetime.date:
    """Return the day of the yearly graduation show: the third Saturday of June."""
    first = datetime.date(year, 6, 1)
    return first + datetime.timedelta(days=(5 - first.weekday()) % 7 + 14)


def draw_customers(n: int, months: int, sc: Scenario, grid: Grid, pools: Pools, rng: np.random.Generator) -> Customers:
    """Draw customer attributes, acquisition dates and the hidden rate and value scales."""
    kind = choice(rng, [sc.kind_probs.get(k, 0.0) for k in KINDS], n)
    consumer = kind == 0

    # Acquisition: some before the history, the rest spread over it with mild growth.
    pre = rng.random(n) < sc.pre_window_share
    growth = 1.0 + 0.5 * np.arange(months) / max(months - 1, 1)
    start = np.where(pre, -1 - rng.integers(0, 30, n), choice(rng, growth, n))
    cohort_year = np.zeros(n, dtype=np.int64)
    if sc.cohort_share > 0:
        as_of = grid.as_of.astype(datetime.date)
        years = [y for y in range(as_of.year - 5, as_of.year + 1) if graduation_day(y) <= as_of]
        cohort = consumer & (rng.random(n) < sc.cohort_share / max(sc.kind_probs["消费者"], 1e-9))
        picked = np.array(years, dtype=np.int64)[choice(rng, np.linspace(1.0, 1.3, len(years)), int(cohort.sum()))]
        cohort_year[cohort] = picked
        june = np.array([np.datetime64(f"{y}-06", "M") for y in years])
        start[cohort] = (june - grid.first).astype(np.int64)[np.searchsorted(years, picked)]
    start = start.astype(np.int64)
    acquired = weighted_days(rng, grid, start, sc.weekday)  # the first order is on this day: same weekday profile
    acq_offset = (acquired - grid.start(start)).astype(np.int64)
    if sc.cohort_share > 0:
        has = cohort_year > 0
        event = np.array([np.datetime64(graduation_day(int(y)), "D") for y in cohort_year[has]], dtype="datetime64[D]")
        acquired[has] = event
        acq_offset[has] = (event - grid.start(start[has])).astype(np.int64)

    # Segments and demography.
    segment = np.zeros(n, dtype=np.int64)
    female_p = np.full(n, sc.female_share)
    age = np.clip(np.round(rng.normal(36, 11, n)), 18, 70).astype(np.int64)
    if sc.time_segments:
        shares = [s[1] for s in catalog.TIME_SEGMENTS]
        segment = choice(rng, shares, n)
        female_p = np.array([s[3] for s in catalog.TIME_SEGMENTS])[segment]
        young = segment != 0
        age[young] = np.clip(np.round(rng.normal(29, 6, int(young.sum()))), 18, 50)
        # 早上的顾客群是上班族及高中生: the CRM only registers adult members, so the students are 18-19
        early = (segment == 0) & (rng.random(n) < 0.3)
        age[early] = rng.integers(18, 20, int(early.sum()))
    if sc.parent_share > 0:
        age[consumer] = np.clip(np.round(rng.normal(34, 9, int(consumer.sum()))), 18, 70)
        eligible = consumer & (age >= 24) & (age <= 42)
        p = sc.parent_share / max(eligible.mean(), 1e-9)
        segment = (eligible & (rng.random(n) < p)).astype(np.int64)
    female = rng.random(n) < female_p
    if sc.cohort_share > 0:
        segment = (cohort_year > 0).astype(np.int64)
        female[cohort_year > 0] = True
    business = ~consumer
    age[business] = np.clip(np.round(rng.normal(40, 8, int(business.sum()))), 24, 60)

    # Places, names, companies.
    provinces = list(catalog.PROVINCES)
    prov = choice(rng, [catalog.PROVINCES[p][0] for p in provinces], n)
    n_cities = np.array([len(catalog.PROVINCES[p][1]) for p in provinces])
    # Earlier cities in a province's list (the capital first) are drawn more often.
    city_pos = np.minimum(np.floor(rng.random(n) ** 1.6 * n_cities[prov]).astype(np.int64), n_cities[prov] - 1)
    city_table = np.array([[*catalog.PROVINCES[p][1], *[""] * (n_cities.max() - len(catalog.PROVINCES[p][1]))]
                           for p in provinces])
    province = np.array(provinces)[prov]
    city = city_table[prov, city_pos]
    name = draw_person_names(rng, female, pools)
    company = np.full(n, "", dtype=pools.company_stems.dtype)
    ent = kind == 1
    company[ent] = pools.company_stems[rng.integers(0, pools.company_stems.size, int(ent.sum()))]
    chan = kind == 2
    company[chan] = pools.channel_stems[rng.integers(0, pools.channel_stems.size, int(chan.sum()))]
    company = np.where(business & (kind != 3), np.char.add(city, company), company)
    company[kind == 3] = "本公司" + np.array(["销售部", "行政部", "研发中心", "客服中心", "财务部"])[
        rng.integers(0, 5, int((kind == 3).sum()))]
    prefixes = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159, 166,
                         173, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199], dtype=np.int64)
    serial = rng.choice(100_000_000, size=n, replace=False)
    phone = (prefixes[rng.integers(0, prefixes.size, n)] * 100_000_000 + serial).astype("<U11")

    settlement_p = np.array([[0.8, 0.2, 0.0], [0.15, 0.25, 0.6], [0.05, 0.25, 0.7], [0.3, 0.0, 0.7]])
    settlement = np.array(catalog.SETTLEMENTS)[choice_by_group(rng, settlement_p, kind)]
    channel_p = np.array([  # 线上广告 门店 老客户推荐 展会 电话营销 校园活动
        [0.35, 0.35, 0.20, 0.0, 0.10, 0.0], [0.15, 0.0, 0.25, 0.30, 0.30, 0.0], [0.05, 0.0, 0.30, 0.50, 0.15, 0.0],
        [0.0, 0.5, 0.3, 0.0, 0.2, 0.0]])
    acq_channel = choice_by_group(rng, channel_p, kind)
    acq_channel[cohort_year > 0] = catalog.ACQUISITION_CHANNELS.index("校园活动")
    # Referred customers stay more often; advertising brings more triers who leave (流失率分布 by channel).
    fail_shift = np.array([0.10, 0.0, -0.10, -0.05, 0.05, 0.05])
    fail_share = np.clip(sc.fail_after_trial + fail_shift[acq_channel], 0.02, 0.9)

    # Hidden scales: order rate g (gamma) and mean order value theta (log-normal), both larger for businesses.
    g = rng.gamma(sc.rate_shape, 1.0 / sc.rate_shape, n) * np.array([sc.rate_by_kind[k] for k in KINDS])[kind]
    sigma = sc.value_sigma
    theta = np.array([sc.order_value[k] for k in KINDS])[kind] * np.exp(rng.normal(-sigma**2 / 2, sigma, n))
    theta[cohort_year > 0] *= 0.7  # students spend less per visit

    owner = rng.integers(0, pools.reps.size, n)
    # Ages above are ages when registered: every customer was an adult (18+) in the year of acquisition.
    acquired_year = acquired.astype("datetime64[Y]").astype(np.int64) + 1970
    birth_year = acquired_year - np.maximum(age, 18)
    if sc.cohort_share > 0:  # seed 003: 高中毕业生, 18 in the year of the graduation show
        birth_year[cohort_year > 0] = cohort_year[cohort_year > 0] - 18
    segment_label = segment_labels(sc, segment, kind)
    table: Table = {
        "id": np.arange(1, n + 1, dtype=np.int64),
        "name": name,
        "phone": phone,
        "province": province,
        "city": city,
        "company": company,
        "kind": np.array(KINDS)[kind],
        "settlement": settlement,
        "channel": np.array(catalog.ACQUISITION_CHANNELS)[acq_channel],
        "acquired_on": acquired.astype("datetime64[D]"),
        "owner": pools.reps[owner],
        "gender": np.where(female, "女", "男"),
        "birth_year": birth_year.astype(np.int64),
    }
    return Customers(table, kind, start, acq_offset, start >= 0, theta, g, segment, segment_label, cohort_year,
                     fail_share, owner.astype(np.int64), female)


def segment_labels(sc: Scenario, segment: IntArray, kind: IntArray) -> StrArray:
    """Return the hidden segment label of each customer for the scenario."""
    if sc.time_segments:
        return np.array([s[0] for s in catalog.TIME_SEGMENTS])[segment]
    if sc.parent_share > 0:
        return np.where(segment == 1, "有婴儿家庭", "其他顾客")
    if sc.cohort_share > 0:
        return np.where(segment == 1, "毕业季会员", "普通会员")
    return np.array(KINDS)[kind]


def build_products(n_products: int, sc: Scenario, rng: np.random.Generator) -> tuple[Table, list[catalog.Item]]:
    """Build the product table: the scenario catalogue, cut or extended with pack variants to n_products."""
    base = catalog.CATALOGUES[sc.name]
    planted = {name for rule in catalog.PLANTED_RULES[sc.name] for name in rule[:2]}
    if n_products < len(planted):
        raise ValueError(f"n_products must be at least {len(planted)} for scenario {sc.name}")
    items = [it for it in base if it.name in planted]
    items += [it for it in base if it.name not in planted][: max(n_products - len(items), 0)]
    variants = (("（家庭装）", 1.8), ("（组合装）", 2.6), ("（旅行装）", 0.45), ("（礼盒装）", 2.2), ("（升级款）", 1.3))
    generations = ("", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
    round_no = 0
    while len(items) < n_products:
        suffix, mult = variants[round_no % len(variants)]
        label = suffix[:-1] + generations[min(round_no // len(variants), len(generations) - 1)] + suffix[-1]
        if round_no >= len(variants) * len(generations):
            label = f"{suffix[:-1]}{round_no}{suffix[-1]}"
        for it in base:
            if len(items) >= n_products:
                break
            items.append(catalog.Item(it.name + label, it.category, round(it.price * mult, 1)))
        round_no += 1
    order = sorted(range(len(items)), key=lambda i: (items[i].category, i))
    items = [items[i] for i in order]
    price = np.array([it.price for it in items], dtype=np.float64)
    margin = np.array([catalog.CATEGORY_MARGIN.get(it.category, 0.3) for it in items])
    cost = money(price * (1.0 - margin) * rng.uniform(0.97, 1.03, price.size))
    table: Table = {
        "id": np.arange(1, len(items) + 1, dtype=np.int64),
        "name": np.array([it.name for it in items]),
        "category": np.array([it.category for it in items]),
        "unit_price": money(price),
        "unit_cost": cost,
    }
    return table, items


def product_weights(sc: Scenario, items: list[catalog.Item], rng: np.random.Generator) -> FloatArray:
    """Return a groups x products matrix of purchase weights (Zipf popularity, segment tastes, planted shares)."""
    p = len(items)
    popularity = 1.0 / (rng.permutation(p) + 2.0) ** 0.8
    category = np.array([it.category for it in items])
    names = [it.name for it in items]
    if sc.time_segments:
        groups = []
        for seg in catalog.TIME_SEGMENTS:
            taste = np.where(np.isin(category, seg[4]), 5.0, 1.0)
            groups.append(popularity * taste)
        weights = np.array(groups)
    elif sc.parent_share > 0:
        baby = np.isin(category, ("母婴",))
        weights = np.array([popularity * np.where(baby, 0.05, 1.0), popularity * np.where(baby, 3.0, 1.0)])
    elif sc.name == "default":
        office = np.isin(category, ("办公设备", "办公耗材", "电脑数码", "办公家具", "茶水间", "礼品"))
        home = np.isin(category, ("家用电器", "日用百货"))
        business = popularity * np.where(office, 2.5, 1.0)
        weights = np.array([popularity * np.where(home, 2.5, 1.0), business, business, popularity])
    else:
        weights = popularity[None, :].copy()
    weights /= weights.sum(axis=1, keepdims=True)
    for antecedent, consequent, _, _, share in catalog.PLANTED_RULES[sc.name]:
        a, b = names.index(antecedent), names.index(consequent)
        target = share / sc.lines_mean
        others = np.ones(p, dtype=bool)
        others[[a, b]] = False
        for g, row in enumerate(weights):
            want_a = target
            if sc.parent_share > 0:  # only families with a baby buy diapers, about one basket in three
                want_a = 0.002 if g == 0 else 0.35 / sc.lines_mean
            want_b = target
            row[others] *= (1.0 - want_a - want_b) / row[others].sum()
            row[a], row[b] = want_a, want_b
    return np.asarray(weights, dtype=np.float64)
