"""Chinese punctuation for labels that come from the bank's data (topic names, reading titles, section names).

Item stems keep the seed's own punctuation; the labels around them are read as Chinese sentences, so an ASCII
``, ; : ! ? ( )`` touching a Chinese character is shown as its full-width form. Template filter ``zh``.
"""

from __future__ import annotations

import re

FULL_WIDTH = {",": "\uff0c", ";": "\uff1b", ":": "\uff1a", "(": "\uff08", ")": "\uff09", "!": "\uff01", "?": "\uff1f"}
_CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef\u2018-\u201d"
_TOUCHING = re.compile(rf"(?<=[{_CJK}]) ?([,;:!?()])|([,;:!?()]) ?(?=[{_CJK}])")
_PAIR = re.compile(r"\(([^()\uff08\uff09]*)\uff09|\uff08([^()\uff08\uff09]*)\)")


def zh_punct(text: str | None) -> str:
    """Full-width punctuation where it touches Chinese text (and the other half of a bracket pair it opened)."""
    if not text:
        return text or ""
    text = str(text)
    while (changed := _TOUCHING.sub(lambda m: FULL_WIDTH[m.group(1) or m.group(2)], text)) != text:
        text = changed  # a run such as “谢谢!!!” turns one mark at a time
    return _PAIR.sub(lambda m: "\uff08" + (m.group(1) if m.group(1) is not None else m.group(2)) + "\uff09", text)
