// The stage: the theme the server chose, applied in place, and the sender the app's one
// key listener (the talk keys, pages/talk_kit.py) uses for t (talk mode) and d (dark theme).
//
// Streamlit 1.67 has no API to set the theme. Its theme hook, when the active theme is the
// automatic one ("Custom Theme Auto": light and dark both configured, nothing stored in
// localStorage["stActiveTheme-<path>-v2"] or "System" stored there), picks light or dark by
// window.matchMedia("(prefers-color-scheme: dark)").matches, and looks again on every
// window "afterprint" event. So the page answers that query with the chosen theme and
// sends "afterprint": the theme changes without a reload, and this page's session (its
// widgets, its training) stays as it was.
const BOARD_KEY = "gvae-board-key";

export default function (component) {
  const { data, setTriggerValue } = component;
  const stage = (window.__gvaeStage = window.__gvaeStage || {});
  stage.send = setTriggerValue; // the latest mount's sender
  stage.shown = { talk: Boolean(data.talk), dark: Boolean(data.dark) }; // as this run drew them

  // Every page load is a new Streamlit session: a reload, a deep link, a talk slide. The
  // tab keeps its job-board key, so that a training started before is still this tab's
  // after: the first mount of a page load offers the stored key, and the server adopts it
  // unless this session has a run of its own. The offer costs a rerun (which would also
  // drop the page's first-run messages), so it is made only while the board has runs.
  const stored = window.sessionStorage.getItem(BOARD_KEY);
  if (data.board && stored !== data.board) {
    if (stored && data.adopt && !stage.offered) setTriggerValue("restore", stored);
    else window.sessionStorage.setItem(BOARD_KEY, data.board);
  }
  stage.offered = true;

  if (data.theme) applyTheme(stage, data.theme === "dark", JSON.parse(data.paths || "[]"));
}

const DARK_QUERY = /prefers-color-scheme:\s*dark/;
const THEME_KEY = `stActiveTheme-${window.location.pathname}-v2`;

// The browser's matchMedia, except that the dark-scheme query answers stage.dark once a
// theme is chosen (a wrapped MediaQueryList: Streamlit also listens to its changes).
function answerDarkQuery(stage) {
  if (stage.realMatchMedia) return;
  const real = (stage.realMatchMedia = window.matchMedia.bind(window));
  window.matchMedia = (query) => {
    const list = real(query);
    if (stage.dark === undefined || !DARK_QUERY.test(query)) return list;
    return new Proxy(list, {
      get(target, name) {
        if (name === "matches") return stage.dark;
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}

// A fixed choice stored by Streamlit's settings menu (or by gvae before it switched in
// place) pins the theme at page load: unpin every page of the app; a page already pinned
// reloads once, unpinned (the reload finds nothing to unpin, so it cannot loop).
function unpinTheme(stage, paths) {
  const auto = JSON.stringify("System");
  const pinned = (key) => ![null, auto].includes(window.localStorage.getItem(key));
  const here = pinned(THEME_KEY);
  for (const key of paths.map((path) => `stActiveTheme-${path}-v2`).concat(THEME_KEY)) {
    if (pinned(key)) window.localStorage.setItem(key, auto);
  }
  if (here && !stage.reloaded) {
    stage.reloaded = true;
    window.location.reload();
  }
  return here;
}

function applyTheme(stage, dark, paths) {
  answerDarkQuery(stage);
  if (unpinTheme(stage, paths)) return;
  if (stage.dark === dark) return;
  stage.dark = dark;
  window.dispatchEvent(new Event("afterprint"));  // Streamlit's theme hook looks again
}
