"""Where a Trainer step's time goes: torch.profiler's self time of every op, by kind.

    python -m benchmarks.profile_step            # 300 profiled steps, batch 100

Kinds: matrix products (mm, addmm), Adam (the fused kernel and its step counters), the
random draws (uniform_: binarization and Gumbel noise), every other ATen op (elementwise
work, reductions, copies), Python-level functions the profiler records (Adam.step's loop,
the MLP's autograd.Function, the autograd engine), and the rest of the step's wall time
(Python between ops). The profiler adds its own overhead to every op; the unprofiled
step time and the floor are printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from torch.profiler import ProfilerActivity, profile

from benchmarks.machine import describe as machine
from benchmarks.speed import matmul_gflops, print_table, time_steps
from gvae.config import TrainConfig
from gvae.model import CategoricalVAE
from gvae.trainer import Trainer, prepare_cpu

KINDS = {
    "matrix products (mm, addmm)": ("aten::mm", "aten::addmm"),
    "Adam (fused kernel, step counters)": ("aten::_fused_adam_", "aten::_foreach_add_"),
    "random draws (uniform_)": ("aten::uniform_",),
}


def kind_of(name: str) -> str:
    for kind, names in KINDS.items():
        if name in names:
            return kind
    if name.startswith("aten::"):
        return "other ATen ops (elementwise, reductions, copies)"
    return "Python-level functions, autograd engine (self time)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    prepare_cpu()  # as gvae.train and the Train page's worker run
    trainer = Trainer(TrainConfig(epochs=1000), data_dir=args.data_dir)
    plain = statistics.median(time_steps(trainer.train_step, 30, args.steps))
    gflops = matmul_gflops()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        profiled = time_steps(trainer.train_step, 0, args.steps)
    per_step = {}
    for event in prof.key_averages():
        kind = kind_of(event.key)
        per_step[kind] = per_step.get(kind, 0.0) + event.self_cpu_time_total / 1e3 / args.steps
    wall = sum(profiled) / args.steps
    per_step["Python between ops (wall time not in any event)"] = wall - sum(per_step.values())
    params = sum(p.numel() for p in CategoricalVAE().parameters())
    floor = 6 * params * 100 / (gflops * 1e9) * 1e3
    rows = [
        {"kind": kind, "ms per step": f"{ms:.3f}", "share": f"{ms / wall:.0%}"}
        for kind, ms in sorted(per_step.items(), key=lambda item: -item[1])
    ]
    rows.append({"kind": "profiled step (mean)", "ms per step": f"{wall:.3f}", "share": "100%"})
    rows.append({"kind": "unprofiled step (median)", "ms per step": f"{plain:.3f}", "share": ""})
    rows.append(
        {
            "kind": f"arithmetic floor (6 x params x 100 at {gflops:.0f} GFLOP/s)",
            "ms per step": f"{floor:.3f}",
            "share": "",
        }
    )
    print_table(rows, f"{machine()}. {args.steps} steps of batch 100 under torch.profiler.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
