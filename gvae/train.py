"""Command line training: gvae-train --epochs 10 --out weights/my-model.safetensors

Every TrainConfig field is an option (generated from gvae.config). Ctrl-C stops after the
step in progress and saves the model and a resumable state (<out>.state); --resume
continues it exactly, with the run's own recipe unless a flag says otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import tempfile
from pathlib import Path

from gvae.config import TrainConfig, add_arguments, from_args, given
from gvae.errors import CheckpointError, GvaeError, NonFiniteLossError
from gvae.trainer import Trainer, prepare_cpu
from gvae.weights import SUFFIX, is_shipped


def state_path_for(out: Path) -> Path:
    """Where the resumable training state of a run saved to `out` goes."""
    return out.with_name(out.name + ".state")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gvae-train", description="Train a categorical VAE (Gumbel-Softmax) on MNIST."
    )
    p.add_argument("--out", type=Path, required=True, help=f"weights file to write ({SUFFIX})")
    p.add_argument(
        "--data-dir", default=None, help="MNIST root (default: $GVAE_DATA_DIR or ./data)"
    )
    p.add_argument("--resume", type=Path, default=None, help="a .state file written by a run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_arguments(p.add_argument_group("hyperparameters (gvae.config.TrainConfig)"))
    return p


def check_out(out: Path) -> None:
    """Refuse a destination we must not or cannot write, before any training."""
    if out.suffix != SUFFIX:
        raise ValueError(f"--out must end in {SUFFIX}, got {out.name!r}")
    if is_shipped(out):
        raise ValueError(
            f"{out.name} ships with gvae and is never overwritten; choose another name"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as error:
        raise ValueError(f"cannot write to {out.parent}: {error.strerror or error}") from None


@contextlib.contextmanager
def stop_on_ctrl_c(trainer: Trainer):
    """The first Ctrl-C asks the trainer to stop after the step in progress, so the saved
    state is that of whole steps and a resumed run repeats the uninterrupted one exactly;
    a second Ctrl-C aborts at once without saving."""

    def ask_to_stop(signum, frame):
        trainer.stop_event.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nstopping after this step (Ctrl-C again to abort without saving)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, ask_to_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def train_with_progress(trainer: Trainer, show: bool = True) -> None:
    from tqdm import tqdm

    with tqdm(
        total=trainer.total_steps,
        initial=trainer.step,
        disable=not show,
        unit="step",
        smoothing=0.05,
    ) as bar:
        for m in trainer.steps():
            bar.update(1)
            if m.step % 20 == 0 or trainer.done:
                bar.set_postfix(
                    loss=f"{m.loss:.2f}", tau=f"{m.tau:.3f}", it_s=f"{m.steps_per_s:.0f}"
                )


def make_trainer(args: argparse.Namespace) -> Trainer:
    if args.resume:
        # A resumed run keeps its recipe; a flag given now overrides that one value.
        return Trainer.load_state(args.resume, data_dir=args.data_dir, **given(args, TrainConfig))
    return Trainer(from_args(args, TrainConfig), data_dir=args.data_dir)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prepare_cpu()  # before the Trainer loads data
    try:
        check_out(args.out)
        trainer = make_trainer(args)
    except (ValueError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except GvaeError as error:  # MissingDataError and friends: a message, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1

    command = "gvae-train " + shlex.join(sys.argv[1:] if argv is None else argv)
    state_path = state_path_for(args.out)
    print(
        f"training on {trainer.device}, {len(trainer.images)} images, "
        f"{trainer.total_steps} steps ({trainer.steps_per_epoch} per epoch)",
        file=sys.stderr,
    )
    try:
        with stop_on_ctrl_c(trainer):
            train_with_progress(trainer, show=not args.no_progress)
    except NonFiniteLossError as error:
        trainer.save_state(state_path)
        print(f"\nstopped: {error} Last good state saved to {state_path}.", file=sys.stderr)
        return 1
    interrupted = not trainer.done
    trainer.save_model(args.out, card={"command": command, "interrupted": interrupted})
    trainer.save_state(state_path)
    if interrupted:
        print(
            f"interrupted at step {trainer.step}/{trainer.total_steps}: model saved to "
            f"{args.out}, resumable state to {state_path} (resume with: gvae-train --out "
            f"{shlex.quote(os.fspath(args.out))} --resume {shlex.quote(os.fspath(state_path))})",
            file=sys.stderr,
        )
        return 130
    print(
        f"done: {trainer.step} steps in {trainer.elapsed_s:.0f} s; model saved to {args.out} "
        f"(evaluate it with: gvae-evaluate {args.out})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
