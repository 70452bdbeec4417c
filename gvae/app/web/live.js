// gvae live: the latent editor, its atlas and interpolation, and the Gumbel playground,
// computed in the page so the picture follows the hand. Plain JS, no dependencies.
//
// Loaded once per page load as an ES module (pages/live.py serves it and a tiny loader
// imports it), so its module-level state -- the decoder cache, the editor's code -- is
// shared by every component instance and survives Streamlit reruns.
//
// The decoder and the Gumbel-Softmax below are second implementations of
// CategoricalVAE.decode_codes and gvae.gumbel_softmax; tests/test_browser_live.py pins them.

// ---------------------------------------------------------------------------------------
// Numerics
// ---------------------------------------------------------------------------------------

/**
 * A GVM1 blob (gvae/app/live.py) -> {N, K, D, layers, encoder}: the decoder's and the
 * encoder's Linear layers, each {nin, nout, W (in-major), b}.
 */
export function parseModel(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "GVM1") throw new Error("not a GVM1 model blob");
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const floats = new Float32Array(buffer, 8 + headerLength); // little-endian, like every browser
  const linear = (l) => ({
    nin: l.in,
    nout: l.out,
    W: floats.subarray(l.weight, l.weight + l.in * l.out), // (in, out): row j feeds output o
    b: floats.subarray(l.bias, l.bias + l.out),
  });
  return {
    N: header.latent_dim,
    K: header.categorical_dim,
    D: header.image_size,
    layers: header.layers.map(linear),
    encoder: header.encoder.map(linear),
  };
}

/**
 * B inputs (B * nin, non-negative) through Linear layers with ReLU between them; the last
 * layer's output is returned as it is. ReLU is the skip of non-positive inputs, so the
 * first layer's input must be >= 0 (pixels, or a one-hot layer's output after ReLU).
 */
function linearStack(layers, h, B) {
  for (const { nin, nout, W, b: bias } of layers) {
    const out = new Float64Array(B * nout);
    for (let b = 0; b < B; b++) out.set(bias, b * nout);
    for (let j = 0; j < nin; j++) {
      const row = j * nout; // one weight row, reused by the whole batch while it is in cache
      for (let b = 0; b < B; b++) {
        const v = h[b * nin + j];
        if (v <= 0) continue; // ReLU (and the zeros of a sparse input)
        const ob = b * nout;
        for (let o = 0; o < nout; o++) out[ob + o] += v * W[row + o];
      }
    }
    h = out;
  }
  return h;
}

/**
 * Decode B codes at once: codes (B arrays of N category indices) -> Bernoulli means,
 * a Float64Array (B * D). Layer 1 on a one-hot input is a sum of N weight rows; the
 * sigmoid comes last (decode_codes).
 */
export function decodeBatch(dec, codes) {
  const B = codes.length;
  const first = dec.layers[0];
  const h = new Float64Array(B * first.nout);
  for (let b = 0; b < B; b++) {
    const hb = b * first.nout;
    const code = codes[b];
    for (let o = 0; o < first.nout; o++) h[hb + o] = first.b[o];
    for (let i = 0; i < dec.N; i++) {
      const row = (i * dec.K + code[i]) * first.nout;
      for (let o = 0; o < first.nout; o++) h[hb + o] += first.W[row + o];
    }
  }
  const logits = linearStack(dec.layers.slice(1), h, B);
  for (let p = 0; p < logits.length; p++) logits[p] = 1 / (1 + Math.exp(-logits[p]));
  return logits;
}

/** B images (B * D pixels in [0, 1]) -> posterior logits (B * N * K), as CategoricalVAE.encode. */
export function encodeBatch(model, images) {
  return linearStack(model.encoder, Float64Array.from(images), images.length / model.D);
}

/** Logits (N * K) -> q(z|x): a softmax per variable, (N * K). */
export function posteriorOf(logits, N, K) {
  const q = new Float64Array(N * K);
  for (let i = 0; i < N; i++) q.set(gumbelSoftmax(logits.subarray(i * K, (i + 1) * K), new Float64Array(K), 1), i * K);
  return q;
}

/** KL(q || uniform) of each variable, sum_k q log(q K), as gvae.infer.variable_kl. */
export function variableKl(q, N, K) {
  const kl = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < K; k++) {
      const v = q[i * K + k];
      if (v > 0) kl[i] += v * Math.log(v * K);
    }
  }
  return kl;
}

/**
 * A drawing as MNIST digits were made (LeCun et al. 1998): the ink's bounding box scaled
 * to fit a 20 x 20 box, keeping its aspect ratio (an area average, so strokes come out
 * grey-edged), then placed in a 28 x 28 field with its centre of mass at the centre
 * (pixel 14, 14: MNIST's own mean). ink: (h * w) values in [0, 1]. Returns (784) or null
 * when nothing is drawn.
 */
export function mnistInput(ink, w, h, box = 20, side = 28) {
  let top = h, bottom = -1, left = w, right = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] <= 0) continue;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
      if (x < left) left = x;
      if (x > right) right = x;
    }
  }
  if (bottom < 0) return null;
  const bw = right - left + 1, bh = bottom - top + 1;
  const scale = box / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale)), th = Math.max(1, Math.round(bh * scale));
  const sum = new Float64Array(tw * th), count = new Float64Array(tw * th);
  for (let y = top; y <= bottom; y++) {
    const ty = Math.min(th - 1, Math.floor((y - top) * scale));
    for (let x = left; x <= right; x++) {
      const t = ty * tw + Math.min(tw - 1, Math.floor((x - left) * scale));
      sum[t] += ink[y * w + x];
      count[t] += 1;
    }
  }
  let mass = 0, my = 0, mx = 0;
  for (let t = 0; t < sum.length; t++) {
    sum[t] /= count[t] || 1;
    mass += sum[t];
    my += sum[t] * Math.floor(t / tw);
    mx += sum[t] * (t % tw);
  }
  const dy = Math.round(side / 2 - my / mass), dx = Math.round(side / 2 - mx / mass);
  const out = new Float64Array(side * side);
  for (let t = 0; t < sum.length; t++) {
    const y = Math.floor(t / tw) + dy, x = (t % tw) + dx;
    if (y >= 0 && y < side && x >= 0 && x < side) out[y * side + x] = Math.min(1, sum[t]);
  }
  return out;
}

export function decode(dec, code) {
  return decodeBatch(dec, [code]);
}

/** lowbias32, as gvae.app.live.hash32. */
export function hash32(x) {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

const THRESHOLD_SALT = 0x9e3779b9;

/** One fixed uniform per pixel, as gvae.app.live.pixel_thresholds. */
export function pixelThresholds(size) {
  const u = new Float64Array(size);
  for (let j = 0; j < size; j++) u[j] = (hash32((j ^ THRESHOLD_SALT) >>> 0) + 0.5) / 4294967296;
  return u;
}

/** log pi with a zero probability floored at 1e-30, as gvae.app.playground.log_probs. */
export function logProbs(probs) {
  return probs.map((p) => Math.log(Math.max(p, 1e-30)));
}

/** softmax((logits + g) / tau) over one row, as gvae.gumbel_softmax(noise=g), float64. */
export function gumbelSoftmax(logits, noise, tau) {
  const K = logits.length;
  const s = new Float64Array(K);
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    s[k] = (logits[k] + noise[k]) / tau;
    if (s[k] > max) max = s[k];
  }
  let sum = 0;
  for (let k = 0; k < K; k++) {
    s[k] = Math.exp(s[k] - max); // the largest term is exp(0) = 1: no overflow, sum >= 1
    sum += s[k];
  }
  for (let k = 0; k < K; k++) s[k] /= sum;
  return s;
}

/** The Gumbel-Max sample one_hot(argmax(logits + g)); the first maximum wins, as torch. */
export function hardSample(logits, noise) {
  let best = 0;
  for (let k = 1; k < logits.length; k++) {
    if (logits[k] + noise[k] > logits[best] + noise[best]) best = k;
  }
  return logits.map((_, k) => (k === best ? 1 : 0));
}

export function entropy(p) {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log(v);
  return h;
}

/** Means in [0, 1] -> grey levels as gvae.app.images.to_uint8: floor(255 x + 0.5). */
function toByte(x) {
  return Math.floor(Math.min(Math.max(x, 0), 1) * 255 + 0.5);
}

// ---------------------------------------------------------------------------------------
// Shared state: decoders by version, the editor's code, latency tracing
// ---------------------------------------------------------------------------------------

const live = (globalThis.gvaeLive ??= {});
live.trace = live.trace ?? null; // the benchmark sets an array: every draw pushes its latency
live.numerics = {
  parseModel,
  decodeBatch,
  encodeBatch,
  posteriorOf,
  variableKl,
  mnistInput,
  decode,
  hash32,
  pixelThresholds,
  logProbs,
  gumbelSoftmax,
  hardSample,
  entropy,
};
const decoders = (live.decoders ??= new Map()); // version -> Promise<decoder>

/** The decoder of one model version: fetched once per page load, then shared. */
function loadDecoder({ url, version }) {
  if (!decoders.has(version)) {
    const promise = fetch(url)
      .then((r) => {
        if (!r.ok) throw new Error(`decoder download failed: HTTP ${r.status}`);
        return r.arrayBuffer();
      })
      .then(parseModel);
    promise.catch(() => decoders.delete(version)); // a later rerun may try again
    decoders.set(version, promise);
  }
  return decoders.get(version);
}
live.loadDecoder = loadDecoder;

/**
 * Record the time from an input event to the frame that shows its picture: the draw is
 * done when this is called, so the next animation frame is the first to paint it. `raf`
 * is taken in that frame's requestAnimationFrame callback; `ms` in the first task after
 * it, once the frame's style, layout and paint have run on this thread.
 */
function painted(kind, event) {
  const trace = live.trace;
  if (!trace || !event) return;
  const t0 = event.timeStamp;
  const drawn = performance.now() - t0; // the event's wait for dispatch, plus the draw
  requestAnimationFrame(() => {
    const raf = performance.now() - t0;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => trace.push({ kind, drawn, raf, ms: performance.now() - t0 });
    channel.port2.postMessage(null);
  });
}

/**
 * Run `work` once the next frame is out and the page is idle: slow work (the atlas, the
 * interpolation) never delays a picture or an input event. While a button is held on the
 * grid (drag-paint) it waits for the release: each painted cell would restart it anyway.
 */
function afterPaint(work) {
  const idle = globalThis.requestIdleCallback;
  const run = () => (editor.holding ? editor.deferred.push(work) : work());
  requestAnimationFrame(() => (idle ? idle(run, { timeout: 200 }) : setTimeout(run, 0)));
}

function runDeferred() {
  const work = editor.deferred.splice(0);
  for (const w of work) afterPaint(w);
}

function cssVar(element, name, fallback) {
  const v = getComputedStyle(element).getPropertyValue(name).trim();
  return v || fallback;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

const sameList = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const randomInt = (n) => Math.floor(Math.random() * n);

// How long the code must rest before Python hears of it: a burst of keys or clicks is one
// rerun, and no rerun starts while a button is held (drag-paint, scrubbing).
const SETTLE_MS = 150;

/**
 * The latent editor's state, one per page load, shared by the editor, atlas and
 * interpolation views. Python's copy follows through the editor's state value `edit`;
 * `seq` numbers local edits and Python echoes the last one it applied as `ack`, so a
 * rerun that has not seen an edit yet never overwrites it.
 */
const editor = (live.editor ??= {
  N: 0,
  K: 0,
  code: [],
  start: [],
  codeB: [],
  sample: false,
  seq: 0,
  decoder: null,
  version: null,
  views: new Set(),
  send: null,
  timer: 0,
  holding: false,
  deferred: [], // idle work waiting for the button to be released
  error: null, // why the page's decoder is unavailable, if it is
  drawing: null, // the pad's last reading: {input (784), q (N * K), model}
});

function adoptEditorData(data) {
  const changed =
    editor.N !== data.N ||
    !sameList(editor.code, data.code) ||
    !sameList(editor.start, data.start) ||
    !sameList(editor.codeB, data.b) ||
    editor.sample !== data.sample;
  if (data.ack < editor.seq && editor.N === data.N) {
    scheduleSync(); // Python has not seen our latest edit: (re)send it once the hand rests
    return false;
  }
  editor.N = data.N;
  editor.K = data.K;
  editor.code = [...data.code];
  editor.start = [...data.start];
  editor.codeB = [...data.b];
  editor.sample = data.sample;
  editor.seq = Math.max(editor.seq, data.ack);
  return changed;
}

function editorChanged(event, kind) {
  editor.seq += 1;
  for (const view of editor.views) view.refresh(event, kind);
  scheduleSync();
}

function scheduleSync() {
  clearTimeout(editor.timer);
  if (editor.holding) return; // the pointer-up schedules it
  editor.timer = setTimeout(syncEditor, SETTLE_MS);
}

function syncEditor() {
  clearTimeout(editor.timer);
  if (!editor.send || editor.holding) return; // a press began meanwhile: its release syncs
  editor.send("edit", {
    seq: editor.seq,
    code: editor.code,
    start: editor.start,
    b: editor.codeB,
    sample: editor.sample,
  });
}

/** The button held on the grid or the pad is up: sync the code, run the deferred work. */
function releaseHold(element, event) {
  editor.holding = false;
  if (element.hasPointerCapture(event.pointerId)) element.releasePointerCapture(event.pointerId);
  scheduleSync();
  runDeferred();
}

function setVariable(i, k, event, kind) {
  if (editor.code[i] === k) return false;
  editor.code = editor.code.map((v, j) => (j === i ? k : v));
  editorChanged(event, kind);
  return true;
}

let thresholds = null;

/** Means (D) -> RGBA pixels of a grey digit, or its binary sample. */
function paintDigit(ctx, means, sample, offset = 0, side = 28) {
  const image = ctx.createImageData(side, side);
  if (sample && (!thresholds || thresholds.length !== side * side)) {
    thresholds = pixelThresholds(side * side);
  }
  for (let p = 0; p < side * side; p++) {
    const x = means[offset + p];
    const v = sample ? (thresholds[p] < x ? 255 : 0) : toByte(x);
    image.data[4 * p] = image.data[4 * p + 1] = image.data[4 * p + 2] = v;
    image.data[4 * p + 3] = 255;
  }
  return image;
}

// ---------------------------------------------------------------------------------------
// Editor view: the code grid and the digit
// ---------------------------------------------------------------------------------------

const USED_SHARE = 0.25; // a row whose KL is a quarter of log K or more is bold
const PAD = 280; // the drawing pad's pixels: ten per MNIST pixel
const STROKE = 24; // a pen about 2.4 MNIST pixels wide once a digit is scaled to 20 px tall

class EditorView {
  constructor(root) {
    this.root = root;
    this.preview = null; // [i, k] under the mouse or the keyboard cursor
    this.cursor = [0, 0];
    this.drawnCode = null;
    this.cells = [];
    this.fallback = null;
    this.withPad = false;
    this.inked = false;
  }

  build() {
    const { N, K } = editor;
    this.root.replaceChildren();
    const random = el("button", { type: "button", "data-testid": "gvae-random", text: "Random code" });
    const one = el("button", { type: "button", "data-testid": "gvae-randomize-one", text: "Randomize one" });
    const reset = el("button", { type: "button", "data-testid": "gvae-reset", text: "↺ Reset", title: "Back to the starting code" });
    this.sampleBox = el("input", { type: "checkbox", "data-testid": "gvae-sample" });
    const sample = el("label", { class: "gv-check", title: "A Bernoulli draw from the means, one fixed uniform per pixel" }, this.sampleBox, " Binary sample");
    random.onclick = (e) => {
      editor.code = Array.from({ length: N }, () => randomInt(K));
      editor.start = [...editor.code];
      editorChanged(e, "random");
    };
    one.onclick = (e) => {
      const i = randomInt(N);
      setVariable(i, (editor.code[i] + 1 + randomInt(K - 1)) % K, e, "random");
    };
    reset.onclick = (e) => {
      if (sameList(editor.code, editor.start)) return;
      editor.code = [...editor.start];
      editorChanged(e, "reset");
    };
    this.sampleBox.onchange = (e) => {
      editor.sample = this.sampleBox.checked;
      editorChanged(e, "sample");
    };
    this.caption = el("div", { class: "gv-caption gv-code" });
    const toolbar = el("div", { class: "gv-toolbar" }, random, one, reset, sample, this.caption);

    this.grid = el("div", { class: "gv-grid", role: "group", "aria-label": "Latent code" });
    this.grid.style.setProperty("--k", K);
    this.grid.append(el("span", { class: "gv-corner" }));
    for (let k = 0; k < K; k++) this.grid.append(el("span", { class: "gv-col", text: String(k) }));
    this.grid.classList.toggle("gv-with-q", this.withPad);
    if (this.withPad) this.grid.append(el("span", { class: "gv-col", text: "max q" }));
    this.cells = [];
    this.rows = [];
    this.certainty = [];
    for (let i = 0; i < N; i++) {
      if (i > 0 && this.withPad) this.grid.append(this.certainty[i - 1]);
      this.rows.push(el("span", { class: "gv-row", text: `z${i}`, "data-testid": `gvae-row-${i}` }));
      this.grid.append(this.rows[i]);
      const row = [];
      for (let k = 0; k < K; k++) {
        const cell = el("button", {
          type: "button",
          class: "gv-cell",
          tabindex: "-1",
          "data-testid": `gvae-cell-${i}-${k}`,
          "data-i": i,
          "data-k": k,
          "aria-pressed": "false",
          "aria-label": `z${i} = ${k}`,
        });
        row.push(cell);
        this.grid.append(cell);
      }
      this.cells.push(row);
      this.certainty.push(el("span", { class: "gv-sure", "data-testid": `gvae-certainty-${i}` }));
    }
    if (this.withPad) this.grid.append(this.certainty[N - 1]);
    this.cells[0][0].tabIndex = 0;
    this.canvas = el("canvas", { class: "gv-digit", width: 28, height: 28, "data-testid": "gvae-digit", role: "img" });
    this.ctx = this.canvas.getContext("2d");
    this.badge = el("div", { class: "gv-badge" });
    const figure = el("div", { class: "gv-figure" }, this.canvas, this.badge);
    const parts = this.withPad ? [this.buildPad(), this.grid, figure] : [this.grid, figure];
    this.root.append(toolbar, el("div", { class: "gv-editor" }, ...parts));
    this.listen();
    this.drawnCode = null;
    this.inked = false; // a new pad is empty: the last page's drawing is gone with it
    editor.drawing = null;
    this.markPosterior();
  }

  // -- the drawing pad: what the hand draws, encoded as it draws -------------------------
  buildPad() {
    this.pad = el("canvas", { class: "gv-pad", width: PAD, height: PAD, "data-testid": "gvae-draw", role: "img", "aria-label": "Drawing pad: draw a digit" });
    this.padCtx = this.pad.getContext("2d", { willReadFrequently: true });
    this.input = el("canvas", { class: "gv-input", width: 28, height: 28, "data-testid": "gvae-draw-input", role: "img", "aria-label": "The encoder's input: the drawing as an MNIST digit" });
    this.inputCtx = this.input.getContext("2d");
    const clear = el("button", { type: "button", "data-testid": "gvae-draw-clear", text: "Clear" });
    clear.onclick = () => this.clearPad();
    this.stats = el("div", { class: "gv-draw-note gv-draw-stats", "data-testid": "gvae-draw-stats" });
    this.listenPad();
    const row = el("div", { class: "gv-draw-row" }, clear, this.input, el("span", { class: "gv-draw-note", text: "input" }));
    return el("div", { class: "gv-draw" }, this.pad, row, this.stats);
  }

  listenPad() {
    const pad = this.pad;
    let last = null;
    const at = (e) => {
      const r = pad.getBoundingClientRect();
      return [((e.clientX - r.left) * PAD) / r.width, ((e.clientY - r.top) * PAD) / r.height];
    };
    pad.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault(); // no scrolling or text selection while drawing
      pad.setPointerCapture(e.pointerId);
      editor.holding = true; // no rerun until the stroke ends
      last = at(e);
      this.stroke(last, last);
      this.encodeDrawing(e);
    });
    pad.addEventListener("pointermove", (e) => {
      if (!last) return;
      const points = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      for (const p of points.length ? points : [e]) {
        const next = at(p);
        this.stroke(last, next);
        last = next;
      }
      this.encodeDrawing(e);
    });
    const end = (e) => {
      if (!last) return;
      last = null;
      releaseHold(pad, e);
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
  }

  stroke([x0, y0], [x1, y1]) {
    const ctx = this.padCtx;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = STROKE;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    if (x0 === x1 && y0 === y1) {
      ctx.arc(x0, y0, STROKE / 2, 0, 2 * Math.PI); // a dot: a zero-length line draws nothing
      ctx.fill();
    } else {
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
    }
    this.inked = true;
  }

  /** The pad as MNIST input -> q(z|x) -> its argmax code, which becomes the editor's. */
  encodeDrawing(event) {
    const model = editor.decoder;
    if (!this.inked || !model) return; // the model's weights are still loading
    const pixels = this.padCtx.getImageData(0, 0, PAD, PAD).data;
    const ink = new Float64Array(PAD * PAD);
    for (let p = 0; p < ink.length; p++) ink[p] = pixels[4 * p + 3] / 255;
    const input = mnistInput(ink, PAD, PAD);
    if (!input) return;
    const { N, K } = editor;
    const q = posteriorOf(encodeBatch(model, input), N, K);
    editor.drawing = { input, q, model };
    this.inputCtx.putImageData(paintDigit(this.inputCtx, input, false), 0, 0);
    const code = Array.from({ length: N }, (_, i) => {
      let best = 0;
      for (let k = 1; k < K; k++) if (q[i * K + k] > q[i * K + best]) best = k;
      return best;
    });
    this.markPosterior();
    editor.start = [...code]; // Reset comes back to the drawing's code
    if (sameList(code, editor.code)) this.refresh(event, "draw");
    else {
      editor.code = code;
      editorChanged(event, "draw");
    }
  }

  clearPad() {
    this.padCtx.clearRect(0, 0, PAD, PAD);
    this.inputCtx.clearRect(0, 0, 28, 28);
    this.inked = false;
    editor.drawing = null;
    this.markPosterior();
  }

  // Shade each cell by q(z_i = k | x) of the drawing; per row its certainty (max q), and
  // the drawing's KL to the uniform prior.
  markPosterior() {
    if (!this.withPad) return;
    const { N, K } = editor;
    const q = editor.drawing ? editor.drawing.q : null;
    // Shades in tenths, and only those that changed: each one repaints its cell in the
    // next frame (up to 200 of them cost a frame 8 ms on a 2-core CPU), and tenths are
    // what the eye tells apart on a projector anyway. The numbers beside stay exact.
    const set = (node, text, write) => node.gvaeShown !== text && write((node.gvaeShown = text));
    let sure = 0;
    for (let i = 0; i < N; i++) {
      let best = 0;
      for (let k = 0; k < K; k++) {
        const v = q ? q[i * K + k] : 0;
        best = Math.max(best, v);
        const cell = this.cells[i][k];
        set(cell, v.toFixed(1), (text) => cell.style.setProperty("--q", text));
      }
      sure += best;
      const row = this.certainty[i];
      set(row, q ? best.toFixed(2) : "", (text) => (row.textContent = text));
    }
    if (!q) {
      this.stats.textContent = "Draw a digit: the encoder reads it as you draw";
      return;
    }
    const kl = variableKl(q, N, K).reduce((a, b) => a + b, 0);
    this.stats.dataset.kl = kl.toFixed(4);
    this.stats.textContent = `KL to prior ${kl.toFixed(1)} nats\nmean max q ${(sure / N).toFixed(2)}`;
  }

  cellAt(x, y) {
    const node = (this.root.getRootNode().elementFromPoint ? this.root.getRootNode() : document).elementFromPoint(x, y);
    if (!node || !node.classList || !node.classList.contains("gv-cell")) return null;
    return [Number(node.dataset.i), Number(node.dataset.k)];
  }

  listen() {
    const grid = this.grid;
    grid.addEventListener("pointerdown", (e) => {
      const cell = this.cellAt(e.clientX, e.clientY);
      if (!cell || e.button !== 0) return;
      e.preventDefault(); // no text selection while painting
      grid.setPointerCapture(e.pointerId);
      editor.holding = true;
      this.preview = null;
      this.moveCursor(cell, false);
      // The keys go on from the clicked cell; focusing it waits until the digit is out.
      requestAnimationFrame(() => setTimeout(() => this.cells[cell[0]][cell[1]].focus({ preventScroll: true }), 0));
      if (!setVariable(cell[0], cell[1], e, "click")) this.refresh(e, "click");
    });
    grid.addEventListener("pointermove", (e) => {
      const cell = this.cellAt(e.clientX, e.clientY);
      if (editor.holding) {
        if (cell) {
          this.moveCursor(cell, false);
          setVariable(cell[0], cell[1], e, "paint");
        }
        return;
      }
      const same = cell && this.preview && cell[0] === this.preview[0] && cell[1] === this.preview[1];
      if (same || (!cell && !this.preview)) return;
      this.preview = cell;
      this.refresh(e, "hover");
    });
    const release = (e) => editor.holding && releaseHold(grid, e);
    grid.addEventListener("pointerup", release);
    grid.addEventListener("pointercancel", release);
    grid.addEventListener("pointerleave", (e) => {
      if (editor.holding || !this.preview) return;
      this.preview = null;
      this.refresh(e, "hover");
    });
    grid.addEventListener("click", (e) => {
      // Keyboard activation (Enter, Space) of the focused cell; the mouse acted on pointerdown.
      if (e.detail !== 0) return;
      const cell = this.cellAt(e.clientX, e.clientY) ?? this.cursor;
      this.preview = null;
      setVariable(cell[0], cell[1], e, "key");
    });
    grid.addEventListener("focusin", (e) => {
      const t = e.target;
      if (t.classList.contains("gv-cell")) this.moveCursor([Number(t.dataset.i), Number(t.dataset.k)], false);
    });
    grid.addEventListener("keydown", (e) => {
      const [i, k] = this.cursor;
      const { N, K } = editor;
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      if (moves[e.key]) {
        e.preventDefault();
        const [di, dk] = moves[e.key];
        this.moveCursor([Math.min(N - 1, Math.max(0, i + di)), Math.min(K - 1, Math.max(0, k + dk))], true);
        this.preview = [...this.cursor]; // the keyboard's hover: see the change before making it
        this.refresh(e, "hover");
      } else if (/^[0-9]$/.test(e.key) && Number(e.key) < K && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        this.moveCursor([i, Number(e.key)], true);
        this.preview = null;
        if (!setVariable(i, Number(e.key), e, "key")) this.refresh(e, "key");
      } else if (e.key === "Escape" && this.preview) {
        this.preview = null;
        this.refresh(e, "hover");
      }
    });
  }

  moveCursor([i, k], focus) {
    const [oi, ok] = this.cursor;
    this.cells[oi][ok].tabIndex = -1;
    this.cursor = [i, k];
    const cell = this.cells[i][k];
    cell.tabIndex = 0;
    if (focus) cell.focus({ preventScroll: true });
  }

  update(data) {
    const withPad = Boolean(data.draw);
    if (this.cells.length !== editor.N || this.cells[0].length !== editor.K || this.withPad !== withPad) {
      this.withPad = withPad;
      this.build();
    }
    // Another model arrived: read the drawing again with its encoder.
    if (this.withPad && editor.drawing && editor.drawing.model !== editor.decoder) this.encodeDrawing(null);
    this.markUsage(data.usage);
    this.fallback = data.fallback;
    this.fallbackCode = data.code;
    this.fallbackSample = data.sample;
    this.refresh(null, "data");
  }

  // Shade and embolden each row by how much the model uses that variable: its KL to the
  // uniform prior as a share of the most it can be, log K (Python sends the shares).
  markUsage(usage) {
    const logK = Math.log(editor.K);
    this.rows.forEach((row, i) => {
      const share = usage ? Math.max(0, Math.min(1, usage[i])) : 0;
      row.style.setProperty("--use", share.toFixed(3));
      row.classList.toggle("gv-used", share >= USED_SHARE);
      row.dataset.kl = usage ? (share * logK).toFixed(3) : "";
      row.title = usage ? `z${i}: KL to uniform ${(share * logK).toFixed(2)} of ${logK.toFixed(2)} nats` : "";
    });
  }

  refresh(event, kind) {
    const { code, N } = editor;
    if (this.drawnCode === null || !sameList(this.drawnCode, code)) {
      for (let i = 0; i < N; i++) {
        if (this.drawnCode && this.drawnCode[i] === code[i]) continue;
        if (this.drawnCode) this.cells[i][this.drawnCode[i]].setAttribute("aria-pressed", "false");
        this.cells[i][code[i]].setAttribute("aria-pressed", "true");
      }
      this.drawnCode = [...code];
    }
    this.sampleBox.checked = editor.sample;
    if (this.previewCell) this.previewCell.classList.remove("gv-preview");
    this.previewCell = null;
    let shown = code;
    if (this.preview) {
      const [i, k] = this.preview;
      this.previewCell = this.cells[i][k];
      this.previewCell.classList.add("gv-preview");
      if (code[i] !== k) shown = code.map((v, j) => (j === i ? k : v));
    }
    const text = shown.join(N && editor.K > 10 ? "," : "");
    this.caption.textContent = `z = ${text}`;
    this.canvas.setAttribute("aria-label", `Decoded digit for z = ${text}`);
    this.canvas.dataset.code = text;
    this.badge.textContent = shown === code ? editor.error || "" : `preview: z${this.preview[0]} = ${this.preview[1]}`;
    this.draw(shown, event, kind);
  }

  draw(code, event, kind) {
    const text = code.join(editor.K > 10 ? "," : "");
    if (editor.decoder) {
      this.ctx.putImageData(paintDigit(this.ctx, decode(editor.decoder, code), editor.sample), 0, 0);
      this.canvas.dataset.source = "page";
      this.canvas.dataset.drawn = text;
      painted(kind, event);
    } else if (this.fallback && sameList(code, this.fallbackCode) && editor.sample === this.fallbackSample) {
      // Until (or unless) the decoder arrives: the server's picture of the same code.
      const image = new Image();
      image.onload = () => {
        if (editor.decoder) return;
        this.ctx.drawImage(image, 0, 0);
        this.canvas.dataset.source = "server";
        this.canvas.dataset.drawn = text;
      };
      image.src = this.fallback;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Atlas view: all N x K single-variable changes, decoded a few rows per frame
// ---------------------------------------------------------------------------------------

const IDLE_SLICE_MS = 5; // decode for about this long per idle slice, so input never waits long

class AtlasView {
  constructor(root) {
    this.root = root;
    this.job = null;
    this.hover = null;
    this.tile = document.createElement("canvas");
    this.tile.width = this.tile.height = 28;
    this.tileCtx = this.tile.getContext("2d");
  }

  build() {
    const { N, K } = editor;
    this.size = 40; // css px per tile
    this.gap = 4;
    this.left = 34;
    this.top = 22;
    const width = this.left + K * (this.size + this.gap);
    const height = this.top + N * (this.size + this.gap);
    const dpr = Math.max(1, window.devicePixelRatio || 1);
    this.canvas = el("canvas", { class: "gv-atlas", "data-testid": "gvae-atlas", role: "img", "aria-label": "Atlas: every single-variable change of the code" });
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.ctx = this.canvas.getContext("2d");
    this.ctx.scale(dpr, dpr);
    this.ctx.imageSmoothingEnabled = false;
    this.status = el("div", { class: "gv-caption" });
    this.root.replaceChildren(el("div", { class: "gv-scroll" }, this.canvas), this.status);
    this.built = [N, K];
    this.canvas.addEventListener("pointermove", (e) => {
      const cell = this.cellAt(e);
      const key = cell && cell.join();
      if (key === (this.hover && this.hover.join())) return;
      const old = this.hover;
      this.hover = cell;
      if (old) this.drawFrame(old[0]);
      if (cell) this.drawFrame(cell[0]);
      this.canvas.style.cursor = cell ? "pointer" : "default";
    });
    this.canvas.addEventListener("pointerleave", () => {
      const old = this.hover;
      this.hover = null;
      if (old) this.drawFrame(old[0]);
    });
    this.canvas.addEventListener("click", (e) => {
      const cell = this.cellAt(e);
      if (cell) setVariable(cell[0], cell[1], e, "atlas");
    });
  }

  cellAt(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left - this.left;
    const y = e.clientY - r.top - this.top;
    const k = Math.floor(x / (this.size + this.gap));
    const i = Math.floor(y / (this.size + this.gap));
    if (x < 0 || y < 0 || k >= editor.K || i >= editor.N) return null;
    return [i, k];
  }

  update() {
    if (!this.built || this.built[0] !== editor.N || this.built[1] !== editor.K) this.build();
    this.refresh();
  }

  refresh() {
    // Cheap on the input's path: the labels, tiles and frames are drawn later, when idle.
    const job = this.job;
    const same = job && job.decoder === editor.decoder && job.sample === editor.sample && sameList(job.code, editor.code);
    if (same && editor.decoder) return; // a rerun that changed nothing here: keep the tiles
    this.job = { code: [...editor.code], sample: editor.sample, decoder: editor.decoder, row: 0 };
    this.status.textContent = editor.decoder ? "" : editor.error || "Loading the decoder…";
    if (editor.decoder) this.step();
  }

  drawLabels() {
    const text = cssVar(this.root, "--st-text-color", "#333");
    const ctx = this.ctx;
    ctx.clearRect(0, 0, this.left + editor.K * (this.size + this.gap), this.top);
    ctx.fillStyle = text;
    ctx.font = "12px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let k = 0; k < editor.K; k++) ctx.fillText(String(k), this.left + k * (this.size + this.gap) + this.size / 2, this.top / 2);
    ctx.textAlign = "right";
    for (let i = 0; i < editor.N; i++) {
      ctx.clearRect(0, this.top + i * (this.size + this.gap), this.left - 2, this.size);
      ctx.fillText(`z${i}`, this.left - 6, this.top + i * (this.size + this.gap) + this.size / 2);
    }
  }

  step() {
    if (this.pending) return;
    this.pending = true;
    afterPaint(() => {
      this.pending = false;
      const job = this.job;
      if (!job || !editor.decoder) return;
      const t0 = performance.now();
      const { N, K } = editor;
      if (job.row === 0) {
        this.drawLabels(); // in the theme's current colours
        this.colors = { primary: cssVar(this.root, "--st-primary-color", "#4c78a8"), bg: cssVar(this.root, "--st-background-color", "#fff") };
      }
      while (job.row < N && performance.now() - t0 < IDLE_SLICE_MS) {
        const i = job.row;
        const codes = [];
        for (let k = 0; k < K; k++) codes.push(job.code.map((v, j) => (j === i ? k : v)));
        job.means = job.means || [];
        job.means[i] = decodeBatch(editor.decoder, codes);
        this.drawRow(i);
        job.row += 1;
      }
      if (job.row < N) this.step();
      else this.canvas.dataset.code = job.code.join(editor.K > 10 ? "," : "");
    });
  }

  drawRow(i) {
    const means = this.job.means[i];
    for (let k = 0; k < editor.K; k++) {
      this.tileCtx.putImageData(paintDigit(this.tileCtx, means, this.job.sample, k * 784), 0, 0);
      const x = this.left + k * (this.size + this.gap);
      const y = this.top + i * (this.size + this.gap);
      this.ctx.drawImage(this.tile, x, y, this.size, this.size);
    }
    this.drawFrame(i);
  }

  drawFrame(i) {
    if (!this.job || !this.job.means || !this.job.means[i]) return;
    const ctx = this.ctx;
    const { primary, bg } = this.colors;
    for (let k = 0; k < editor.K; k++) {
      const x = this.left + k * (this.size + this.gap) - 2;
      const y = this.top + i * (this.size + this.gap) - 2;
      const chosen = this.job.code[i] === k;
      const hovered = this.hover && this.hover[0] === i && this.hover[1] === k;
      ctx.lineWidth = 2;
      ctx.strokeStyle = chosen ? "#e45756" : hovered ? primary : bg;
      ctx.strokeRect(x + 1, y + 1, this.size + 2, this.size + 2);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Interpolation view: A = the code, B, one variable per step; a scrubber along the path
// ---------------------------------------------------------------------------------------

export function interpolationPath(a, b) {
  const path = [[...a]];
  const current = [...a];
  for (let i = 0; i < b.length; i++) {
    if (current[i] !== b[i]) {
      current[i] = b[i];
      path.push([...current]);
    }
  }
  return path;
}

class InterpolationView {
  constructor(root) {
    this.root = root;
    this.position = 0;
    this.tile = document.createElement("canvas");
    this.tile.width = this.tile.height = 28;
    this.tileCtx = this.tile.getContext("2d");
  }

  build() {
    const newB = el("button", { type: "button", "data-testid": "gvae-new-b", text: "New B" });
    newB.onclick = (e) => {
      editor.codeB = Array.from({ length: editor.N }, () => randomInt(editor.K));
      editorChanged(e, "interp");
    };
    this.text = el("div", { class: "gv-mono" });
    this.strip = el("canvas", { class: "gv-strip", "data-testid": "gvae-strip", role: "img" });
    this.stripCtx = this.strip.getContext("2d");
    this.frame = el("canvas", { class: "gv-frame", width: 28, height: 28, "data-testid": "gvae-interp-frame", role: "img" });
    this.frameCtx = this.frame.getContext("2d");
    this.scrub = el("input", { type: "range", min: 0, max: 0, step: 1, value: 0, class: "gv-scrub", "data-testid": "gvae-scrub", "aria-label": "Position along the path from A to B" });
    this.caption = el("div", { class: "gv-caption" });
    this.scrub.addEventListener("input", (e) => this.show(Number(this.scrub.value), e, "scrub"));
    const scrubFromStrip = (e) => {
      const r = this.strip.getBoundingClientRect();
      const n = this.path.length;
      this.show(Math.min(n - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * n))), e, "scrub");
    };
    this.strip.addEventListener("pointerdown", (e) => {
      this.strip.setPointerCapture(e.pointerId);
      scrubFromStrip(e);
    });
    this.strip.addEventListener("pointermove", (e) => {
      if (this.strip.hasPointerCapture(e.pointerId)) scrubFromStrip(e);
    });
    const left = el("div", { class: "gv-interp-left" }, this.frame);
    const right = el("div", { class: "gv-interp-right" }, el("div", { class: "gv-toolbar" }, newB), this.text, this.strip, this.scrub, this.caption);
    this.root.replaceChildren(el("div", { class: "gv-interp" }, left, right));
    new ResizeObserver(() => this.drawStrip()).observe(right);
    this.built = true;
  }

  update() {
    if (!this.built) this.build();
    this.refresh();
  }

  refresh() {
    const sep = editor.K > 10 ? "," : "";
    this.text.textContent = `A = ${editor.code.join(sep)}\nB = ${editor.codeB.join(sep)}`;
    if (!editor.decoder) {
      this.caption.textContent = editor.error || "Loading the decoder…";
      return;
    }
    const path = interpolationPath(editor.code, editor.codeB);
    const key = JSON.stringify([path, editor.sample, editor.version]);
    if (key === this.key) return;
    this.key = key;
    this.job = { path, means: new Float64Array(path.length * 784), done: 0 };
    this.step();
  }

  step() {
    if (this.pending) return;
    this.pending = true;
    afterPaint(() => {
      // At most N + 1 digits, in slices of a few, once the editor's picture is out.
      this.pending = false;
      const job = this.job;
      if (!job || !editor.decoder) return;
      const t0 = performance.now();
      while (job.done < job.path.length && performance.now() - t0 < IDLE_SLICE_MS) {
        const batch = job.path.slice(job.done, job.done + 4);
        job.means.set(decodeBatch(editor.decoder, batch), job.done * 784);
        job.done += batch.length;
      }
      if (job.done < job.path.length) return this.step();
      this.path = job.path;
      this.means = job.means;
      this.scrub.max = String(this.path.length - 1);
      this.position = Math.min(this.position, this.path.length - 1);
      this.drawStrip();
      this.show(this.position);
    });
  }

  drawStrip() {
    if (!this.path) return;
    const n = this.path.length;
    const width = this.strip.parentElement.clientWidth || 600;
    const size = Math.max(8, Math.min(56, Math.floor(width / n) - 2));
    const dpr = Math.max(1, window.devicePixelRatio || 1);
    this.strip.width = Math.round(n * (size + 2) * dpr);
    this.strip.height = Math.round((size + 6) * dpr);
    this.strip.style.width = `${n * (size + 2)}px`;
    this.strip.style.height = `${size + 6}px`;
    const ctx = this.stripCtx;
    this.primary = cssVar(this.root, "--st-primary-color", "#4c78a8"); // not per scrub step
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.imageSmoothingEnabled = false;
    for (let t = 0; t < n; t++) {
      this.tileCtx.putImageData(paintDigit(this.tileCtx, this.means, editor.sample, t * 784), 0, 0);
      ctx.drawImage(this.tile, t * (size + 2) + 1, 1, size, size);
    }
    this.stripSize = size;
    this.markStrip();
  }

  markStrip() {
    const n = this.path.length;
    const size = this.stripSize;
    const ctx = this.stripCtx;
    ctx.clearRect(0, size + 2, n * (size + 2), 4);
    ctx.fillStyle = this.primary;
    ctx.fillRect(this.position * (size + 2) + 1, size + 2, size, 4);
  }

  show(t, event, kind) {
    if (!this.path) return;
    this.position = t;
    this.scrub.value = String(t);
    this.frameCtx.putImageData(paintDigit(this.frameCtx, this.means, editor.sample, t * 784), 0, 0);
    const changed = t === 0 ? "A" : `z${this.changedVariable(t)} → ${this.path[t][this.changedVariable(t)]}`;
    const n = this.path.length - 1;
    this.caption.textContent = `step ${t} of ${n}${t ? ` (${changed})` : " (A)"}${t === n && n ? " = B" : ""}`;
    this.frame.dataset.code = this.path[t].join(editor.K > 10 ? "," : "");
    this.markStrip();
    painted(kind, event);
  }

  changedVariable(t) {
    const a = this.path[t - 1];
    const b = this.path[t];
    return a.findIndex((v, i) => v !== b[i]);
  }
}

// ---------------------------------------------------------------------------------------
const POINT_COLOR = "#4c78a8"; // the simplex's samples, readable on light and dark

// Playground view: tau and pi move the soft sample, its entropy, the table and the simplex
// ---------------------------------------------------------------------------------------

const TAU_MIN_LOG = -2; // tau from 0.01 ...
const TAU_MAX_LOG = 1; // ... to 10, on a log scale
const roundTau = (tau) => Number(tau.toPrecision(3));

class PlaygroundView {
  constructor(root) {
    this.root = root;
    this.seq = 0;
    this.timer = 0;
    this.holding = false;
    this.simplexNoise = null;
  }

  build(data) {
    this.tauInput = el("input", { type: "range", min: TAU_MIN_LOG, max: TAU_MAX_LOG, step: 0.005, "data-testid": "gvae-tau", "aria-label": "Temperature τ (log scale)" });
    this.tauText = el("output", { class: "gv-tau-value" });
    this.play = el("button", { type: "button", "data-testid": "gvae-play", text: "▶ Play", title: "Sweep τ from 10 down to 0.01" });
    this.tauInput.addEventListener("input", (e) => {
      this.setTau(roundTau(10 ** Number(this.tauInput.value)), e, "tau");
    });
    this.tauInput.addEventListener("pointerdown", () => {
      this.holding = true; // no rerun until the hand lets go, wherever it does
      const release = () => {
        this.holding = false;
        this.schedule();
      };
      window.addEventListener("pointerup", release, { once: true });
      window.addEventListener("pointercancel", release, { once: true });
    });
    this.play.onclick = () => this.sweep();
    this.bars = el("canvas", { class: "gv-bars", "data-testid": "gvae-bars", role: "img", "aria-label": "π, soft and hard sample per category" });
    this.simplex = el("canvas", { class: "gv-simplex", "data-testid": "gvae-simplex", role: "img", "aria-label": "Relaxed samples on the simplex" });
    this.entropyText = el("div", { class: "gv-metric", "data-testid": "gvae-entropy" });
    this.table = el("table", { class: "gv-table", "data-testid": "gvae-table" });
    const tauRow = el("div", { class: "gv-tau-row" }, el("label", { text: "Temperature τ" }), this.play, this.tauInput, this.tauText);
    const side = el("div", { class: "gv-side" }, el("div", { class: "gv-metric-label", text: "Entropy of the soft sample (nats)" }), this.entropyText, this.table);
    this.simplexBox = el("div", { class: "gv-simplex-box" }, this.simplex);
    const body = el("div", { class: "gv-pg-body" }, el("div", { class: "gv-bars-box" }, this.bars), this.simplexBox, side);
    this.root.replaceChildren(tauRow, body);
    this.listenBars();
    if (this.resize) this.resize.disconnect();
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(body);
    this.k = data.labels.length;
  }

  readColors() {
    // Read once per rerun, not per frame: getComputedStyle would force a style recalc.
    this.colors = {
      text: cssVar(this.root, "--st-text-color", "#333"),
      grid: cssVar(this.root, "--st-border-color", "rgba(128,128,128,0.3)"),
    };
  }

  update(data) {
    if (!this.tauInput || this.k !== data.labels.length) this.build(data);
    this.readColors();
    this.data = data;
    this.labels = data.labels;
    this.noise = data.noise;
    const newK = !this.probs || this.probs.length !== data.probs.length;
    if (newK) clearTimeout(this.timer); // a pending report for the old K is void
    if (newK || data.ack >= this.seq) {
      // Python has seen our last edit (or K changed there): its π and τ are the truth.
      this.seq = data.ack;
      this.probs = [...data.probs];
      this.tau = data.tau;
    }
    this.simplexBox.hidden = !data.simplex;
    this.root.classList.toggle("gv-no-simplex", !data.simplex);
    if (data.simplex) this.loadSimplex(data.simplex);
    this.render();
  }

  async loadSimplex({ url, n }) {
    if (this.simplexUrl === url) return;
    this.simplexUrl = url;
    this.simplexNoise = null;
    let buffer;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      buffer = await response.arrayBuffer();
    } catch {
      if (this.simplexUrl === url) this.simplexUrl = null; // the next rerun tries again
      return;
    }
    if (this.simplexUrl !== url) return;
    this.simplexNoise = new Float64Array(buffer);
    this.simplexN = n;
    this.render();
  }

  setTau(tau, event, kind) {
    this.tau = Math.min(10, Math.max(0.01, tau));
    this.seq += 1;
    this.render(event, kind);
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.holding || this.sweeping) return;
    this.timer = setTimeout(() => this.sync(), SETTLE_MS);
  }

  sync() {
    if (!this.send) return;
    this.send("edit", { seq: this.seq, tau: this.tau, probs: this.probs });
  }

  sweep() {
    if (this.sweeping) {
      this.sweeping = false; // a second press stops it where it is
      return;
    }
    this.sweeping = true;
    this.play.textContent = "■ Stop";
    const t0 = performance.now();
    const duration = 4000;
    const frame = (now) => {
      if (!this.sweeping) {
        this.play.textContent = "▶ Play";
        this.schedule();
        return;
      }
      const f = Math.min(1, (now - t0) / duration);
      const log = TAU_MAX_LOG + (TAU_MIN_LOG - TAU_MAX_LOG) * f;
      this.tau = roundTau(10 ** log);
      this.seq += 1;
      this.render();
      if (f < 1) requestAnimationFrame(frame);
      else {
        this.sweeping = false;
        this.play.textContent = "▶ Play";
        this.schedule();
      }
    };
    requestAnimationFrame(frame);
  }

  listenBars() {
    const setFromPointer = (e) => {
      const g = this.geometry;
      if (!g) return;
      const r = this.bars.getBoundingClientRect();
      const value = Math.min(1, Math.max(0, (g.bottom - (e.clientY - r.top)) / g.height));
      const k = this.dragging;
      // pi_k becomes `value`; the others keep their ratios and share the rest.
      const rest = this.probs.reduce((s, p, j) => (j === k ? s : s + p), 0);
      const K = this.probs.length;
      this.probs = this.probs.map((p, j) => (j === k ? value : rest > 0 ? (p * (1 - value)) / rest : (1 - value) / (K - 1)));
      this.seq += 1;
      this.render(e, "pi");
    };
    this.bars.addEventListener("pointerdown", (e) => {
      const k = this.categoryAt(e);
      if (k === null) return;
      e.preventDefault();
      this.bars.setPointerCapture(e.pointerId);
      this.dragging = k;
      this.holding = true;
      setFromPointer(e);
    });
    this.bars.addEventListener("pointermove", (e) => {
      if (this.dragging !== null && this.dragging !== undefined && this.bars.hasPointerCapture(e.pointerId)) setFromPointer(e);
      else this.bars.style.cursor = this.categoryAt(e) === null ? "default" : "ns-resize";
    });
    const release = () => {
      if (this.dragging === null || this.dragging === undefined) return;
      this.dragging = null;
      this.holding = false;
      this.schedule();
    };
    this.bars.addEventListener("pointerup", release);
    this.bars.addEventListener("pointercancel", release);
  }

  categoryAt(e) {
    const g = this.geometry;
    if (!g) return null;
    const r = this.bars.getBoundingClientRect();
    const x = e.clientX - r.left;
    const k = Math.floor((x - g.left) / g.group);
    return k >= 0 && k < this.probs.length ? k : null;
  }

  render(event, kind) {
    const logits = logProbs(this.probs);
    this.soft = gumbelSoftmax(logits, this.noise, this.tau);
    this.hard = hardSample(logits, this.noise);
    this.tauInput.value = String(Math.log10(this.tau));
    this.tauInput.setAttribute("aria-valuetext", `τ = ${this.tau}`);
    this.tauText.textContent = `τ = ${this.tau}`;
    this.entropyText.textContent = entropy(this.soft).toFixed(3);
    this.drawTable();
    this.draw();
    painted(kind, event);
  }

  drawTable() {
    const key = JSON.stringify(this.labels);
    if (this.tableKey !== key) {
      // Built once per set of categories; afterwards only the numbers change.
      const head = "<tr><th></th><th>π</th><th>g</th><th>soft</th><th>hard</th></tr>";
      const rows = this.labels.map((label, k) => `<tr><th>${escapeHtml(label)}</th><td></td><td></td><td data-testid="gvae-soft-${k}"></td><td></td></tr>`);
      this.table.innerHTML = head + rows.join("");
      this.cellsByRow = [...this.table.rows].slice(1).map((row) => [...row.cells].slice(1));
      this.tableKey = key;
    }
    const fmt = (v) => v.toFixed(4);
    this.cellsByRow.forEach((cells, k) => {
      const values = [fmt(this.probs[k]), fmt(this.noise[k]), fmt(this.soft[k]), String(this.hard[k])];
      cells.forEach((cell, c) => {
        if (cell.textContent !== values[c]) cell.textContent = values[c];
      });
    });
  }

  draw() {
    if (!this.soft) return;
    this.drawBars();
    if (this.data && this.data.simplex) this.drawSimplex();
  }

  fit(canvas, height) {
    const width = canvas.parentElement.clientWidth || 300;
    const dpr = Math.max(1, window.devicePixelRatio || 1);
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return [ctx, width];
  }

  fontSize() {
    return this.data && this.data.talk ? 18 : 13;
  }

  drawBars() {
    const height = this.data && this.data.talk ? 340 : 300;
    const [ctx, width] = this.fit(this.bars, height);
    const { text, grid } = this.colors;
    const fs = this.fontSize();
    const K = this.probs.length;
    const left = fs * 2.6;
    const top = fs * 2.2;
    const bottom = height - fs * 2;
    const plot = bottom - top;
    const group = (width - left - 4) / K;
    this.geometry = { left, bottom, height: plot, group };
    ctx.font = `${fs}px sans-serif`;
    ctx.fillStyle = text;
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      const y = bottom - v * plot;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(width, y);
      ctx.stroke();
      ctx.fillText(String(v), left - 4, y);
    }
    const series = [
      ["π (drag)", this.probs, "#9d9d9d"],
      [`soft, τ = ${this.tau}`, this.soft, "#4c78a8"],
      ["hard (argmax)", this.hard, "#e45756"],
    ];
    const bar = (group * 0.8) / 3;
    series.forEach(([, values, color], s) => {
      ctx.fillStyle = color;
      for (let k = 0; k < K; k++) {
        const x = left + k * group + group * 0.1 + s * bar;
        ctx.fillRect(x, bottom - values[k] * plot, bar - 2, values[k] * plot);
      }
    });
    ctx.fillStyle = text;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    this.labels.forEach((label, k) => ctx.fillText(label, left + (k + 0.5) * group, bottom + 4));
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    let x = left;
    for (const [name, , color] of series) {
      ctx.fillStyle = color;
      ctx.fillRect(x, fs * 0.6, fs * 0.8, fs * 0.8);
      ctx.fillStyle = text;
      ctx.fillText(name, x + fs, fs);
      x += ctx.measureText(name).width + fs * 2;
    }
  }

  drawSimplex() {
    const height = this.data && this.data.talk ? 340 : 300;
    const [ctx, width] = this.fit(this.simplex, height);
    const { text } = this.colors;
    const fs = this.fontSize();
    ctx.font = `${fs}px sans-serif`;
    // Room for the caption line, then the top corner's label and disc above the triangle,
    // and the bottom corners' discs and labels below it. The disc radius is at most a tenth
    // of the side, so solve for the side with it included.
    const gap = 4;
    const byHeight = (height - 3 * fs - 4 * gap) / (Math.sqrt(3) / 2 + 0.2);
    const side = Math.min(width / 1.2 - gap, byHeight);
    const cx = width / 2;
    const baseY = height - fs - 2 * gap - side * 0.1;
    const corners = [
      [cx - side / 2, baseY],
      [cx + side / 2, baseY],
      [cx, baseY - (side * Math.sqrt(3)) / 2],
    ];
    ctx.strokeStyle = text;
    ctx.globalAlpha = 0.5;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(...corners[0]);
    ctx.lineTo(...corners[1]);
    ctx.lineTo(...corners[2]);
    ctx.closePath();
    ctx.stroke();
    ctx.globalAlpha = 1;
    const most = side * 0.1; // the largest corner disc's radius
    const counts = [0, 0, 0];
    const piled = [0, 0, 0]; // samples within 2 % of a corner: one pixel, however many
    if (this.simplexNoise) {
      const logits = logProbs(this.probs);
      const n = this.simplexN;
      const radius = this.data.talk ? 4.5 : 3;
      ctx.fillStyle = POINT_COLOR;
      ctx.globalAlpha = 0.35;
      const noise = [0, 0, 0];
      for (let s = 0; s < n; s++) {
        noise[0] = this.simplexNoise[3 * s];
        noise[1] = this.simplexNoise[3 * s + 1];
        noise[2] = this.simplexNoise[3 * s + 2];
        const y = gumbelSoftmax(logits, noise, this.tau);
        const k = y[0] >= y[1] ? (y[0] >= y[2] ? 0 : 2) : y[1] >= y[2] ? 1 : 2;
        counts[k] += 1;
        if (y[k] > 0.98) piled[k] += 1;
        const px = y[0] * corners[0][0] + y[1] * corners[1][0] + y[2] * corners[2][0];
        const py = y[0] * corners[0][1] + y[1] * corners[1][1] + y[2] * corners[2][1];
        ctx.fillRect(px - radius, py - radius, 2 * radius, 2 * radius);
      }
      // As tau drops the samples pile up on the corners, thousands on one pixel, and the
      // triangle looks empty: a disc on each corner, its area the pile's share, shows them.
      ctx.globalAlpha = 0.85;
      piled.forEach((count, k) => {
        if (!count) return;
        ctx.beginPath();
        ctx.arc(corners[k][0], corners[k][1], Math.max(radius, most * Math.sqrt(count / n)), 0, 2 * Math.PI);
        ctx.fill();
      });
      ctx.globalAlpha = 1;
      this.simplex.dataset.piled = piled.map((c) => (c / n).toFixed(3)).join(",");
      this.simplex.dataset.tau = String(this.tau);
      this.simplex.dataset.corners = JSON.stringify(corners.map(([x, y]) => [Math.round(x), Math.round(y)]));
    }
    ctx.fillStyle = text;
    ctx.font = `${fs}px sans-serif`;
    const total = counts[0] + counts[1] + counts[2] || 1;
    const clear = most + gap; // labels clear of the corner discs
    const place = [
      ["left", "top", -4, clear],
      ["right", "top", 4, clear],
      ["center", "bottom", 0, -clear],
    ];
    corners.forEach(([x, y], k) => {
      const [align, base, dx, dy] = place[k];
      ctx.textAlign = align;
      ctx.textBaseline = base;
      const share = this.simplexNoise ? ` ${Math.round((100 * counts[k]) / total)}%` : "";
      ctx.fillText(`${this.labels[k]}${share}`, x + dx, y + dy);
    });
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillText(`${this.simplexN || 0} relaxed samples, τ = ${this.tau}`, 4, 4);
    if (this.simplexNoise) this.simplex.dataset.points = String(this.simplexN);
  }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// ---------------------------------------------------------------------------------------
// Entry point: one call per Streamlit render of any instance
// ---------------------------------------------------------------------------------------

const VIEWS = { editor: EditorView, atlas: AtlasView, interpolation: InterpolationView, playground: PlaygroundView };
const instances = (live.instances ??= new WeakMap()); // parentElement -> view

export default function render(component) {
  const { data, parentElement, setStateValue } = component;
  let view = instances.get(parentElement);
  const fresh = !view;
  if (fresh) {
    // The stylesheet is a file too (fetched once, then cached): reruns stay small.
    const root = el("div", { class: `gv-root gv-view-${data.view}` });
    const style = el("link", { rel: "stylesheet", href: data.css });
    root.style.visibility = "hidden"; // no unstyled flash while it loads
    style.onload = style.onerror = () => (root.style.visibility = "");
    parentElement.replaceChildren(style, root); // nothing an earlier mount left behind
    view = new VIEWS[data.view](root);
    instances.set(parentElement, view);
  }
  view.root.classList.toggle("gv-talk", Boolean(data.talk));
  // Streamlit can run a mount's cleanup while its element stays on the page, with or
  // without a render after it (the theme switching in place does both): a cleanup acts
  // only once the element has left the page and no later render came.
  const mount = (view.mount = {});
  const cleanup = (teardown) => () =>
    setTimeout(() => view.mount === mount && !parentElement.isConnected && teardown(), 0);
  if (data.view === "playground") {
    view.send = setStateValue;
    view.update(data);
    return cleanup(() => instances.delete(parentElement));
  }
  // The editor's three views share one state; the editor view speaks for them.
  if (data.view === "editor") editor.send = setStateValue;
  const changed = adoptEditorData(data);
  if (editor.version !== data.decoder.version) {
    // Another model: draw the server's picture until its decoder has arrived.
    editor.version = data.decoder.version;
    editor.decoder = null;
    editor.error = null;
    loadDecoder(data.decoder).then(
      (decoder) => {
        if (editor.version !== data.decoder.version) return;
        editor.decoder = decoder;
        for (const v of editor.views) if (v.inked) v.encodeDrawing(null); // drawn while it loaded
        for (const v of editor.views) v.refresh(null, "data");
      },
      (error) => {
        if (editor.version !== data.decoder.version) return;
        editor.version = null; // the next rerun tries again
        editor.error = `the page's decoder did not load (${error.message || error}); the server draws instead`;
        for (const v of editor.views) v.refresh(null, "data");
      },
    );
  }
  editor.views.add(view);
  view.update(data);
  if (changed) for (const other of editor.views) if (other !== view) other.refresh(null, "data");
  return cleanup(() => {
    editor.views.delete(view);
    instances.delete(parentElement);
    if (view instanceof EditorView && editor.send === setStateValue) {
      // Leaving the page: a pending report would rerun the next page. The next mount
      // resends it (its `ack` is behind).
      clearTimeout(editor.timer);
      editor.send = null;
    }
  });
}
