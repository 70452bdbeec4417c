// The stage: the theme kept in the URL, and the sender the app's one key listener (the
// talk keys, pages/talk_kit.py) uses for t (talk mode) and d (dark theme).
//
// Streamlit 1.67 has no API to set the theme. Its frontend reads the user's choice once, at
// page load, from localStorage["stActiveTheme-<path>-v2"] (a JSON string: "Light", "Dark",
// "System"), one key per page path. When the URL asks for a theme the stored choice does
// not hold, write it for every page of the app and reload once; the reload is then
// answered by the stored choice, so it cannot loop.
const BOARD_KEY = "gvae-board-key";

export default function (component) {
  const { data, setTriggerValue } = component;
  const stage = (window.__gvaeStage = window.__gvaeStage || {});
  stage.send = setTriggerValue; // the latest mount's sender

  // Every page load is a new Streamlit session: a reload (the theme switch below), a deep
  // link, a talk slide. The tab keeps its job-board key, so that a training started before
  // is still this tab's after: the first mount of a page load offers the stored key, and
  // the server adopts it unless this session has a run of its own.
  const stored = window.sessionStorage.getItem(BOARD_KEY);
  if (data.board && stored !== data.board) {
    if (stored && !stage.offered) setTriggerValue("restore", stored);
    else window.sessionStorage.setItem(BOARD_KEY, data.board);
  }
  stage.offered = true;

  if (data.theme) {
    const wanted = JSON.stringify(data.theme === "dark" ? "Dark" : "Light");
    const here = `stActiveTheme-${window.location.pathname}-v2`;
    if (window.localStorage.getItem(here) !== wanted) {
      for (const path of data.paths) {
        window.localStorage.setItem(`stActiveTheme-${path}-v2`, wanted);
      }
      window.localStorage.setItem(here, wanted);
      if (!stage.reloaded) {
        stage.reloaded = true;
        window.location.reload();
      }
    }
  }
}
