"""The five seed documents by name: the title people read instead of a file name, and what each one holds.

Three hold the course's questions (their bank files carry the same ``title:``); two are reading material, shown as
the reading pages in ``notes/``. Titles of the reading seeds come from their own text: 001 is the document
“CRM复习重点.docx”, 004 is a set of articles headed “CRM与电子商务的关系”.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Seed:
    file: str
    title: str
    kind: str  # "questions" | "reading"
    about: str


SEEDS: dict[str, Seed] = {s.file: s for s in (
    Seed("000_c565d983a41da886.txt", "客户关系管理重点", "questions",
         "课程重点的问答、名词解释与论述题。"),
    Seed("001_fda7b4b28ae39d7b.txt", "CRM复习重点", "reading",
         "按章整理的复习要点：客户关系的起源与发展、CRM 的内涵与理论、客户价值、生命周期、满意与忠诚、RFM 等。"),
    Seed("002_7a33e745644208c9.txt", "CRM 系统模块与客户关系管理习题汇编", "questions",
         "CRM 系统各模块的介绍，以及选择、判断、简答等各章习题。"),
    Seed("003_6083eb2c918677cd.txt", "网络客户关系管理期末试卷", "questions",
         "期末试卷与案例分析（沃尔玛、化妆品公司、可口可乐、申通快递等）。"),
    Seed("004_8c6a7264faa3adbb.txt", "CRM与电子商务", "reading",
         "几篇关于 CRM 与电子商务的文章：两者的关系、CRM 对电商企业的作用与好处。"),
)}


def seed_title(file: str) -> str:
    """The document's title for a seed file name (the name itself for a file that is not one of the five)."""
    seed = SEEDS.get(file)
    return seed.title if seed else file
