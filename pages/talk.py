"""The talk: the slides of talk.toml, each a deep link with its speaker notes; the keys that
move through them from any page; a checker for an edited talk file."""

import html

import streamlit as st

from gvae.app.talk import PAGES, TalkError, parse_talk, talk_path
from pages.common import message, use_app_navigation
from pages.talk_kit import slide_urls, talk_slides

use_app_navigation()

st.title("Talk")
slides, error = talk_slides()
path = talk_path()
if error:
    message("error", f"The talk file cannot be used: {error}", icon=":material/error:")
    st.stop()
urls = slide_urls(slides)

first = st.columns([2, 3], vertical_alignment="center")
first[0].markdown(
    f'<a href="{html.escape(urls[0])}" target="_self" data-testid="gvae-talk-start" '
    'style="font-size:1.4rem;font-weight:600">▶ Start the talk</a>',
    unsafe_allow_html=True,
)
first[1].markdown(
    "**PageDown** or **→**: next slide. **PageUp** or **←**: previous slide. From any page; a "
    "clicker sends these keys. Arrows are left to sliders, text fields and the editor's grid "
    "while they have the focus. The counter at the bottom right shows where you are."
)
st.caption(f"{len(slides)} slides from `{path}` (re-read when it changes).")

for number, (slide, url) in enumerate(zip(slides, urls), start=1):
    with st.container(border=True):
        head, notes = st.columns([2, 3], gap="large")
        state = ", ".join(f"{k} = {v}" for k, v in slide.params.items()) or "its defaults"
        where = slide.page + (f" › {slide.section}" if slide.section else "")
        head.markdown(
            f'<span style="opacity:0.7">{number}.</span> '
            f'<a href="{html.escape(url)}" target="_self" data-testid="gvae-slide-link" '
            f'data-slide="{number}">'
            f"<b>{html.escape(slide.title)}</b></a><br>"
            f'<span style="opacity:0.75;font-size:0.9em">{html.escape(where)}: '
            f"{html.escape(state)}</span>",
            unsafe_allow_html=True,
        )
        notes.markdown(slide.notes or "*(no notes)*")

st.header("Edit the talk", anchor="edit")
st.markdown(
    f"The talk is the file `{path.name}` (set `GVAE_TALK_FILE` to use another). Each "
    "`[[slide]]` has a `title`, a `page` "
    f"({', '.join(PAGES)}), and optionally a `section` (a heading's anchor), `params` (the page's "
    "URL state) and `notes`. Paste an edited version here to check it before saving it; the app "
    "never writes the file itself."
)
draft = st.text_area(
    "Talk file to check", value=path.read_text(encoding="utf-8"), height=300, key="talk_draft"
)
if st.button("Check", icon=":material/rule:"):
    try:
        checked = parse_talk(draft)
        st.success(f"{len(checked)} slides, all valid.", icon=":material/check_circle:")
    except TalkError as problem:
        message("error", str(problem), icon=":material/error:")
st.download_button(
    "Download this version", data=draft.encode(), file_name=path.name, mime="application/toml"
)
