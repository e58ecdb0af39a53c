"""Sanitising customer HTML (nh3) before any agent sees it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from urllib.parse import unquote

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q",
    "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "font": {"color"},
    "*": {"dir", "lang"},
}
#: Images may only come from our own attachment store: a remote image is a tracking pixel until an
#: agent chooses to load it (the original stays in the raw message).
_LOCAL_IMAGE_PREFIX = "/api/v1/attachments/"
# `src="cid:..."` (RFC 2392): an email's inline image, carried as an attachment of the same message.
_CID_SRC = re.compile(r"""(\bsrc\s*=\s*)(["']?)cid:([^"'\s>]{1,400})\2""", re.IGNORECASE)


def attachment_url(attachment_id: int) -> str:
    """Where the console loads an attachment's bytes."""
    return f"{_LOCAL_IMAGE_PREFIX}{attachment_id}"


def link_inline_images(html: str, urls: Mapping[str, str]) -> str:
    """Replace `cid:` image sources by our attachment URLs; unknown ones stay (and the sanitiser drops them)."""
    by_id = {cid.strip("<>").lower(): url for cid, url in urls.items()}

    def swap(match: re.Match[str]) -> str:
        url = by_id.get(unquote(match.group(3)).strip("<>").lower())
        return f'{match.group(1)}"{url}"' if url else match.group(0)

    return _CID_SRC.sub(swap, html)


def _filter(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and not value.startswith(_LOCAL_IMAGE_PREFIX):
        return None
    return value


def sanitize_html(html: str | None) -> str | None:
    """Safe HTML: no scripts, styles, forms, event handlers, iframes or remote images."""
    if not html:
        return None
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        attribute_filter=_filter,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def text_to_html(text: str) -> str:
    """Escape plain text for HTML display, keeping line breaks."""
    return escape(text.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "<br>")
