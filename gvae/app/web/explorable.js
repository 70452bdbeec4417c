// The one-file explorable's shell (gvae/app/explorable.py appends it to live.js in one
// module): it plays the Streamlit server's part for the app's own components. It unpacks
// the embedded weights, mounts the editor, atlas, interpolation and playground views with
// the data the server would send, and answers their reports as a rerun would, keeping
// the state in the URL's hash so that a link reopens it. Nothing here is fetched.

const META = JSON.parse(document.getElementById("gvae-meta").textContent);
const VERSION = "embedded";
const EMPTY_CSS = "data:text/css,"; // live.css is inlined in the page already

// -- the weights: base64(gzip(float16 high bytes, then low bytes)) -> a GVM1 blob -------
const HALF = new Float32Array(65536); // float16 bits -> value, all of them
for (let h = 0; h < 65536; h++) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) HALF[h] = sign * fraction * 2 ** -24;
  else if (exponent === 31) HALF[h] = fraction ? NaN : sign * Infinity;
  else HALF[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

async function unpackModel() {
  const text = document.getElementById("gvae-weights").textContent.trim();
  const binary = atob(text);
  const packed = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) packed[i] = binary.charCodeAt(i);
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
  const planes = new Uint8Array(await new Response(stream).arrayBuffer());
  const n = planes.length / 2;
  // The blob gvae.app.live.model_blob writes: magic, header length, header, floats.
  const header = new TextEncoder().encode(JSON.stringify(META.header));
  const pad = (4 - ((8 + header.length) % 4)) % 4;
  const buffer = new ArrayBuffer(8 + header.length + pad + 4 * n);
  const bytes = new Uint8Array(buffer);
  bytes.set([71, 86, 77, 49]); // "GVM1"
  new DataView(buffer).setUint32(4, header.length + pad, true);
  bytes.set(header, 8);
  bytes.fill(32, 8 + header.length, 8 + header.length + pad);
  const floats = new Float32Array(buffer, 8 + header.length + pad, n);
  for (let i = 0; i < n; i++) floats[i] = HALF[(planes[i] << 8) | planes[n + i]];
  return parseModel(buffer);
}

// -- the URL's hash: z (the code), tau, p (π), seed ------------------------------------
function readHash(N, K) {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const out = {};
  const z = hash.get("z") || "";
  if (z.length === N && [...z].every((c) => /[0-9]/.test(c) && Number(c) < K)) out.code = [...z].map(Number);
  const tau = Number(hash.get("tau"));
  if (hash.has("tau") && tau >= 0.01 && tau <= 10) out.tau = tau;
  const p = (hash.get("p") || "").split(",").map(Number);
  if (p.length >= 2 && p.length <= 10 && p.every((v) => v >= 0 && Number.isFinite(v))) {
    const total = p.reduce((a, b) => a + b, 0);
    if (total > 0) out.probs = p.map((v) => v / total);
  }
  const seed = Number(hash.get("seed"));
  if (Number.isInteger(seed) && seed >= 0 && seed <= 999999) out.seed = seed;
  return out;
}

function writeHash() {
  const hash = new URLSearchParams({
    z: editorState.code.join(""),
    tau: String(pgState.tau),
    p: pgState.probs.map((v) => Number(v.toFixed(4))).join(","),
    seed: String(pgState.seed),
  });
  window.history.replaceState(null, "", `#${hash}`); // no reload, no history entry per edit
}

// -- the editor's three views ------------------------------------------------------------
const editorState = { code: [], start: [], b: [], sample: false, ack: 0 };
const VIEWS_OF_EDITOR = ["editor", "atlas", "interpolation"];

function editorData(view, model) {
  const s = editorState;
  return {
    view,
    N: model.N,
    K: model.K,
    code: s.code,
    start: s.start,
    b: s.b,
    sample: s.sample,
    ack: s.ack,
    decoder: { url: "", version: VERSION }, // already in live.decoders: never fetched
    usage: null,
    draw: view === "editor",
    fallback: null,
    talk: false,
    css: EMPTY_CSS,
  };
}

function mountEditor(model) {
  const onEdit = (name, edit) => {
    if (name !== "edit" || !edit || !Array.isArray(edit.code) || edit.code.length !== model.N) return;
    Object.assign(editorState, { code: edit.code, start: edit.start, b: edit.b, sample: Boolean(edit.sample), ack: edit.seq });
    writeHash();
    renderEditor(model); // what the server's rerun would send back
  };
  for (const view of VIEWS_OF_EDITOR) {
    const parentElement = document.getElementById(view);
    parentElement.gvaeSend = onEdit;
  }
  renderEditor(model);
}

function renderEditor(model) {
  for (const view of VIEWS_OF_EDITOR) {
    const parentElement = document.getElementById(view);
    render({ data: editorData(view, model), parentElement, setStateValue: parentElement.gvaeSend });
  }
}

// -- the playground ----------------------------------------------------------------------
const PG = META.playground;
const pgState = { probs: PG.probs[3], tau: 1, seed: 0, ack: 0 };
const simplexUrls = new Map(); // seed -> blob: URL of its (points x 3) Gumbel draws

/** n x k Gumbel draws from a seed (the page's own: the app's numpy draws differ). */
function gumbels(count, seed) {
  const g = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const u = (hash32((Math.imul(seed + 1, 0x9e3779b1) ^ hash32(j)) >>> 0) + 0.5) / 4294967296;
    g[j] = -Math.log(-Math.log(u));
  }
  return g;
}

function simplexUrl(seed) {
  if (!simplexUrls.has(seed)) {
    const draws = gumbels(PG.points * 3, seed);
    simplexUrls.set(seed, URL.createObjectURL(new Blob([draws.buffer])));
  }
  return { url: simplexUrls.get(seed), n: PG.points };
}

function playgroundData() {
  const { probs, tau, seed, ack } = pgState;
  const k = probs.length;
  const noise = Array.from(gumbels(k, seed)); // row 0 of the simplex's draws
  const logits = logProbs(probs);
  const soft = Array.from(gumbelSoftmax(logits, noise, tau));
  return {
    view: "playground",
    labels: k === 3 ? PG.labels : Array.from({ length: k }, (_, i) => `c${i}`),
    probs,
    noise,
    tau,
    seed,
    ack,
    simplex: k === 3 ? simplexUrl(seed) : null,
    soft,
    hard: hardSample(logits, noise),
    entropy: entropy(soft),
    talk: false,
    css: EMPTY_CSS,
  };
}

function renderPlayground() {
  const parentElement = document.getElementById("playground");
  const setStateValue = (name, edit) => {
    if (name !== "edit" || !edit || !Array.isArray(edit.probs) || edit.probs.length !== pgState.probs.length) return;
    const tau = Number(edit.tau);
    if (!(tau >= 0.01 && tau <= 10)) return;
    Object.assign(pgState, { probs: edit.probs.map(Number), tau, ack: edit.seq });
    writeHash();
    renderPlayground();
  };
  render({ data: playgroundData(), parentElement, setStateValue });
}

function mountPlaygroundControls() {
  const kBox = document.querySelector("[data-testid=gvae-k]");
  for (let k = 2; k <= 10; k++) kBox.append(new Option(String(k), String(k)));
  kBox.value = String(pgState.probs.length);
  kBox.onchange = () => {
    pgState.probs = PG.probs[kBox.value];
    writeHash();
    renderPlayground();
  };
  const seedBox = document.querySelector("[data-testid=gvae-seed]");
  seedBox.value = String(pgState.seed);
  seedBox.onchange = () => {
    const seed = Number(seedBox.value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 999999) return void (seedBox.value = String(pgState.seed));
    pgState.seed = seed;
    writeHash();
    renderPlayground();
  };
}

// -- the theme: the system's, or the button's choice -------------------------------------
function mountTheme() {
  const button = document.querySelector("[data-testid=gvae-theme]");
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  let chosen = null;
  const apply = () => {
    const dark = chosen ?? system.matches;
    document.documentElement.dataset.theme = dark ? "dark" : "light";
    button.textContent = dark ? "Light theme" : "Dark theme";
    renderPlayground(); // its canvases read the theme's colours when drawn
  };
  button.onclick = () => {
    chosen = document.documentElement.dataset.theme !== "dark";
    apply();
  };
  system.addEventListener("change", apply);
  apply();
}

/** A link to this file with another hash, opened in the same tab, loads no page: read it. */
function followHash(model) {
  const fromHash = readHash(model.N, model.K);
  if (fromHash.code) {
    // As a rerun that has seen every edit: the views take this code over their own.
    Object.assign(editorState, { code: fromHash.code, start: [...fromHash.code], ack: editor.seq });
  }
  const view = instances.get(document.getElementById("playground"));
  if (fromHash.probs) pgState.probs = fromHash.probs;
  if (fromHash.tau !== undefined) pgState.tau = fromHash.tau;
  if (fromHash.seed !== undefined) pgState.seed = fromHash.seed;
  pgState.ack = view ? view.seq : pgState.ack;
  document.querySelector("[data-testid=gvae-k]").value = String(pgState.probs.length);
  document.querySelector("[data-testid=gvae-seed]").value = String(pgState.seed);
  renderEditor(model);
  renderPlayground();
}

async function start() {
  let model;
  try {
    model = await unpackModel();
  } catch (error) {
    document.getElementById("editor").textContent = `The embedded model could not be read: ${error}`;
    return;
  }
  live.decoders.set(VERSION, Promise.resolve(model));
  const fromHash = readHash(model.N, model.K);
  const first = fromHash.code || META.code;
  Object.assign(editorState, { code: first, start: [...first], b: Array.from({ length: model.N }, (_, i) => (i * 7) % model.K) });
  if (fromHash.probs) pgState.probs = fromHash.probs;
  if (fromHash.tau !== undefined) pgState.tau = fromHash.tau;
  if (fromHash.seed !== undefined) pgState.seed = fromHash.seed;
  mountEditor(model);
  mountPlaygroundControls();
  mountTheme();
  writeHash();
  window.addEventListener("hashchange", () => followHash(model));
  document.documentElement.dataset.ready = "true"; // for tests: everything is mounted
}

start();
