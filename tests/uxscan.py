"""Scan rendered pages for what should not reach a Chinese reader: ASCII punctuation inside Chinese sentences and
code identifiers in snake_case. Text copied from the seed documents (item stems, options, answers, reading pages) keeps
the seed's own punctuation and is left out by its classes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef"
# an ASCII , ; : ! ? ( ) touching a Chinese character on either side (a space between still counts)
ASCII_PUNCT = re.compile(rf"[{CJK}] ?[,;:!?()]|[,;:!?()] ?[{CJK}]")
SNAKE_CASE = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w./-])")
SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "svg", "title"}
# text that comes from the seeds (kept as the seed wrote it)
SEED_TEXT_CLASSES = {"stem", "md", "options", "choice", "answer-block", "kp-list", "seed-text"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# attributes people read (tooltips, labels, placeholders)
READ_ATTRS = ("title", "aria-label", "placeholder", "alt")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[bool] = []
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        hidden = any(self.skipping)
        classes = set((values.get("class") or "").split())
        if not hidden and not classes & SEED_TEXT_CLASSES:
            self.parts.extend(values[a] for a in READ_ATTRS if values.get(a))
        if tag not in VOID:
            self.skipping.append(tag in SKIP_TAGS or bool(classes & SEED_TEXT_CLASSES))

    def handle_endtag(self, tag):
        if tag not in VOID and self.skipping:
            self.skipping.pop()

    def handle_data(self, data):
        if not any(self.skipping):
            self.parts.append(data)


def parse(html: str) -> _Visible:
    parser = _Visible()
    parser.feed(html)
    return parser


def problems(html: str) -> list[str]:
    """What a Chinese reader should not see on this page, each with a little context."""
    text = " ".join(" ".join(parse(html).parts).split())
    found = [f"ASCII 标点:…{text[max(0, m.start() - 10):m.end() + 10]}…" for m in ASCII_PUNCT.finditer(text)]
    found += [f"标识符 {m.group(0)}:…{text[max(0, m.start() - 10):m.end() + 10]}…" for m in SNAKE_CASE.finditer(text)]
    return found


SKIP_PATHS = ("/auth/logout", "/static/", ".csv", "/export", "/download/")


def crawl(client, start: list[str], limit: int = 120) -> dict[str, list[str]]:
    """Follow same-site links from the start pages (GET only) and return each page's problems."""
    seen: set[str] = set()
    queue = list(start)
    report: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        key = path + ("?" + urlsplit(url).query if urlsplit(url).query else "")
        if key in seen or any(s in path for s in SKIP_PATHS):
            continue
        seen.add(key)
        response = client.get(key)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        found = problems(html)
        if found:
            report[key] = found
        for href in parse(html).links:
            target = urljoin(path, href)
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/"):
                continue
            # one page per list is enough: leave out paging and filters after the first few
            if parts.query and sum(1 for q in queue if urlsplit(q).path == parts.path) > 1:
                continue
            queue.append(parts.path + ("?" + parts.query if parts.query else ""))
    return report
