"""Text from files and URLs, made safe to show: cut to a length, and escaped so that
Streamlit's Markdown shows it literally (no links, images, HTML, math, colours or icons).

Streamlit renders Markdown in st.markdown, st.caption, alerts (st.warning, st.error...),
st.metric, titles, image captions and widget labels; a value that reaches any of them
unescaped can fetch an image from anywhere, show a live link or hide text.
"""

from __future__ import annotations

import re

MESSAGE_CHARS = 80  # a value quoted in a message is cut to this many characters

# The characters that open or close Markdown inline syntax in Streamlit: emphasis, code,
# links and images, HTML and entities, math ($), directives (:red[...]), icons
# (:material/...:), tables, and GFM autolinks (http:, a@b.c). A backslash makes each literal.
_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>!$~|:&#@])")
# At the start of a line, these begin a list, a heading rule or an ordered list.
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")
# GFM turns www.example.com into a link: its first dot is escaped.
_WWW = re.compile(r"(?i)\b(www)\.")
# Streamlit links a bare http://host even with its colon escaped (the autolink is found in
# the text after escapes are resolved): a zero-width space after the scheme's name breaks
# it. The same for the other schemes GFM autolinks.
_SCHEME = re.compile(r"(?i)(?<![a-z])(https?|ftp|mailto|xmpp)(?=:)")
# An emoji shortcode (:smile:) is replaced after escapes are resolved; a zero-width space
# after its first colon keeps it as typed.
_SHORTCODE = re.compile(r":(?=[\w+-]+:)")
_WHITESPACE = re.compile(r"\s+")


def cut(text, limit: int = MESSAGE_CHARS) -> str:
    """`text` on one line, at most `limit` characters (the rest replaced by '…')."""
    text = _WHITESPACE.sub(" ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_markdown(text) -> str:
    """`text` as Markdown that renders exactly as `text` (whitespace runs become one
    space, as in any Markdown paragraph)."""
    text = _SHORTCODE.sub(":\u200b", _WHITESPACE.sub(" ", str(text)))
    text = _SCHEME.sub("\\1\u200b", text)
    text = _ACTIVE.sub(r"\\\1", text)
    text = _WWW.sub(r"\1\\.", text)
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def code_span(text) -> str:
    """`text` as a Markdown code span: shown verbatim in a monospace font. The fence is
    one backtick longer than any run of backticks inside."""
    text = _WHITESPACE.sub(" ", str(text))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def unescape_markdown(markdown: str) -> str:
    """The text escape_markdown(text) shows: what a reader sees (tests compare this)."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u200b", "")


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
