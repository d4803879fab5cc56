"""Case studies run in the sandbox: the seed's own cases, each with a scenario, exercises and a discussion.

The narrative, the questions and the answer hints are quoted exactly from the seed (``case_texts.py``), except
where the seed's text is damaged and the meaning is certain: such a repair is listed in the case's ``repairs`` with
the original words and a note the page shows. The discussion (hints plus what the class's own data shows) opens after the close time the instructor sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.sandbox import case_texts
from question_bank.seeds import seed_title


@dataclass(frozen=True)
class Repair:
    """A damaged passage of the seed, the repaired words shown instead, and why."""

    original: str
    repaired: str
    note: str


def repaired(text: dict, repairs: tuple[Repair, ...]) -> dict:
    """The case text with each repair applied (the heading and every paragraph)."""
    def fix(paragraph: str) -> str:
        for r in repairs:
            paragraph = paragraph.replace(r.original, r.repaired)
        return paragraph

    return {k: [fix(p) for p in v] if isinstance(v, list) else fix(v) for k, v in text.items()}


COCA_COLA_REPAIRS = (Repair(
    "超过12%的人向20个或更多的人可口可乐公司对他们抱怨的反应",
    "超过12%的人向20个或更多的人转述了可口可乐公司对他们抱怨的反应",
    "资料原文此句缺少动词（“……向20个或更多的人可口可乐公司对他们抱怨的反应”），"
    "按上下文“向4—5名其他人转述他们的经历”补上“转述了”。"),)
SOURCE = f"《{seed_title(case_texts.SEED)}》"


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    scenario: str
    text: dict  # heading, narrative, questions, hints (quoted from the seed)
    exercises: tuple[str, ...]
    bank_items: tuple[str, ...] = ()  # case_study items of the bank this case brings to life
    topics: tuple[str, ...] = ()
    data_focus: str = ""  # what to look at in the data (our words, not the seed's)
    source: str = field(default="")
    repairs: tuple[Repair, ...] = ()

    @property
    def scenario_label(self) -> str:
        from app.models.sandbox import SCENARIOS

        return SCENARIOS.get(self.scenario, self.scenario)

    @property
    def heading(self) -> str:
        return self.text["heading"]


CASES: dict[str, Case] = {}


def register(case: Case) -> Case:
    CASES[case.key] = case
    return case


register(Case(
    key="walmart", title="沃尔玛：啤酒与尿布", scenario="walmart_basket", text=case_texts.WALMART,
    exercises=("association_rule", "pareto_share", "campaign_budget"),
    bank_items=("s003-p1-cs-01",), topics=("数据库营销与数据挖掘", "CRM 系统与模块"),
    data_focus="在本班沙盒的订单明细里找出“一起被购买”的商品：计算支持度、置信度和提升度，"
               "看看哪条规则最强；再想想这样的发现如何用于陈列、促销和精准营销。",
    source=f"{SOURCE} 第一篇 六、案例分析 1",
))
register(Case(
    key="cosmetics", title="机智的化妆品公司老板：会员计划", scenario="cosmetics_members", text=case_texts.COSMETICS,
    exercises=("member_retention", "lifecycle_stage", "value_tiers", "clv"),
    bank_items=("s003-p1-cs-02",), topics=("关系营销", "客户满意与忠诚"),
    data_focus="比较入会（会员）客户与其他客户的留存、复购和价值；看各获客年份的客户在之后的留存；"
               "用客户终身价值说明“把顾客忠诚化”值多少钱。",
    source=f"{SOURCE} 第一篇 六、案例分析 2",
))
register(Case(
    key="coca_cola", title="可口可乐的客户调查：投诉与口碑", scenario="coca_cola_complaints",
    text=repaired(case_texts.COCA_COLA, COCA_COLA_REPAIRS), repairs=COCA_COLA_REPAIRS,
    exercises=("complaint_handling", "satisfaction_repurchase", "segment_churn_rate"),
    bank_items=("s003-p1-cs-03",), topics=("客户服务与沟通", "客户满意与忠诚"),
    data_focus="在服务工单与满意度调查中比较：投诉处理得满意的客户与不满意的客户，之后的复购和流失有何不同；"
               "满意度 c=b/a 与复购的关系如何。",
    source=f"{SOURCE} 第一篇 六、案例分析 3",
))
register(Case(
    key="sto_express", title="申通快递：主动的客户沟通", scenario="default", text=case_texts.STO_EXPRESS,
    exercises=("decline_customers", "value_tiers", "campaign_budget"),
    topics=("客户服务与沟通", "关系营销"),
    data_focus="“一般都是客户打电话找快递公司，而不是快递公司积极主动地找客户。”在沙盒里主动找出消费下滑的客户，"
               "按价值分层决定先联系谁，再用有限的预算设计一次回访/营销活动，与随机联系比一比效果。",
    source=f"{SOURCE} 第五篇 申通快递",
))


def cases_for_item(uid: str) -> list[Case]:
    return [c for c in CASES.values() if uid in c.bank_items]
