"""Widget state that outlives a page: seeded from the URL on a session's first visit, kept
across visits to other pages. The one mechanism every page uses.

Not a page itself. A page calls seed() before drawing a widget and keep() after it;
app.py calls keep_kept() on every run, before the page runs.

Why both: Streamlit forgets a widget's value at the end of a run that did not draw it (a
visit to Home drops the Train form), unless the value was written back as plain state
during that run (Streamlit's documented workaround). keep() names the keys; keep_kept()
writes them back. A reload is a new session: what must survive it is in the URL, which
seed() reads (each page writes its state there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from pages.common import query_value

T = TypeVar("T")
KEPT = "_gvae_kept_keys"  # session state: the keys keep() has named, in this session
SLIDE_PARAMS_KEY = "_gvae_slide_params"  # a slide's params, set by pages.talk_kit's switch


def seed(key: str, param: str, parse: Callable[[str], T], default: T) -> None:
    """Give widget `key` its starting value: kept from earlier in the session, else the
    URL's `param` (parsed; a bad value warns and falls back), else `default`. A slide
    that sets `param` wins over the kept value, as a page load would."""
    if key not in st.session_state or slide_sets(param):
        st.session_state[key] = query_value(param, parse, default)


def slide_sets(*params: str) -> bool:
    """Whether the slide this run arrived at (in this session: pages.talk_kit switches
    pages for slide keys) sets any of these URL parameters."""
    arrived = st.session_state.get(SLIDE_PARAMS_KEY)
    return arrived is not None and arrived[0] == "applying" and any(p in arrived[1] for p in params)


def keep(*keys: str) -> None:
    """Keep these widgets' values while the session visits pages that do not draw them."""
    st.session_state.setdefault(KEPT, set()).update(keys)


def keep_kept() -> None:
    """Write every kept value back as plain state, so this run does not drop it (app.py,
    before the page runs: a widget's key cannot be written once the widget is drawn)."""
    for key in sorted(st.session_state.get(KEPT, ())):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
