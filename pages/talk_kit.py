"""Streamlit helpers of the talk: the global slide keys, charts that export for slides,
and the gallery digit picker the section pages share.

Not a page itself. app.py mounts the key listener; the section pages (kl, elbo,
reparameterization, gumbel, implementation), talk and export import the rest.

The app's one key listener is a st.components.v2 component with inline JavaScript, mounted
once per run by app.py on every page. t and d switch talk mode and the theme (through the
stage component, pages/stage.py); PageDown / → go to the next slide, PageUp / ← to the
previous one: the browser opens the slide's deep link, so the page starts from exactly the state the
talk file prepared. It never takes a key from a text field, and leaves the arrows to
anything that uses them (sliders, radio groups, tabs, other components' own widgets).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st
from streamlit import config

import gvae.app
from gvae.app.pages import BY_NAME
from gvae.app.params import parse_int_in
from gvae.app.talk import SLIDE_PARAM, Slide, TalkError, load_talk, slide_url, talk_path
from pages import common
from pages.state import SLIDE_PARAMS_KEY, keep, seed

T = TypeVar("T")

KEYS_JS = r"""
const STORE = "gvae-talk-slide";
const CHANNEL = "gvae-talk";  // windows of the app in one browser: projector and presenter
const TEXT_TYPES = new Set(["text", "number", "search", "email", "password", "url", "tel", ""]);
const ARROW_ROLES = new Set(["slider", "radio", "radiogroup", "tab", "tablist", "listbox",
  "option", "menu", "menuitem", "menubar", "spinbutton", "grid", "gridcell", "combobox",
  "tree", "treeitem", "textbox", "scrollbar"]);

// A slide is a new page load: it keeps the stage's talk mode and theme (pages/stage.py).
function withStage(url) {
  const here = new URLSearchParams(window.location.search);
  const target = new URL(url, window.location.href);
  for (const name of ["talk", "theme"]) {
    if (here.has(name) && !target.searchParams.has(name)) {
      target.searchParams.set(name, here.get(name));
    }
  }
  return target.href;
}

function slideInUrl(count) {
  const value = Number(new URLSearchParams(window.location.search).get("slide"));
  return Number.isInteger(value) && value >= 1 && value <= count ? value : 0;
}

function isTextEntry(node) {
  if (!(node instanceof Element)) return false;
  const tag = node.tagName;
  return tag === "TEXTAREA" || tag === "SELECT" || node.isContentEditable ||
    (tag === "INPUT" && TEXT_TYPES.has((node.getAttribute("type") || "").toLowerCase()));
}

function usesArrows(path) {
  for (const node of path) {
    if (node instanceof ShadowRoot) return true;  // another component's own widget
    if (!(node instanceof Element)) continue;
    if (node.tagName === "INPUT" || ARROW_ROLES.has(node.getAttribute("role"))) return true;
  }
  return false;
}

// t and d switch talk mode and the dark theme (pages/stage.py): sent through the stage
// component's sender, never from a text field, a slider or any other input. Each press
// asks for the opposite of what the page shows ("t:on", "d:dark"), not for a flip: a
// second press during the first one's rerun would otherwise flip the server's state
// back (its sidebar toggles' values, sent with the rerun, can still be the old ones).
const STAGE_KEYS = { t: "t", T: "t", d: "d", D: "d" };

function stageKey(event, target) {
  const key = STAGE_KEYS[event.key];
  const stage = window.__gvaeStage;
  if (!key || event.repeat || !stage || !stage.send || !stage.shown) return false;
  if (target instanceof Element &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return false;
  const { talk, dark } = stage.shown;
  stage.send("key", key === "t" ? (talk ? "t:off" : "t:on") : (dark ? "d:light" : "d:dark"));
  stage.shown = key === "t" ? { talk: !talk, dark } : { talk, dark: !dark };
  return true;
}

// The app's one key listener: t and d, and the slide keys.
function onKey(event) {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  const path = event.composedPath();
  if (stageKey(event, path[0])) return;
  const step = { PageDown: 1, ArrowRight: 1, PageUp: -1, ArrowLeft: -1 }[event.key];
  if (!step || event.shiftKey) return;
  if (isTextEntry(path[0])) return;
  if (event.key.startsWith("Arrow") && usesArrows(path)) return;
  const talk = window.gvaeTalk;
  const count = talk.slides.length;
  const current = talk.following ||
    slideInUrl(count) || Number(sessionStorage.getItem(STORE)) || 0;
  const next = current ? current + step : (step > 0 ? 1 : 0);
  if (next < 1 || next > count) return;  // at either end the key keeps its usual meaning
  event.preventDefault();
  talk.going = next;
  if (talk.following) {  // a presenter window: the projector window moves, this one follows
    talk.channel.postMessage({ type: "go", slide: next });
    return;
  }
  go(talk, next);
}

// A slide is a page of this session (the server switches to it, keeping talk mode and the
// theme): no page load, so the next slide is painted in a fraction of a second. Without a
// sender yet (the very first run of a tab), a page load.
function go(talk, slide) {
  sessionStorage.setItem(STORE, String(slide));
  talk.going = slide;
  if (talk.send) talk.send("go", slide);
  else window.location.assign(withStage(talk.slides[slide - 1].url));
}

// The Talk page in a second window follows the projector window: it marks the current
// slide's notes, and its keys move the projector window instead of itself.
function follow(talk, slide) {
  const moved = talk.following !== slide;
  talk.following = slide;
  for (const link of document.querySelectorAll("a[data-slide]")) {
    const card = link.closest("[data-testid='stHorizontalBlock']") || link;
    const here = Number(link.dataset.slide) === slide;
    card.style.outline = here ? "4px solid #e45756" : "";
    card.style.outlineOffset = here ? "6px" : "";
    if (here && moved) card.scrollIntoView({ block: "center" });
  }
  const next = talk.slides[slide];  // the one after
  talk.badge.textContent = `${slide} / ${talk.slides.length}` + (next ? ` · next: ${next.title}` : "");
  talk.badge.hidden = false;
}

function listen(talk) {
  talk.channel = new BroadcastChannel(CHANNEL);
  talk.channel.onmessage = ({ data: message }) => {
    if (talk.presenter) {
      if (message.type === "at") follow(talk, message.slide);
    } else if (message.type === "where" && talk.current) {
      talk.channel.postMessage({ type: "at", slide: talk.current });
    } else if (message.type === "go" && talk.slides[message.slide - 1]) {
      go(talk, message.slide);
    }
  };
}

// Scroll a slide's section heading to the top, and keep it there while the page is still
// growing above it (Streamlit scrolls to a #fragment as soon as the heading exists; charts
// and images drawn later push it down, and the pages' URL updates drop the fragment).
// Done when it has not moved for STABLE_TICKS and no script runs, or when the speaker
// scrolls or clicks.
const STABLE_TICKS = 8, TICK_MS = 200, MAX_TICKS = 100;

function scroller(node) {
  for (let box = node.parentElement; box; box = box.parentElement) {
    const style = getComputedStyle(box).overflowY;
    if (box.scrollHeight > box.clientHeight && (style === "auto" || style === "scroll")) return box;
  }
  return document.scrollingElement;
}

function scrollWhenSettled(id) {
  let last = null, stable = 0, ticks = 0, stopped = false;
  const stop = () => { stopped = true; };
  for (const type of ["wheel", "touchmove", "mousedown", "keydown"])
    window.addEventListener(type, stop, { once: true, capture: true });
  const timer = setInterval(() => {
    const heading = document.getElementById(id);
    if (stopped || ++ticks > MAX_TICKS) return finish();
    if (!heading) return;
    const box = scroller(heading);
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
    let top = heading.getBoundingClientRect().top - box.getBoundingClientRect().top;
    const margin = parseFloat(getComputedStyle(heading).scrollMarginTop) || 0;  // under the header
    // lower while the page can still scroll, or above the screen (the page before this
    // slide was scrolled further down): bring it to the top
    if ((top > margin + 2 && !atBottom) || top < -2) {
      heading.scrollIntoView({ block: "start" });
      top = heading.getBoundingClientRect().top - box.getBoundingClientRect().top;
    }
    top = Math.round(top);
    stable = top === last ? stable + 1 : 0;
    last = top;
    const busy = document.querySelector("[data-testid='stStatusWidget']");
    if (!busy && stable >= STABLE_TICKS) finish();
  }, TICK_MS);
  function finish() {
    clearInterval(timer);
    window.gvaeTalk.scrolled = id;
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const talk = (window.gvaeTalk = window.gvaeTalk || { installed: false });
  talk.slides = JSON.parse(data.slides);
  talk.presenter = data.presenter;
  talk.send = setTriggerValue;  // the latest mount's sender
  const here = talk.presenter ? 0 : (data.here || slideInUrl(talk.slides.length));
  if (here) sessionStorage.setItem(STORE, String(here));
  const arrived = here && here !== talk.current;
  talk.current = here;
  if (!talk.installed) {
    window.addEventListener("keydown", onKey);  // bubbling: widgets see their keys first
    talk.installed = true;
    if ("BroadcastChannel" in window) listen(talk);
    const section = here ? talk.slides[here - 1].section : window.location.hash.slice(1);
    if (section) scrollWhenSettled(decodeURIComponent(section));
  } else if (arrived && talk.going === here) {  // a slide reached in this session
    talk.going = 0;
    const section = talk.slides[here - 1].section;
    if (section) scrollWhenSettled(decodeURIComponent(section));
    else scroller(parentElement).scrollTo({ top: 0 });
  }
  let badge = parentElement.querySelector(".gvae-talk-badge");
  if (!badge) {
    badge = document.createElement("div");
    badge.className = "gvae-talk-badge";
    badge.setAttribute("data-testid", "gvae-talk-badge");
    parentElement.appendChild(badge);
  }
  talk.badge = badge;
  if (!talk.presenter) talk.following = 0;  // left the Talk page: keys are this window's again
  if (talk.channel) {  // ask where the projector is, or tell a presenter window where we are
    if (talk.presenter && !talk.following) talk.channel.postMessage({ type: "where" });
    else if (here) talk.channel.postMessage({ type: "at", slide: here });
  }
  if (talk.presenter && talk.following) return;  // follow() writes it
  badge.textContent = here ? `${here} / ${talk.slides.length}` : "";
  badge.title = here ? talk.slides[here - 1].title : "";
  badge.hidden = !here;
}
"""

KEYS_CSS = """
.gvae-talk-badge {
  position: fixed; right: 12px; bottom: 8px; z-index: 1000;
  font: 600 14px/1.4 sans-serif; padding: 2px 10px; border-radius: 10px;
  color: #1b1f24; background: rgba(242, 245, 249, 0.92); border: 1px solid #c9d1d9;
}
.gvae-talk-badge[hidden] { display: none; }
"""

# Not style-isolated: no shadow root, so that a page's own component stays the first
# isolated one in the document (the live views' tests and benchmarks look for it there).
# Its one class name is prefixed accordingly.
_keys_component = st.components.v2.component(
    "gvae_talk_keys", js=KEYS_JS, css=KEYS_CSS, isolate_styles=False
)


# -- the talk file ---------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=4)
def _slides(path: str, mtime_ns: int, size: int) -> tuple[list[Slide], str | None]:
    try:
        return load_talk(Path(path)), None
    except TalkError as error:
        return [], str(error)


def talk_slides() -> tuple[list[Slide], str | None]:
    """The talk file's slides (re-read when it changes) and the error that stopped it, if any."""
    path = talk_path()
    try:
        info = path.stat()
    except OSError:
        return [], f"no talk file at {path}"
    return _slides(str(path), info.st_mtime_ns, info.st_size)


def base_path() -> str:
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def slide_urls(slides: list[Slide]) -> list[str]:
    return [slide_url(s, i, base_path()) for i, s in enumerate(slides, start=1)]


GO_KEY = "_gvae_go"  # the slide the keys asked for, until this run switches to it


def _on_go() -> None:
    st.session_state[GO_KEY] = (st.session_state.get("gvae_talk_keys") or {}).get("go")


def _current_slide(count: int) -> int:
    try:
        number = int(st.query_params.get(SLIDE_PARAM, ""))
    except ValueError:
        return 0
    return number if 1 <= number <= count else 0


_talk_bounds_lock = threading.Lock()
_talk_bounds_started = False


def warm_talk_bounds(slides: list[Slide]) -> None:
    """Compute the ELBO slides' bound curves (about a second each) in a thread, once per
    server, while the talk's first slides are shown, so that those slides come up at once."""
    global _talk_bounds_started
    with _talk_bounds_lock:
        if _talk_bounds_started:
            return
        _talk_bounds_started = True
    paths = {e["name"]: e["path"] for e in common.model_entries() if e["error"] is None}
    if not paths:
        return
    wanted = {
        (paths.get(s.params.get("model"), next(iter(paths.values()))), int(s.params["digit"]))
        for s in slides
        if s.page == "elbo" and str(s.params.get("digit", "")).isdigit()
    }
    jobs = []  # the networks loaded here, in the script's thread: once, as the pages do
    for path, digit in sorted(wanted):
        with contextlib.suppress(Exception):  # the slide itself reports a file it cannot load
            jobs.append((common.load(path), digit))

    def work() -> None:
        from gvae.app.bounds import gallery_iw_curve

        for net, digit in jobs:
            with contextlib.suppress(Exception):  # the slide itself reports a problem
                gallery_iw_curve(net, digit)

    threading.Thread(target=work, name="gvae-talk-bounds", daemon=True).start()


def mount_talk_keys(page=None) -> None:
    """The global key listener (and the slide counter), for app.py's frame. On the Talk page
    (`page`, the one st.navigation is about to run) it follows another window's slides.

    A slide key switches page within the session (st.switch_page with the slide's query
    parameters), so the browser keeps its loaded app and paints the next slide at once;
    the slide's parameters then win over state kept from earlier visits (`seed`)."""
    slides, _ = talk_slides()
    arrived = st.session_state.pop(SLIDE_PARAMS_KEY, None)
    if arrived is not None and arrived[0] == "switching":
        st.session_state[SLIDE_PARAMS_KEY] = ("applying", arrived[1])  # for this run's seed()
    go = st.session_state.pop(GO_KEY, None)
    if isinstance(go, int) and 1 <= go <= len(slides):
        slide = slides[go - 1]
        stage = {k: st.query_params[k] for k in ("talk", "theme") if k in st.query_params}
        st.session_state[SLIDE_PARAMS_KEY] = ("switching", dict(slide.params))
        st.switch_page(
            BY_NAME[slide.page].script,
            query_params={**stage, **slide.params, SLIDE_PARAM: str(go)},
        )
    here = _current_slide(len(slides))
    if here:  # a talk is on: the autograd slide's torch helper starts ahead of it
        from gvae.app.reparam import torch_helper

        torch_helper.start()
        warm_talk_bounds(slides)
    data = {  # lists as JSON text: a list in a component's data makes Streamlit import pandas
        "slides": json.dumps(
            [
                {"url": u, "title": s.title, "section": s.section}
                for s, u in zip(slides, slide_urls(slides))
            ]
        ),
        "presenter": getattr(page, "url_path", None) == "talk",
        "here": here,
    }
    _keys_component(key="gvae_talk_keys", data=data, on_go_change=_on_go)


# -- drawing -----------------------------------------------------------------------------------
def chart(fig, key: str, filename: str | None = None) -> None:
    """A section page's chart, full width (pages.common.chart: styled, exportable)."""
    common.chart(fig, key=key, filename=filename, width="stretch")


def gallery_digit_picker(key: str, label: str = "Test digit") -> int:
    """Pick one of the shipped gallery's test digits (URL parameter `digit`, its index)."""
    from gvae.app.gallery import load_gallery

    images, labels, _ = load_gallery()
    seed(key, "digit", parse_int_in(0, len(labels) - 1), 0)
    st.selectbox(
        label,
        options=list(range(len(labels))),
        format_func=lambda j: f"a {labels[j]} (gallery #{j})",
        key=key,
    )
    keep(key)
    return int(st.session_state[key])


# -- the KL page's draggable bars ------------------------------------------------------------
KL_BARS_CSS = """
.kl-bars { color: inherit; user-select: none; touch-action: none; }
.kl-bars svg { width: 100%; height: auto; display: block; }
.kl-bars .number { font: 600 17px sans-serif; fill: currentColor; }
.kl-bars .label { font: 14px sans-serif; fill: currentColor; }
.kl-bars .axis { stroke: currentColor; stroke-opacity: 0.4; }
.kl-bars .hit { cursor: ns-resize; }
"""
_kl_bars_component = st.components.v2.component(
    "gvae_kl_bars",
    js=(Path(gvae.app.__file__).resolve().parent / "web" / "kl_bars.js").read_text(),
    css=KL_BARS_CSS,
)


def kl_bars(key: str, labels, p, q, on_change: Callable[[], None]) -> None:
    """P and Q as bars you drag (KL recomputed in the page while dragging); when the hand
    lets go, `on_change` runs and `kl_bars_value(key)` holds {"p": [...], "q": [...]}."""
    data = {"labels": list(labels), "p": [float(v) for v in p], "q": [float(v) for v in q]}
    _kl_bars_component(key=key, data=data, on_bars_change=on_change)


def kl_bars_value(key: str) -> dict | None:
    state = st.session_state.get(key)
    return state.get("bars") if state else None
