// Two categorical distributions as bars you drag, with KL(P‖Q), KL(Q‖P), H(P) and H(P, Q)
// recomputed in the page at every move. Dragging a bar to v gives it probability v and
// rescales the other bars of the same distribution so that they still sum to 1. When the
// hand lets go, the two distributions go back to Python (state "bars"), which redraws the
// rest of the page. The KL here is a second implementation of gvae.app.kl.kl, pinned to it
// by tests/test_browser_talk.py.

const COLORS = { p: "#4c78a8", q: "#f58518" };
const SVG = "http://www.w3.org/2000/svg";

export function kl(p, q) {
  let total = 0;
  for (let k = 0; k < p.length; k++) {
    if (p[k] > 0) total += q[k] > 0 ? p[k] * (Math.log(p[k]) - Math.log(q[k])) : Infinity;
  }
  return total;
}

export function entropy(p) {
  return -p.reduce((s, v) => (v > 0 ? s + v * Math.log(v) : s), 0);
}

/** Set p[k] to v and rescale the others so that p sums to 1. */
export function setBar(p, k, v) {
  v = Math.min(1, Math.max(0, v));
  const rest = p.reduce((s, x, j) => (j === k ? s : s + x), 0);
  return p.map((x, j) => {
    if (j === k) return v;
    if (rest > 0) return (x * (1 - v)) / rest;
    return (1 - v) / (p.length - 1);
  });
}

function fmt(x) {
  return Number.isFinite(x) ? x.toFixed(3) : "∞";
}

function draw(root, state) {
  const { labels } = state;
  const K = labels.length, width = 640, height = 300, top = 56, bottom = 36, left = 8;
  const plotH = height - top - bottom, groupW = (width - 2 * left) / K, barW = groupW * 0.36;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("data-testid", "gvae-kl-bars");
  svg.dataset.p = JSON.stringify(state.p);
  svg.dataset.q = JSON.stringify(state.q);
  const numbers = [
    ["KL(P‖Q)", kl(state.p, state.q), "gvae-kl-pq"],
    ["KL(Q‖P)", kl(state.q, state.p), "gvae-kl-qp"],
    ["H(P)", entropy(state.p), "gvae-h-p"],
    ["H(P,Q)", entropy(state.p) + kl(state.p, state.q), "gvae-h-pq"],
  ];
  numbers.forEach(([name, value, id], i) => {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", left + (i * (width - 2 * left)) / 4);
    text.setAttribute("y", 30);
    text.setAttribute("class", "number");
    text.setAttribute("data-testid", id);
    text.dataset.value = String(value);
    text.textContent = `${name} = ${fmt(value)}`;
    svg.appendChild(text);
  });
  const base = top + plotH;
  for (let k = 0; k < K; k++) {
    ["p", "q"].forEach((name, s) => {
      const v = state[name][k];
      const x = left + k * groupW + groupW * 0.12 + s * (barW + 4);
      const bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", x);
      bar.setAttribute("width", barW);
      bar.setAttribute("y", base - v * plotH);
      bar.setAttribute("height", Math.max(2, v * plotH));
      bar.setAttribute("fill", COLORS[name]);
      bar.setAttribute("data-testid", `gvae-kl-bar-${name}-${k}`);
      bar.setAttribute("class", "bar");
      svg.appendChild(bar);
      // a taller, invisible target: grab anywhere in the bar's column
      const hit = document.createElementNS(SVG, "rect");
      hit.setAttribute("x", x);
      hit.setAttribute("width", barW);
      hit.setAttribute("y", top);
      hit.setAttribute("height", plotH);
      hit.setAttribute("fill", "transparent");
      hit.setAttribute("class", "hit");
      hit.dataset.name = name;
      hit.dataset.k = String(k);
      svg.appendChild(hit);
    });
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", left + (k + 0.5) * groupW);
    label.setAttribute("y", height - 10);
    label.setAttribute("text-anchor", "middle");
    label.setAttribute("class", "label");
    label.textContent = labels[k];
    svg.appendChild(label);
  }
  const axis = document.createElementNS(SVG, "line");
  axis.setAttribute("x1", left);
  axis.setAttribute("x2", width - left);
  axis.setAttribute("y1", base);
  axis.setAttribute("y2", base);
  axis.setAttribute("class", "axis");
  svg.appendChild(axis);
  root.replaceChildren(svg);
  return { svg, top, plotH };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let root = parentElement.querySelector(".kl-bars");
  if (!root) {
    root = document.createElement("div");
    root.className = "kl-bars";
    parentElement.appendChild(root);
  }
  const state = { labels: data.labels, p: data.p.slice(), q: data.q.slice() };
  let layout = draw(root, state);
  let drag = null;

  function valueAt(event) {
    const box = layout.svg.getBoundingClientRect();
    const y = ((event.clientY - box.top) / box.height) * layout.svg.viewBox.baseVal.height;
    return 1 - (y - layout.top) / layout.plotH;
  }
  function move(event) {
    if (!drag) return;
    state[drag.name] = setBar(state[drag.name], drag.k, valueAt(event));
    layout = draw(root, state);
  }
  function release() {
    if (!drag) return;
    drag = null;
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", release);
    setStateValue("bars", { p: state.p, q: state.q });
  }
  root.onpointerdown = (event) => {
    const target = event.target.closest ? event.target.closest(".hit") : null;
    if (!target) return;
    event.preventDefault();
    drag = { name: target.dataset.name, k: Number(target.dataset.k) };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", release);
    move(event);
  };
}
