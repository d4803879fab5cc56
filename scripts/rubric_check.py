"""Check curated key_points rubrics against text their authors did not write.

    .venv/bin/python scripts/rubric_check.py            # clauses end at 。;!? and list numbers
    .venv/bin/python scripts/rubric_check.py --strict   # clauses also end at commas

For every item with a curated rubric ({point, expressions, weight}) it reports:
1. how much of the rubric (by weight) the item's own model answer earns (should be 100 %);
2. how much independent wordings from the seeds (another seed, or another section answering the same question)
   earn (should be high: they are correct paraphrases);
3. how much other items' model answers and common confusions earn (neighbouring concepts: should be low).

This is a rubric-authoring aid, not the scorer: an expression counts when all its "+" terms occur in one clause,
without the scorer's negation, stem-word and clause-quality rules (app/keypoints.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from question_bank import load_bank  # noqa: E402

# Independent wordings in the seeds of the answer to the same question: (item, where, text).
PARAPHRASES = [
    ("s000-td-04", "003 名词解释1", "又称顾问式营销,指企业在赢利的基础上,建立,维持和促进与顾客和其他伙伴之间的关系,以实现参与各方的目标,"
     "从而形成一种兼顾各方利益的长期关系。"),
    ("s000-td-04", "003 案例2提示", "所谓关系营销,是把营销活动看成是一个企业与消费者、供应商、分销商、竞争者、政府机构及其他公众发生互动作用的"
     "过程,其核心是建立和发展与这些公众的良好关系。"),
    ("s000-td-15", "003 名词解释5", "企业通过搜集和积累消费者的大量信息,经过处理后预测消费者有多大可能性去都买某种产品,以及利用这些信息给产品"
     "以精确定位,有针对性地制作营销信息,以达到说服消费者去购买产品的目的。"),
    ("s000-td-13", "003 论述2", "所谓客户满意,是指客户将其对一个产品或服务的可感知的效果与他的期望值进行比较后所形成的愉悦或失望的感觉状态。"),
    ("s000-td-13", "001 第二章3", "客户的满意状况是由客户的期望和客户的感知(包括对质量的感知和价格的感知)这两个因素决定的。"
     "客户满意度c=b/a(c客户满意度;b客户的感知值;a客户的期望值)"),
    ("s000-td-06", "003 论述1", "客户关系管理是一种以客户为中心的经营策略,它以信息技术为手段,通过对相关业务流程的重新设计及相关工作流程的"
     "重新组合,以完整的客户服务和深入的客户分析来满足客户的个性化的需求,提高客户满意度和忠诚度,从而保证客户终生价值和企业"
     "利润增长“双赢”策略的实现。"),
    ("s000-td-06", "003 第二篇简答4", "它是一种以客户为中心、以信息技术为手段,对业务功能进行重新设计,并对工作流程进行重组的经营策略。"),
    ("s000-td-06", "003 第三篇", "企业利用相应的信息技术以及互联网技术来协调企业与顾客间在销售、营销和服务上的交互,从而提升其管理方式,"
     "向客户提供创新式的个性化的客户交互和服务的过程。其最终目标是吸引新客户、保留老客户以及将已有客户转为忠实客户。"),
    ("s000-td-06", "001 第二章1", "以技术为手段,对客户资源进行集中管理的经营策略。以客户为中心是CRM的核心所在。CRM通过满足客户个性化的"
     "需要,提高客户忠诚度,来实现缩短销售周期、降低销售成本、增加收入、拓展市场,全面提升企业盈利能力和竞争能力的目的。"),
    ("s000-td-06", "004 ㈥", "CRM的主要含义就是通过对客户详细资料的深入分析,来提高客户满意程度,从而提高企业的竞争力的一种手段。"),
    ("s000-td-16", "002 客户细分", "又成市场细分,是只营销者通过市场调研,依据消费者的需要和欲望,购买行为和购买习惯,客户生命周期和客户价值"
     "等方面的差异,把某一产品的市场划分为若干个消费者群,以提供有针对性的产品服务和营销模式的市场分类过程."),
    ("s000-td-10", "000 作业4", "客户占有率也就是指一个客户的“钱包占有率”(share of wallet ,SOW),即企业在一个客户的同类消费品中所占"
     "份额的多少。"),
    ("s000-td-12", "000 问答五", "客户项目经理:是企业项目的具体负责人,是日常工作、项目活动的只要协调员。"),
    ("s000-td-07", "000 问答二", "客户生命周期理论也称客户关系生命周期理论是指从企业与客户建立业务关系到完全终止关系的全过程,是客户关系水平"
     "随时间变化的发展轨迹,它动态地描述了客户关系在不同阶段的总体特征。客户生命周期可分为识别期期、形成期、稳定期和退化期等四个阶段。"),
    ("s000-td-02", "000 问答三", "所为客户价值管理,即根据客户的交易历史数据对客户价值进行统计与分析,挖掘最具价值的现期客户和潜在客户。"),
    ("s000-td-17", "000 问答六", "建设成本包括:IT成本、咨询成本、培训成本、集成成本和人力成本。"),
    ("s000-hw-01", "000 问答三", "a客户价值信息的获取与整理 b客户价值的分析与评价 REM模型 客户价值矩阵分析 通过利润分类法细分客户 "
     "c区别对待不同价值的客户 d客户价值的创造与让渡"),
    ("s000-hw-02", "000 单选40", "关系营销的本质特征有双向沟通、合作、双赢、亲密和控制"),
    ("s000-hw-11", "003 案例1提示", "商业数据挖掘是针对商业数据库中的大量业务数据进行抽取、转换、分析和其他模型化处理,从中提取辅助商业决策的"
     "关键性数据,它是一种新的商业信息处理技术,其主要目的是为所有决策提供真正有价值的信息,进而获得利润。"),
    ("s000-qa-01", "003 第二篇简答2、10", "核心思想:以客户为中心,提高客户满意度,改善客户关系,进而提高企业竞争力。目的:企业与客户的双赢。"
     "核心思想:将企业的客户视为最重要的企业资产,通过完善的服务和深入的客户分析来满足客户的个性化需求,提高客户的满意度和忠诚度,"
     "进而保证客户终身价值和企业利润增长的实现。"),
]
# Items whose model answers answer the same question (a seed's two versions), so they are not neighbours.
SAME_QUESTION = [("s000-hw-06", "s000-hw-12"), ("s000-hw-14", "s000-qa-05")]
# Wrong answers a student is likely to give: a neighbouring concept, a wrong list, the relationship reversed.
CONFUSIONS = [
    ("s000-td-13", "客户忠诚(003 名词解释2)", "客户忠诚是指客户对某一特定产品或服务产生了好感,形成了偏好,进而重复购买的一种倾向。"),
    ("s000-td-14", "客户让渡价值(003 名词解释3)", "客户让渡价值是指客户总价值与总成本之间的差额。"),
    ("s000-td-05", "数据挖掘(003 名词解释4)", "是从大量的、不完全的、有噪声的、模糊的、随机的实际应用数据中提取人们感兴趣的知识。"),
    ("s000-td-06", "客户关系管理系统(003 名词解释6)", "是利用软件、硬件和网络技术,为企业建立一个客户信息收集、管理、分析、利用的信息系统。"),
    ("s000-td-16", "按价值分客户(003 简答5)", "根据客户的价值,可将客户细分为VIP客户、主要客户、普通客户和小客户四种类型。"),
    ("s000-td-10", "市场占有率", "企业的销售量在整个市场同类产品总销售量中所占的比例。"),
    ("s000-td-04", "交易营销(003 简答6)", "交易营销关注的是一次性交易,较少强调顾客服务,往往只有少量的承诺,认为产品质量应是生产部门所关心的问题,"
     "不注重与顾客的长期联系。"),
    ("s000-hw-08", "错误名称", "操作型CRM、合作型CRM、分析型CRM"),
    ("s000-hw-08", "只写 CRM", "CRM"),
    ("s000-hw-07", "方向颠倒", "从以客户为中心到以产品为中心"),
    ("s000-qa-02", "产品生命周期", "产品生命周期分为导入期、成长期、成熟期和衰退期,导入期销量低,成长期销量迅速上升,成熟期销量最大,衰退期销量下降。"),
]


def norm(text: str) -> str:
    return text.lower().replace("顾客", "客户")


def coverage(item: dict[str, Any], text: str, split: str) -> tuple[float, list[str]]:
    """Share of the rubric's weight whose expressions occur (all '+' terms in one clause) in ``text``; missed points."""
    clauses = [c for c in re.split(split, norm(text)) if c.strip()]
    points = item["key_points"]
    found = [p for p in points
             if any(all(norm(t) in c for t in e.split("+")) for c in clauses for e in p["expressions"])]
    return (sum(p["weight"] for p in found) / sum(p["weight"] for p in points),
            [p["point"] for p in points if p not in found])


def main() -> None:
    """Print the three checks for every curated rubric in the bank."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="also end clauses at commas")
    args = parser.parse_args()
    split = r"[。;;!?!?\n]|[①②③④⑤⑥⑦⑧⑨⑩]|[((]\d[))]|(?<!\d)\d[、.]" + (r"|[,,]" if args.strict else "")
    items = {it["id"]: it for it in load_bank().items
             if isinstance(it.get("key_points"), list) and it["key_points"] and isinstance(it["key_points"][0], dict)}

    print(f"== 1. model answer (should be 100 %): {len(items)} curated rubrics")
    own = {iid: coverage(it, str(it.get("answer") or ""), split) for iid, it in items.items()}
    for iid, (c, missed) in own.items():
        if c < 1:
            print(f"  {iid:16} {c:4.0%}  missed {missed}")
    print(f"  full coverage: {sum(c == 1 for c, _ in own.values())}/{len(own)}")

    print("== 2. independent wordings in the seeds (correct paraphrases: should be high)")
    shares = []
    for iid, where, text in PARAPHRASES:
        if iid in items:
            c, missed = coverage(items[iid], text, split)
            shares.append(c)
            print(f"  {iid:16} {where:18} {c:4.0%}  missed {missed}")
    if shares:
        print(f"  mean {sum(shares) / len(shares):.0%}; at least 60 %: {sum(c >= 0.6 for c in shares)}/{len(shares)}")

    print("== 3. neighbouring concepts (should be low)")
    same = {frozenset(p) for p in SAME_QUESTION}
    pairs = []
    for a, item_a in items.items():
        for b, item_b in items.items():
            if a != b and a[:4] == b[:4] and item_a["type"] == item_b["type"] and frozenset((a, b)) not in same:
                pairs.append((coverage(item_a, str(item_b.get("answer") or ""), split)[0], a, b))
    pairs.sort(reverse=True)
    print(f"  other items' model answers (same seed and type): {len(pairs)} pairs; "
          f"at least 60 %: {sum(c >= 0.6 for c, _, _ in pairs)}; at least 40 %: {sum(c >= 0.4 for c, _, _ in pairs)}")
    for c, a, b in pairs[:5]:
        print(f"    rubric {a} on the answer of {b}: {c:.0%}")
    for iid, what, text in CONFUSIONS:
        if iid in items:
            print(f"  {iid:16} {what:24} {coverage(items[iid], text, split)[0]:4.0%}")


if __name__ == "__main__":
    main()
