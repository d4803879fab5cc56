"""Names and rules shared by the loader, the validator and the app."""

from __future__ import annotations

ITEM_TYPES: dict[str, str] = {
    "single_choice": "单选题",
    "multi_choice": "多选题",
    "true_false": "判断题",
    "term_definition": "名词解释",
    "short_answer": "简答题",
    "essay": "论述题",
    "case_study": "案例分析",
    "fill_blank": "填空题",
}
CHOICE_TYPES = frozenset({"single_choice", "multi_choice"})
TEXT_TYPES = frozenset({"term_definition", "short_answer", "essay", "fill_blank"})
KEY_SOURCES = {
    "source": "答案来自源文档",
    "derived": "答案由源文档内容推导",
    "corrected": "源文档所印答案与资料其他部分矛盾,已更正",
    "none": "源文档未给出答案",
    "instructor": "教师编写",
}
KEYED_SOURCES = frozenset({"source", "derived", "corrected", "instructor"})
EXPLANATION_SOURCES = frozenset({"seed", "authored"})
OPTIONS_SOURCES = frozenset({"source", "authored"})
ALLOWED_FIELDS = frozenset(
    {
        "id", "type", "stem", "options", "answer", "key_source", "options_source", "explanation",
        "topics", "sources", "parts", "notes", "source_text", "key_points", "blanks", "correction",
        "explanation_source", "printed_key",
        "author", "references", "tags",  # instructors' own items: provenance instead of seed sources
    }
)
REQUIRED_FIELDS = ("id", "type", "stem", "key_source", "topics", "sources")
ID_PATTERN = r"^s\d{3}-[a-z0-9][a-z0-9-]*$"
# Types scored by a key_points rubric (case_study may carry one too; essays are self-assessed on its points).
RUBRIC_TYPES = frozenset({"term_definition", "short_answer", "essay"})
RUBRIC_LIMITS = {"points": 10, "expressions": 12, "expression_chars": 30, "label_chars": 40, "weight": 5,
                 "plain_chars": 200}
# Whether every seed item must already carry explanation, explanation_source and (keyed 名词解释/简答/论述) a
# rubric. The shape and key-policy checks apply regardless. Turned on once the content of issue 8 is merged.
REQUIRE_COMPLETE_CONTENT = True
