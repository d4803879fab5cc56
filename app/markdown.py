"""The one way Markdown becomes HTML: markdown, then the nh3 allow-list sanitizer."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "sub", "sup", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    "a", "img", "span", "div", "mark", "dl", "dt", "dd",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "span": {"class"},
    "div": {"class"},
    "mark": {"class"},
    "code": {"class"},
}
# Images only from the app itself (relative URLs): no tracking pixels, nothing external.
URL_SCHEMES = {"http", "https", "mailto"}


def is_local_url(value: str) -> bool:
    """Whether a URL stays on this site, read the way a browser reads it (``\\`` is ``/``, controls dropped)."""
    from urllib.parse import urlsplit

    normalised = "".join(ch for ch in value if ch >= " " and ch != "\x7f").strip().replace("\\", "/")
    if not normalised.startswith("/") or normalised.startswith("//"):
        return False
    parts = urlsplit(normalised)
    return not parts.scheme and not parts.netloc


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src" and not is_local_url(value):
        return None
    return value


@lru_cache(maxsize=4096)
def _render(text: str) -> str:
    import markdown as md  # (imported on the first text rendered, not when the app starts)
    import nh3

    html = md.markdown(text, extensions=["tables", "sane_lists", "fenced_code", "nl2br"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_filter_attribute,
    )


def render_markdown(text: str | None) -> Markup:
    """Render Markdown to sanitized HTML (cached: the bank's text is rendered once per process)."""
    return Markup(_render(text or ""))  # noqa: S704 (sanitized by nh3 above)
