"""Write items back in the question_bank/ YAML format, so instructor edits can land in the repository."""

from __future__ import annotations

from typing import Any

import yaml

FIELD_ORDER = ("id", "type", "stem", "options", "answer", "printed_key", "key_source", "options_source", "explanation",
               "explanation_source", "correction", "parts", "blanks", "key_points", "topics", "sources", "author",
               "references", "tags", "source_text", "notes")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def item_to_yaml_dict(item: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in FIELD_ORDER:
        value = item.get(name)
        if value in (None, "", [], {}) and name not in ("id", "type", "stem", "key_source"):
            continue
        out[name] = value
    return out


def export_yaml(items: list[dict[str, Any]], seed: str | None = None, title: str | None = None) -> str:
    doc: dict[str, Any] = {}
    if seed:
        doc["seed"] = seed
    if title:
        doc["title"] = title
    doc["items"] = [item_to_yaml_dict(i) for i in items]
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
