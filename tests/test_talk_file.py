"""The talk file (talk.toml): the default talk, the format's rules and its error messages."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import ROOT

from gvae.app.pages import DEFAULT, SECTIONS
from gvae.app.pages import PAGES as APP_PAGES
from gvae.app.talk import PAGES, SLIDE_PARAM, TalkError, load_talk, parse_talk, slide_url

MINIMAL = """
[[slide]]
title = "One"
page = "kl"
"""


def test_the_default_talk_walks_the_article_from_section_one_to_seven():
    slides = load_talk(ROOT / "talk.toml")
    assert len(slides) >= 7
    assert slides[0].page == "home"
    sections = [int(m.group(1)) for s in slides for m in [re.match(r"§(\d)", s.notes)] if m]
    assert sections == sorted(sections) and sections[0] == 1 and sections[-1] == 7
    assert {s.page for s in slides} >= {
        "kl",
        "elbo",
        "reparameterization",
        "gumbel",
        "implementation",
    }
    assert all(s.notes for s in slides)


def test_every_page_of_the_table_exists_once():
    names = [p.name for p in APP_PAGES]
    paths = [p.url_path for p in APP_PAGES]
    assert len(set(names)) == len(names) and len(set(paths)) == len(paths)
    assert set(PAGES) == set(names)  # the talk file may name every page, and only those
    for page in APP_PAGES:
        assert (ROOT / page.script).is_file(), page
        assert page.section in SECTIONS, page
    assert [p for p in APP_PAGES if p.url_path == ""] == [DEFAULT]


def test_talk_toml_lists_the_pages_of_the_table():
    """talk.toml's comment names the pages a slide may open: the table's, in its order."""
    comment = (ROOT / "talk.toml").read_text().split("#   section")[0].split("#   page")[1]
    listed = re.findall(r"[a-z_]+", comment.replace("required", ""))
    assert listed == [p.name for p in APP_PAGES]


def test_app_py_navigates_the_table():
    """app.py's st.navigation registers the table's pages (their sections are checked in
    the browser, test_browser_stage)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    registered = [  # AppTest keeps no public list of them
        (
            Path(p["script_path"]).relative_to(ROOT).as_posix(),
            p["page_name"],
            p["icon"],
            p["url_pathname"],
        )
        for p in at._registered_pages.values()
    ]
    assert registered == [(p.script, p.title, p.icon, p.url_path) for p in APP_PAGES]


def test_params_defaults_and_lists():
    slides = parse_talk(
        """
[defaults]
params = { talk = 1, model = "gvae-default" }

[[slide]]
title = "τ"
page = "playground"
section = "simplex"
params = { tau = 0.1, p = [0.05, 0.25, 0.7], talk = 0, hard = true }
notes = "Say this."
"""
    )
    (slide,) = slides
    assert slide.params == {
        "talk": "0",
        "model": "gvae-default",
        "tau": "0.1",
        "p": "0.05,0.25,0.7",
        "hard": "1",
    }
    url = slide_url(slide, 3, base="/app")
    parts = urlsplit(url)
    assert parts.path == "/app/playground" and parts.fragment == "simplex"
    query = parse_qs(parts.query)
    assert (
        query["p"] == ["0.05,0.25,0.7"] and query[SLIDE_PARAM] == ["3"] and query["tau"] == ["0.1"]
    )
    assert slide_url(parse_talk(MINIMAL.replace('"kl"', '"home"'))[0], 1) == "/?slide=1"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[slide]\ntitle = 1", "not valid TOML"),
        ("title = 'x'", "no slides"),
        (MINIMAL.replace('page = "kl"', 'page = "kll"'), "slide 1 ('One'): page must be one of"),
        (MINIMAL.replace('title = "One"', ""), "slide 1: needs a title"),
        (MINIMAL + "params = { slide = 2 }", "set by the talk itself"),
        (MINIMAL + "params = { x = { y = 1 } }", "params.x must be"),
        (MINIMAL + "colour = 'red'", "unknown keys ['colour']"),
        (MINIMAL + "notes = 3", "notes must be text"),
        ("[defaults]\nfoo = 1\n" + MINIMAL, "[defaults] may hold only params"),
        ("[extra]\n" + MINIMAL, "unknown top-level keys"),
        (MINIMAL + MINIMAL.replace('"kl"', "3"), "slide 2 ('One'): page"),
    ],
)
def test_errors_say_what_and_where(text, message):
    with pytest.raises(TalkError, match=re.escape(message)):
        parse_talk(text)


def test_a_missing_or_unreadable_file_is_a_talk_error(tmp_path):
    with pytest.raises(TalkError, match="no talk file"):
        load_talk(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe[[slide]]")
    with pytest.raises(TalkError):
        load_talk(tmp_path / "bad.toml")
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(TalkError):
        load_talk(tmp_path / "folder.toml")
