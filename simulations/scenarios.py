"""Per-scenario knobs of the behaviour model: one frozen record per scenario, no behaviour of its own."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    """The numbers that make one scenario differ from another (all rates are per customer-month)."""

    name: str
    label: str
    kind_probs: dict[str, float]
    # Mean order value (yuan) of a customer in 稳定期 by customer kind, and the spread of the per-customer scale.
    order_value: dict[str, float]
    value_sigma: float = 0.8
    # Order-rate heterogeneity: gamma shape of the per-customer rate (smaller = more unequal), kind multipliers.
    rate_shape: float = 1.6
    rate_by_kind: dict[str, float] = field(default_factory=lambda: {"消费者": 1.0, "企业": 1.5, "渠道": 2.0,
                                                                      "内部客户": 0.8})
    orders_per_customer_24m: float = 20.0
    lines_mean: float = 1.8
    pre_window_share: float = 0.35  # customers acquired before the observed history starts
    fail_after_trial: float = 0.25  # share of customers who leave at the end of 考察期 (dropout)
    reactivation: float = 0.20  # share of churned customers who come back
    complaint_rate: float = 0.012  # tickets per expected order
    unresolved_base: float = 0.06  # chance a ticket is closed unresolved with the best handler
    handling_spread: float = 0.35  # how much handler quality varies (0: all handlers alike)
    survey_share: float = 0.12
    # Complaint outcomes (seed 003, 可口可乐的客户调查): of the unsatisfied, 1/3 boycott and 45 % buy less; 10 % of
    # the fully satisfied buy more. Word of mouth: satisfied tell 4-5 people, unsatisfied 9-10, over 12 % tell 20+.
    boycott_share: float = 1 / 3
    reduce_share: float = 0.45
    increase_share: float = 0.10
    channel_probs: dict[str, tuple[float, float, float]] = field(default_factory=lambda: {
        "消费者": (0.55, 0.35, 0.10), "企业": (0.35, 0.05, 0.60), "渠道": (0.30, 0.0, 0.70),
        "内部客户": (0.50, 0.20, 0.30)})  # (线上, 门店, 电话)
    # Cost to serve one order (yuan) by customer kind, before the stage and order-channel factors.
    service_fee: dict[str, float] = field(default_factory=lambda: {"消费者": 12.0, "企业": 60.0, "渠道": 90.0,
                                                                      "内部客户": 20.0})
    seasonality: bool = True
    # Relative orders per weekday, Monday..Sunday (the default: an office-supply seller, quiet at weekends).
    weekday: tuple[float, ...] = (1.25, 1.2, 1.2, 1.15, 1.1, 0.55, 0.45)
    female_share: float = 0.5
    cohort_share: float = 0.0  # cosmetics: share of customers who joined at a graduation event
    parent_share: float = 0.0  # walmart: share of customers with a baby at home (the diaper buyers)
    time_segments: bool = False  # convenience chain: customers belong to a time-of-day segment


SCENARIO_CONFIGS: dict[str, Scenario] = {
    "default": Scenario(
        name="default", label="综合零售(默认)",
        kind_probs={"消费者": 0.68, "企业": 0.22, "渠道": 0.07, "内部客户": 0.03},
        order_value={"消费者": 260.0, "企业": 800.0, "渠道": 1500.0, "内部客户": 300.0}, value_sigma=0.7,
    ),
    "walmart_basket": Scenario(
        name="walmart_basket", label="购物篮分析(沃尔玛)",
        kind_probs={"消费者": 0.97, "企业": 0.02, "渠道": 0.0, "内部客户": 0.01},
        order_value={"消费者": 120.0, "企业": 900.0, "渠道": 2000.0, "内部客户": 120.0},
        value_sigma=0.8, lines_mean=4.0, parent_share=0.15,
        weekday=(0.85, 0.8, 0.8, 0.85, 1.05, 1.45, 1.35),  # a hypermarket: the family shop is at the weekend
        service_fee={"消费者": 4.0, "企业": 40.0, "渠道": 60.0, "内部客户": 5.0},
        channel_probs={"消费者": (0.15, 0.85, 0.0), "企业": (0.30, 0.40, 0.30), "渠道": (0.3, 0.4, 0.3),
                       "内部客户": (0.2, 0.8, 0.0)},
    ),
    "cosmetics_members": Scenario(
        name="cosmetics_members", label="会员计划(化妆品公司)",
        kind_probs={"消费者": 0.96, "企业": 0.02, "渠道": 0.01, "内部客户": 0.01},
        order_value={"消费者": 280.0, "企业": 1800.0, "渠道": 3000.0, "内部客户": 250.0},
        lines_mean=1.8, female_share=0.9, cohort_share=0.5, fail_after_trial=0.30,
        weekday=(0.85, 0.85, 0.9, 0.9, 1.05, 1.3, 1.25),
        channel_probs={"消费者": (0.40, 0.60, 0.0), "企业": (0.4, 0.2, 0.4), "渠道": (0.3, 0.0, 0.7),
                       "内部客户": (0.5, 0.5, 0.0)},
    ),
    "coca_cola_complaints": Scenario(
        name="coca_cola_complaints", label="投诉处理与口碑(可口可乐)",
        kind_probs={"消费者": 0.88, "企业": 0.05, "渠道": 0.05, "内部客户": 0.02},
        order_value={"消费者": 80.0, "企业": 400.0, "渠道": 900.0, "内部客户": 60.0},
        service_fee={"消费者": 3.0, "企业": 25.0, "渠道": 40.0, "内部客户": 3.0},
        weekday=(0.9, 0.9, 0.9, 0.95, 1.1, 1.2, 1.05),
        lines_mean=1.6, complaint_rate=0.06, unresolved_base=0.10, handling_spread=0.6, survey_share=0.25,
    ),
    "convenience_time_of_day": Scenario(
        name="convenience_time_of_day", label="便利店分时段经营",
        kind_probs={"消费者": 0.99, "企业": 0.0, "渠道": 0.0, "内部客户": 0.01},
        order_value={"消费者": 24.0, "企业": 300.0, "渠道": 300.0, "内部客户": 24.0},
        value_sigma=0.8, rate_shape=1.3, lines_mean=2.0, time_segments=True, seasonality=False,
        weekday=(1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75),  # commuters and office workers
        service_fee={"消费者": 0.8, "企业": 5.0, "渠道": 5.0, "内部客户": 0.8},
        channel_probs={"消费者": (0.0, 1.0, 0.0), "企业": (0.0, 1.0, 0.0), "渠道": (0.0, 1.0, 0.0),
                       "内部客户": (0.0, 1.0, 0.0)},
    ),
}
