"""YAML for files from outside: PyYAML's safe loader with anchors and aliases refused.

An alias lets a few hundred bytes expand into megabytes (a 472-byte file became 34.7 MB of key points); the bank
never needs one, so a file that uses them is refused outright.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_YAML_BYTES = 4 * 1024 * 1024


class AliasRefused(yaml.YAMLError):
    """The document uses an anchor or alias."""

    def __init__(self, mark: Any) -> None:
        super().__init__("不允许使用 YAML 锚点和别名(& 与 *)")
        self.problem = "不允许使用 YAML 锚点和别名(& 与 *)"
        self.problem_mark = mark


class NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that stops at the first alias or anchor."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise AliasRefused(event.start_mark)
        return super().compose_node(parent, index)


def load_untrusted(text: str) -> Any:
    """Parse YAML that came from outside the repository (aliases refused, size capped)."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise yaml.YAMLError(f"文件超过 {MAX_YAML_BYTES // (1024 * 1024)} MB")
    return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 (NoAliasLoader is a SafeLoader)
