"""The hidden relationship lifecycle: per-customer stage boundaries in months, their volume factor and edits.

Month numbers count from the first month of the observed history (0) to its last month (months - 1); a customer
acquired before the history has a negative start. A stage code is an index into ``catalog.STAGES``
(0 考察期, 1 形成期, 2 稳定期, 3 退化期, 4 已流失) or -1 before the customer was acquired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulations.catalog import STAGES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CodeArray = npt.NDArray[np.int8]

NOT_YET, TRIAL, FORMING, STABLE, DECLINE, CHURNED = -1, 0, 1, 2, 3, 4
NEVER = 1_000_000  # a boundary that is never reached

# Purchase volume relative to the customer's own 稳定期 rate (seed 001: "交易量在考察期较小,形成期快速增加,稳定期最大,
# 退化期回落"). 形成期 ramps up and 退化期 ramps down across the stage.
TRIAL_FACTOR = 0.40
FORMING_RAMP = (0.45, 0.95)
DECLINE_RAMP = (0.70, 0.20)
# Mean order value and list-price discount by stage (seed 001: "客户的支付意愿会随着客户关系水平的提高而不断提高").
ORDER_VALUE_FACTOR = np.array([0.45, 0.80, 1.00, 0.80, 0.80])
PRICE_DISCOUNT = np.array([0.08, 0.05, 0.00, 0.06, 0.06])
# Cost to serve one order, relative (seed 001: "营销成本、服务成本和交易成本会随着客户关系的发展有明显的下降趋势").
SERVICE_COST_FACTOR = np.array([1.60, 1.20, 0.70, 1.00, 1.00])


@dataclass
class Timeline:
    """Stage boundaries per customer: the first month of each stage, NEVER when it does not happen."""

    start: IntArray  # acquisition month: 考察期 begins
    forming: IntArray  # 形成期 begins
    stable: IntArray  # 稳定期 begins
    decline: IntArray  # 退化期 begins
    churn: IntArray  # 已流失 begins
    decline_length: IntArray  # months 退化期 lasts once it starts (used when an event starts it early)
    back: IntArray  # reactivated: a second 形成期 begins (NEVER if not)
    back_stable: IntArray  # ... and the second 稳定期

    def codes_at(self, month: IntArray) -> CodeArray:
        """Return each customer's stage code at the given month (one month per customer)."""
        code = np.full(month.shape, NOT_YET, dtype=np.int8)
        for boundary, value in ((self.start, TRIAL), (self.forming, FORMING), (self.stable, STABLE),
                                (self.decline, DECLINE), (self.churn, CHURNED), (self.back, FORMING),
                                (self.back_stable, STABLE)):
            code[month >= boundary] = value
        return code

    def matrix(self, months: int) -> CodeArray:
        """Return the customers x months matrix of stage codes."""
        m = np.arange(months, dtype=np.int64)[None, :]
        code = np.full((self.start.size, months), NOT_YET, dtype=np.int8)
        for boundary, value in ((self.start, TRIAL), (self.forming, FORMING), (self.stable, STABLE),
                                (self.decline, DECLINE), (self.churn, CHURNED), (self.back, FORMING),
                                (self.back_stable, STABLE)):
            code[m >= boundary[:, None]] = value
        return code

    def factor(self, codes: CodeArray) -> npt.NDArray[np.float32]:
        """Return the purchase-volume factor of each customer-month for a matrix of stage codes."""
        out = np.zeros(codes.shape, dtype=np.float32)
        out[codes == TRIAL] = TRIAL_FACTOR
        out[codes == STABLE] = 1.0
        row, month = np.nonzero(codes == FORMING)
        second = month >= self.back[row]
        start = np.where(second, self.back[row], self.forming[row])
        end = np.where(second, self.back_stable[row], self.stable[row])
        pos = np.clip((month + 0.5 - start) / np.maximum(end - start, 1), 0.0, 1.0)
        out[row, month] = FORMING_RAMP[0] + (FORMING_RAMP[1] - FORMING_RAMP[0]) * pos
        row, month = np.nonzero(codes == DECLINE)
        pos = np.clip((month + 0.5 - self.decline[row]) / np.maximum(self.churn[row] - self.decline[row], 1), 0.0, 1.0)
        out[row, month] = DECLINE_RAMP[0] + (DECLINE_RAMP[1] - DECLINE_RAMP[0]) * pos
        return out

    def degrade(self, idx: IntArray, month: IntArray) -> None:
        """Start 退化期 at ``month`` for customers in 形成期/稳定期 then; end 考察期 customers' relationship early."""
        code = self.codes_at_subset(idx, month)
        trial = code == TRIAL
        i = idx[trial]
        self.stable[i] = self.forming[i]
        self.decline[i] = self.forming[i]
        self.churn[i] = self.forming[i]
        growing = (code == FORMING) | (code == STABLE)
        i, at = idx[growing], month[growing]
        self.stable[i] = np.minimum(self.stable[i], at)
        self.decline[i] = at
        self.churn[i] = at + self.decline_length[i]

    def end(self, idx: IntArray, month: IntArray) -> None:
        """End the relationship at ``month`` (已流失 from then on) for the given customers."""
        self.churn[idx] = np.minimum(self.churn[idx], month)
        self.decline[idx] = np.minimum(self.decline[idx], self.churn[idx])
        self.stable[idx] = np.minimum(self.stable[idx], self.decline[idx])
        self.forming[idx] = np.minimum(self.forming[idx], self.stable[idx])

    def codes_at_subset(self, idx: IntArray, month: IntArray) -> CodeArray:
        """Return the stage codes of customers ``idx`` at months ``month`` (same length)."""
        code = np.full(idx.shape, NOT_YET, dtype=np.int8)
        for boundary, value in ((self.start, TRIAL), (self.forming, FORMING), (self.stable, STABLE),
                                (self.decline, DECLINE), (self.churn, CHURNED), (self.back, FORMING),
                                (self.back_stable, STABLE)):
            code[month >= boundary[idx]] = value
        return code


def draw_timeline(rng: np.random.Generator, start: IntArray, fail_after_trial: float | FloatArray) -> Timeline:
    """Draw stage durations per customer from the acquisition months ``start``.

    考察期 lasts 1-4 months; a share of customers leave right after it (the dropout of trial customers);
    形成期 2-9 months; 稳定期 4 months plus a geometric tail (mean about two years); 退化期 2-8 months.
    """
    n = start.size
    trial = 1 + np.minimum(rng.poisson(1.0, n), 3)
    forming = 2 + np.minimum(rng.poisson(2.5, n), 7)
    stable = 4 + rng.geometric(1 / 22, n) - 1
    decline = 2 + np.minimum(rng.poisson(2.0, n), 6)
    fail = rng.random(n) < fail_after_trial
    e1 = start + trial
    e2 = np.where(fail, e1, e1 + forming)
    e3 = np.where(fail, e1, e2 + stable)
    e4 = np.where(fail, e1, e3 + decline)
    never = np.full(n, NEVER, dtype=np.int64)
    return Timeline(start.astype(np.int64), e1.astype(np.int64), e2.astype(np.int64), e3.astype(np.int64),
                    e4.astype(np.int64), decline.astype(np.int64), never, never.copy())


def reactivate(rng: np.random.Generator, tl: Timeline, months: int, share: float, blocked: BoolArray) -> BoolArray:
    """Bring back a share of churned customers after a gap (a second 形成期, then 稳定期); return who came back."""
    n = tl.start.size
    gap = 2 + rng.poisson(4.0, n)
    back = tl.churn + gap
    chosen = (rng.random(n) < share) & ~blocked & (tl.churn < NEVER) & (back <= months - 1)
    tl.back = np.where(chosen, back, NEVER).astype(np.int64)
    tl.back_stable = np.where(chosen, back + 1 + rng.poisson(2.0, n), NEVER).astype(np.int64)
    return chosen


def stage_names(codes: CodeArray) -> npt.NDArray[np.str_]:
    """Return stage labels for stage codes; -1 (not yet acquired) maps to an empty string."""
    labels = np.array(("", *STAGES))
    return labels[codes.astype(np.int64) + 1]
