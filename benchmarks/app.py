"""App benchmarks (they drive Streamlit, so they live outside gvae/, which never imports it).

    python -m benchmarks.app                 # all three
    python -m benchmarks.app editor          # latent editor: the rerun after a settled edit
    python -m benchmarks.app playground      # Gumbel playground: the rerun after a settled tau
    python -m benchmarks.app overhead        # Train page steps/s against a plain Trainer loop

Times are AppTest reruns on this machine's CPU: the server-side work of a rerun (script,
model, figures, serialization), without the browser's drawing. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.speed import cli_steps_per_s, percentile
from gvae.trainer import prepare_cpu

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def app_on(page: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)
    return at.run()


def component_data(at, key: str) -> dict:
    """The JSON data a st.components.v2 component mounted with `key` was given."""
    import json

    proto = next(e.proto for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}"))
    return json.loads(proto.json)


def with_component_state(at, key: str, name: str, value):
    """The widget states of the next run when a component's script has called
    setStateValue(name, value): AppTest has no API for st.components.v2 state yet, so this
    adds it to the states AppTest collects. Run them with at._run(states) (private API)."""
    import json

    from streamlit.proto.WidgetStates_pb2 import WidgetState

    proto = next(e.proto for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}"))
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=proto.id, json_value=json.dumps({name: value})))
    return states


def summarize(name: str, times_ms: list[float]) -> dict:
    row = {
        "benchmark": name,
        "n": len(times_ms),
        "median_ms": round(statistics.median(times_ms), 1),
        "p95_ms": round(percentile(times_ms, 95), 1),
    }
    print(f"| {row['benchmark']} | {row['n']} | {row['median_ms']} | {row['p95_ms']} |")
    return row


def timed_reruns(at, change, n: int, warmup: int = 3) -> list[float]:
    times = []
    for i in range(warmup + n):
        states = change(at, i)  # None: the widgets AppTest set; else component states
        start = time.perf_counter()
        at.run() if states is None else at._run(states)
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
        assert not at.exception, [e.value for e in at.exception]
    return times


def editor(n: int) -> dict:
    """The rerun after the page reports a settled edit (the page has drawn it already)."""
    rng = np.random.default_rng(0)
    at = app_on("pages/latent_editor.py")

    def change(at, i):
        data = component_data(at, "live_editor")
        code = list(data["code"])
        variable = int(rng.integers(20))
        code[variable] = (code[variable] + 1 + int(rng.integers(9))) % 10
        edit = {"seq": i + 1, "code": code, "start": data["start"], "b": data["b"]}
        return with_component_state(at, "live_editor", "edit", {**edit, "sample": False})

    return summarize(
        "latent editor: one category change (the rerun once it settles)",
        timed_reruns(at, change, n),
    )


def playground(n: int) -> dict:
    """The rerun after the page reports a settled tau (the page has drawn it already)."""
    at = app_on("pages/playground.py")
    taus = [float(f"{t:.3g}") for t in np.logspace(-2, 1, 31)]

    def change(at, i):
        probs = component_data(at, "live_playground")["probs"]
        edit = {"seq": i + 1, "tau": taus[(i * 7) % len(taus)], "probs": probs}
        return with_component_state(at, "live_playground", "edit", edit)

    return summarize(
        "playground: one tau change (the rerun once it settles)", timed_reruns(at, change, n)
    )


def overhead(seconds: float) -> dict:
    """Steps/s of the Train page's background job while the page redraws every second,
    against the same Trainer, with the page's own config, in a plain loop; alternating
    windows of one run so both see the same background load."""
    import gvae

    prepare_cpu()  # before the first Trainer, as gvae.train does
    images, _ = gvae.load_mnist("train", limit=10000)

    def app_rate() -> tuple[float, gvae.TrainConfig]:
        at = app_on("pages/train.py")
        at.select_slider(key="t_train_size").set_value(10000)
        at.number_input(key="t_epochs").set_value(1000)
        at.button(key="t_start").click().run()
        job = at.session_state["train_job"]
        time.sleep(1.0)  # past the first steps (allocations, first batch)
        start_step, start = job.step, time.perf_counter()
        while time.perf_counter() - start < seconds:  # the browser's 1 s fragment redraw
            time.sleep(1.0)
            at.run()
        rate = (job.step - start_step) / (time.perf_counter() - start)
        job.close()
        return rate, job.config

    cli, app = [], []
    for _ in range(2):  # alternate, so both see the same background load
        rate, config = app_rate()
        app.append(rate)
        # The page's recipe (e.g. its tau schedule) in a plain loop.
        cli.append(cli_steps_per_s(gvae.Trainer(config, images=images), seconds))
    cli_mean, app_mean = statistics.mean(cli), statistics.mean(app)
    print(f"| Train page steps/s | {app_mean:.1f} | CLI loop steps/s | {cli_mean:.1f} |")
    print(
        f"\napp / CLI throughput: {app_mean / cli_mean:.3f} (overhead {100 * (1 - app_mean / cli_mean):.1f}%)"
    )
    return {"app_steps_per_s": app_mean, "cli_steps_per_s": cli_mean}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.app", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "which",
        nargs="*",
        help="editor, playground and/or overhead (default: all three)",
    )
    p.add_argument("--reruns", type=int, default=40, help="timed reruns per page")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each overhead window")
    args = p.parse_args(argv)
    args.which = args.which or ["editor", "playground", "overhead"]
    unknown = set(args.which) - {"editor", "playground", "overhead"}
    if unknown:
        p.error(f"unknown benchmark(s) {sorted(unknown)}; choose editor, playground, overhead")
    os.environ.setdefault("GVAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    print(f"CPU, {os.cpu_count()} cores, AppTest reruns\n")
    if {"editor", "playground"} & set(args.which):
        print("| benchmark | n | median_ms | p95_ms |\n| --- | --- | --- | --- |")
    if "editor" in args.which:
        editor(args.reruns)
    if "playground" in args.which:
        playground(args.reruns)
    if "overhead" in args.which:
        print()
        overhead(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
