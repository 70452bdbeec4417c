"""The talk: an ordered list of slides read from a TOML file a speaker edits (talk.toml).

Each slide is a deep link into the app, a page and the URL state it opens with, plus a title
and speaker notes. The format (documented in talk.toml itself and the README):

    [defaults]                     # optional: params every slide gets (a slide's own win)
    params = { talk = 1 }

    [[slide]]
    title = "KL is not symmetric"  # required
    page = "kl"                    # required: a page of the app (see PAGES)
    section = "asymmetry"          # optional: the heading to scroll to (URL #fragment)
    params = { p = [0.5, 0.5, 0], q = "0.3,0.3,0.4" }   # optional: the page's URL state
    notes = '''What to say.'''     # optional: markdown, shown on the Talk page only

Param values may be strings, numbers, booleans or lists (joined with commas, the form the
pages' URLs use). Problems are reported with the slide's number and title; nothing here
raises anything but TalkError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from gvae.app.pages import PAGES as APP_PAGES

TALK_FILE_ENV = "GVAE_TALK_FILE"
DEFAULT_TALK_FILE = Path(__file__).resolve().parents[2] / "talk.toml"
SLIDE_PARAM = "slide"  # the 1-based slide number in a slide's URL
MAX_SLIDES = 500
MAX_FILE_BYTES = 1 << 20

# The app's pages by the name a talk file uses, and their URL paths (gvae.app.pages).
PAGES = {page.name: page.url_path for page in APP_PAGES}


class TalkError(ValueError):
    """The talk file is missing, malformed, or names something the app does not have."""


@dataclass(frozen=True)
class Slide:
    title: str
    page: str  # a key of PAGES
    params: dict[str, str] = field(default_factory=dict)
    section: str | None = None
    notes: str = ""


def talk_path() -> Path:
    """The talk file: $GVAE_TALK_FILE, else talk.toml at the top of the repository."""
    return Path(os.environ.get(TALK_FILE_ENV) or DEFAULT_TALK_FILE)


def _param_value(value, where: str, name: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list) and all(
        isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value
    ):
        return ",".join(str(v) for v in value)
    raise TalkError(
        f"{where}: params.{name} must be a string, number, boolean or list of them, "
        f"got {type(value).__name__}"
    )


def _params(table, where: str) -> dict[str, str]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise TalkError(f"{where}: params must be a table, e.g. params = {{ tau = 0.5 }}")
    out = {}
    for name, value in table.items():
        if name == SLIDE_PARAM:
            raise TalkError(f"{where}: params.{SLIDE_PARAM} is set by the talk itself")
        out[str(name)] = _param_value(value, where, name)
    return out


def parse_talk(text: str) -> list[Slide]:
    """The slides of a talk file's text; TalkError says what is wrong and where."""
    import tomllib  # Python 3.11+, as Streamlit 1.67 requires

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TalkError(f"the talk file is not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"defaults", "slide", "title"})
    if unknown:
        raise TalkError(f"unknown top-level keys {unknown}; expected [defaults] and [[slide]]")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - {"params"}:
        raise TalkError("[defaults] may hold only params = { ... }")
    default_params = _params(defaults.get("params"), "[defaults]")
    raw = data.get("slide")
    if not isinstance(raw, list) or not raw:
        raise TalkError("the talk file has no slides: add [[slide]] tables with a title and a page")
    if len(raw) > MAX_SLIDES:
        raise TalkError(f"{len(raw)} slides; at most {MAX_SLIDES}")
    slides = []
    for number, item in enumerate(raw, start=1):
        title = item.get("title")
        where = f"slide {number}" + (f" ({title!r})" if isinstance(title, str) else "")
        extra = sorted(set(item) - {"title", "page", "section", "params", "notes"})
        if extra:
            raise TalkError(
                f"{where}: unknown keys {extra}; a slide has title, page, section, params, notes"
            )
        if not isinstance(title, str) or not title.strip():
            raise TalkError(f"{where}: needs a title (text)")
        page = item.get("page")
        if page not in PAGES:
            raise TalkError(f"{where}: page must be one of {', '.join(PAGES)}; got {page!r}")
        section = item.get("section")
        if section is not None and (not isinstance(section, str) or not section.strip()):
            raise TalkError(f"{where}: section must be a heading's anchor (text)")
        notes = item.get("notes", "")
        if not isinstance(notes, str):
            raise TalkError(f"{where}: notes must be text")
        params = {**default_params, **_params(item.get("params"), where)}
        slides.append(Slide(title.strip(), page, params, section, notes.strip()))
    return slides


def load_talk(path: Path | None = None) -> list[Slide]:
    """The slides of the talk file at `path` (default: talk_path())."""
    path = Path(path or talk_path())
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TalkError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TalkError(f"no talk file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TalkError(f"cannot read {path}: {error}") from None
    return parse_talk(text)


def slide_url(slide: Slide, number: int, base: str = "") -> str:
    """The slide's deep link: base/page?params&slide=number#section (number is 1-based)."""
    query = urlencode({**slide.params, SLIDE_PARAM: str(number)}, safe=",")
    path = f"{base.rstrip('/')}/{PAGES[slide.page]}"
    fragment = f"#{quote(slide.section)}" if slide.section else ""
    return f"{path}?{query}{fragment}"
