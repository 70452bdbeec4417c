"""Plain text in Markdown: escape_markdown shows any text literally (gvae.app.text)."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gvae.app.text import code_span, cut, escape_markdown, unescape_markdown

ACTIVE = re.compile(r"(?<!\\)[\[\]<>`$*_|~!:&#@()]")


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text(alphabet=st.characters(exclude_characters="\u200b"), max_size=60))
def test_escaped_text_reads_back_and_holds_no_markup(text):
    escaped = escape_markdown(text)
    assert unescape_markdown(escaped) == re.sub(r"\s+", " ", text)
    assert not ACTIVE.search(escaped.replace("\\\\", ""))


# What GFM (and so Streamlit) turns into a link with no brackets at all: a scheme and its
# colon (escaped or not), or www. and a dot.
AUTOLINK = re.compile(r"(?i)(?<![a-z])(https?|ftp|mailto|xmpp)\\?:|\bwww\.")
url_like = st.lists(
    st.one_of(
        st.sampled_from(["http://", "HTTPS://", "ftp:", "mailto:", "xmpp:", "www.", "WwW."]),
        st.sampled_from(["evil.example", "a@b.c", "/x.png", "[x](", ")", "![", " ", "\\"]),
        st.text(alphabet=st.characters(exclude_characters="\u200b"), max_size=8),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(url_like)
def test_no_address_stays_a_link(text):
    escaped = escape_markdown(text)
    assert not AUTOLINK.search(escaped), escaped
    assert unescape_markdown(escaped) == re.sub(r"\s+", " ", text)


def test_the_issue_probes_and_common_names():
    assert escape_markdown("![t](http://host/x.png)") == "\\!\\[t\\]\\(http\u200b\\://host/x.png\\)"
    assert escape_markdown("gvae-default.safetensors") == "gvae-default.safetensors"
    assert escape_markdown("- item") == r"\- item" and escape_markdown("1. x") == r"1\. x"
    assert escape_markdown("see www.example.com") == r"see www\.example.com"
    assert escape_markdown(":smile: :material/home:") == "\\:\u200bsmile\\: \\:material/home\\:"


def test_cut_and_code_span():
    assert cut("a" * 100) == "a" * 79 + "…" and cut("a\n\n b") == "a b"
    assert code_span("x ``y`` z") == "```x ``y`` z```" and code_span("`a") == "`` `a ``"
