"""Command line training: python -m gvae.train --epochs 10 --out weights/my-model.pt

Ctrl-C saves the model and a resumable state (<out>.state); --resume continues it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

from gvae.config import TrainConfig
from gvae.errors import CheckpointError, NonFiniteLossError
from gvae.trainer import Trainer


def state_path_for(out: Path) -> Path:
    """Where the resumable training state of a run saved to `out` goes."""
    return out.with_name(out.name + ".state")


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m gvae.train",
        description="Train a categorical VAE (Gumbel-Softmax) on MNIST.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    p.add_argument(
        "--data-dir", default=None, help="MNIST root (default: $GVAE_DATA_DIR or ./data)"
    )
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default=d.lr_schedule)
    p.add_argument("--lr-min", type=float, default=d.lr_min, help="final lr of the cosine schedule")
    p.add_argument("--tau0", type=float, default=d.tau0)
    p.add_argument("--tau-min", type=float, default=d.tau_min)
    p.add_argument("--anneal-rate", type=float, default=d.anneal_rate)
    p.add_argument("--anneal-every", type=int, default=d.anneal_every)
    p.add_argument("--estimator", choices=["gumbel", "st-gumbel", "reinmax"], default=d.estimator)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or mps")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--train-size", type=int, default=None, help="use the first n images")
    p.add_argument("--resume", type=Path, default=None, help="a .state file written by a run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        lr_min=args.lr_min,
        tau0=args.tau0,
        tau_min=args.tau_min,
        anneal_rate=args.anneal_rate,
        anneal_every=args.anneal_every,
        estimator=args.estimator,
        train_size=args.train_size,
        seed=args.seed,
        device=args.device,
    )


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Relaxed samples at a low tau hold values below 1e-38; x86 CPUs handle such
    # subnormal floats in microcode, far slower than normal ones. Zero is as good here.
    # Set before the Trainer loads data: torch's worker threads copy this setting when
    # they start, and a late call left them slow (9 instead of 5 ms a step from epoch 2).
    torch.set_flush_denormal(True)
    try:
        config = config_from_args(args)
        if args.resume:
            # A resumed run keeps its recipe; only how long it runs and where may change.
            trainer = Trainer.load_state(
                args.resume,
                data_dir=args.data_dir,
                epochs=config.epochs,
                max_steps=config.max_steps,
                device=config.device,
            )
        else:
            trainer = Trainer(config, data_dir=args.data_dir)
    except (ValueError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # MissingDataError and friends: a message, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1

    command = "python -m gvae.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    state_path = state_path_for(args.out)
    print(
        f"training on {trainer.device}, {len(trainer.images)} images, "
        f"{trainer.total_steps} steps ({trainer.steps_per_epoch} per epoch)",
        file=sys.stderr,
    )
    try:
        train_with_progress(trainer, show=not args.no_progress)
    except KeyboardInterrupt:
        trainer.save_model(args.out, card={"command": command, "interrupted": True})
        trainer.save_state(state_path)
        print(
            f"\ninterrupted at step {trainer.step}/{trainer.total_steps}: model saved to "
            f"{args.out}, resumable state to {state_path} (resume with --resume {state_path})",
            file=sys.stderr,
        )
        return 130
    except NonFiniteLossError as error:
        trainer.save_state(state_path)
        print(f"\nstopped: {error} Last good state saved to {state_path}.", file=sys.stderr)
        return 1
    trainer.save_model(args.out, card={"command": command})
    trainer.save_state(state_path)
    print(
        f"done: {trainer.step} steps in {trainer.elapsed_s:.0f} s; model saved to {args.out} "
        f"(evaluate it with: python -m gvae.evaluate {args.out})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
