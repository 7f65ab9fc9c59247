"""Command line: ``python -m lecture_vae train ...`` and ``python -m lecture_vae evaluate RUN_DIR``.

Also installed as the console script ``lecture-vae``. Exit status: 0 success, 1 an operational failure
(missing data, unwritable folder, bad checkpoint, diverged training, a run folder in use; one ``error:``
line on stderr), 2 bad arguments, 130 interrupted. ``LECTURE_VAE_DEBUG=1`` shows the full traceback instead.

Nothing a user made is lost: ``train`` works in ``.RUN_DIR.partial`` under the lock ``.RUN_DIR.lock``
(a second ``train`` of the same folder stops at once), keeps that folder with its last checkpoint on any
failure after the first epoch (``--resume`` continues it, or only finishes it when all epochs are done),
refuses to start over an interrupted or finished run without ``--overwrite``, and replaces an old run all
or nothing. ``evaluate`` prints its numbers first and keeps one file per setting,
``evaluation-k{K}[-first{N}][-seed{S}].json``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .. import __version__
from .data import OFFLINE_ENV
from .guards import MAX_SEED
from .recipes import DEFAULTS, RECIPES, recipe_config

# settings a resumed run cannot change: the architecture, then the data
FIXED = ("z_dim", "hidden", "activation", "likelihood", "posterior", "dataset", "binarize")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``PROG: error: REASON (see PROG --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class CLIError(Exception):
    """An operational failure reported as one ``error:`` line and exit status 1."""


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C during training, with a hint on how to resume."""


def _number(kind: type, low: float, strict: bool, high: int | None = None) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) or not (value > low if strict else value >= low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high} (2**63 - 1), got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


POS_INT, NONNEG_INT = _number(int, 0, True), _number(int, 0, False)
POS_FLOAT, NONNEG_FLOAT = _number(float, 0.0, True), _number(float, 0.0, False)
SEED = _number(int, 0, False, high=MAX_SEED)


def build_parser(prog: str = "lecture-vae") -> argparse.ArgumentParser:
    """The parser of both subcommands; settings left out are None (filled from the recipe and DEFAULTS)."""
    about = "Train and evaluate the lecture's variational autoencoder."
    parser = _Parser(prog=prog, description=about, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"lecture_vae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate}")
    about = "Train a VAE (maximize the ELBO, S6); write RUN_DIR/checkpoint.pt, metrics.json and figures."
    t = sub.add_parser("train", help="train a VAE and write a run folder", description=about, allow_abbrev=False)
    t.add_argument("--out", required=True, type=Path, metavar="RUN_DIR", help="run folder to write")
    t.add_argument("--recipe", choices=sorted(RECIPES), help="named defaults (lecture_vae/training/recipes.py)")
    t.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist"], help=f"default {DEFAULTS['dataset']}")
    t.add_argument("--epochs", type=POS_INT, help=f"total epochs (default {DEFAULTS['epochs']})")
    t.add_argument("--z-dim", type=POS_INT, help=f"latent dimension L (default {DEFAULTS['z_dim']})")
    t.add_argument("--hidden", type=POS_INT, nargs="+", metavar="W", help="hidden widths, e.g. --hidden 400 400")
    t.add_argument("--activation", choices=["relu", "tanh", "elu", "softplus"])
    t.add_argument("--likelihood", choices=["bernoulli", "gaussian"], help="decoder p(x|z)")
    t.add_argument("--posterior", choices=["diagonal", "full"], help="encoder q(z|x) covariance")
    t.add_argument(
        "--batch-size", type=POS_INT, metavar="N", help=f"images per step (default {DEFAULTS['batch_size']})"
    )
    t.add_argument("--lr", type=POS_FLOAT, help=f"Adam learning rate (default {DEFAULTS['lr']:g})")
    t.add_argument("--beta", type=NONNEG_FLOAT, help="KL weight (1 = the ELBO)")
    t.add_argument("--kl-warmup", type=NONNEG_INT, metavar="EPOCHS", help="ramp the KL weight from 0 over EPOCHS")
    t.add_argument("--lr-schedule", choices=["constant", "cosine"], help="cosine: decay the learning rate to 0")
    t.add_argument("--curve-every", type=NONNEG_INT, metavar="N", help="score the test set every N epochs (0: off)")
    t.add_argument("--binarize", choices=["none", "static", "dynamic"], help="Bernoulli-sample the pixels")
    t.add_argument("--seed", type=SEED, help="seeds weights, shuffling and noise (default 0)")
    t.add_argument("--resume", action="store_true", help="continue RUN_DIR's checkpoint up to --epochs")
    t.add_argument("--overwrite", action="store_true", help="replace an existing run in RUN_DIR")
    _common(t)
    about = (
        "Print the test ELBO and the importance-sampled log p(x) (nats) of RUN_DIR/checkpoint.pt; "
        "save them as RUN_DIR/evaluation-k{K}[-first{N}][-seed{S}].json (one file per setting)."
    )
    e = sub.add_parser("evaluate", help="test ELBO and log p(x) of a run", description=about, allow_abbrev=False)
    e.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    e.add_argument("--k", type=POS_INT, default=1000, help="importance samples per image (default 1000)")
    e.add_argument("--batch-size", type=POS_INT, default=100, metavar="N", help="images per batch (default 100)")
    e.add_argument("--limit", type=POS_INT, metavar="N", help="use only the first N test images")
    e.add_argument("--seed", type=SEED, default=0, help="seeds the importance samples (default 0)")
    _common(e)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto", help="default: auto")
    p.add_argument("--data-root", type=Path, metavar="PATH", help="folder holding MNIST/raw/ (or $LECTURE_VAE_DATA)")
    p.add_argument("--no-download", action="store_true", help=f"never download data (also: {OFFLINE_ENV}=1)")
    p.add_argument("--threads", type=POS_INT, metavar="N", help="CPU threads for torch (default: torch's choice)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    prog = "python -m lecture_vae" if Path(sys.argv[0]).name == "__main__.py" else "lecture-vae"
    try:
        args = build_parser(prog).parse_args(argv)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        return _train(args) if args.command == "train" else _evaluate(args)
    except KeyboardInterrupt as err:
        print(f"error: {str(err) or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as err:  # operational failures: one line, no traceback
        if os.environ.get("LECTURE_VAE_DEBUG"):
            raise
        if not isinstance(err, CLIError | OSError | ValueError | RuntimeError):
            raise
        text = " ".join(str(err).split()) or type(err).__name__
        print(f"error: {text}", file=sys.stderr)
        return 1


def _load(name: str, split: str, args: argparse.Namespace, binarize: str | None = None, seed: int = 0) -> Any:
    from .data import load

    download = not (args.no_download or os.environ.get(OFFLINE_ENV, "") not in ("", "0"))
    return load(name, split, root=args.data_root, binarize=binarize, seed=seed, download=download)


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _config(args: argparse.Namespace, resumed: dict[str, Any] | None) -> dict[str, Any]:
    """DEFAULTS < recipe (or the resumed run's settings) < explicit flags."""
    config = dict(resumed) if resumed else recipe_config(args.recipe) | {"recipe": args.recipe}
    if resumed and args.recipe is not None and args.recipe != resumed.get("recipe"):
        _warn(f"--recipe {args.recipe} is ignored with --resume: the run keeps its own settings")
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None and resumed and value != resumed[key]:
            flag = f"--{key.replace('_', '-')}"
            if key in FIXED:
                raise CLIError(f"{flag} {value} differs from the run being resumed ({resumed[key]})")
            if key != "epochs":
                _warn(
                    f"{flag} {value} differs from the run being resumed ({resumed[key]}); the remaining epochs "
                    f"use {value}, so the run no longer matches one trained straight through"
                )
        config[key] = config[key] if value is None else value
    return config


def _train(args: argparse.Namespace) -> int:
    from .rundir import Staging

    out: Path = args.out
    stage = Staging(out)
    try:
        stage.lock()
    except OSError as err:
        where = f" ({err.filename})" if err.filename and Path(err.filename) != out else ""
        raise CLIError(f"cannot write the run folder --out {out}: {err.strerror or err}{where}") from None
    try:
        return _train_locked(args, stage)
    except KeyboardInterrupt:
        if _worth_keeping(stage):
            raise _Interrupted(f"interrupted; the run so far is kept: continue it with --out {out} --resume") from None
        stage.abort()
        raise
    except BaseException as err:
        if not _worth_keeping(stage):
            staged = str(stage.checkpoint())
            stage.abort()  # nothing of the run to keep
            if isinstance(err, CLIError | OSError | ValueError | RuntimeError) and staged in str(err):
                # the staged file was a copy of RUN_DIR's own checkpoint: name the one that is still there
                text = " ".join(str(err).split()).replace(staged, str(out / "checkpoint.pt"))
                raise CLIError(text) from err
            raise
        if isinstance(err, CLIError):
            raise
        if not isinstance(err, OSError | ValueError | RuntimeError):
            raise
        text = " ".join(str(err).split()) or type(err).__name__
        raise CLIError(f"{text} The run so far is kept in {stage.path}: continue it with --out {out} --resume") from err
    finally:
        stage.release()


def _worth_keeping(stage: Any) -> bool:
    """The staging folder holds a checkpoint, other than an unchanged copy of RUN_DIR's own."""
    import filecmp

    staged, own = stage.checkpoint(), stage.out / "checkpoint.pt"
    return staged.is_file() and not (own.is_file() and filecmp.cmp(staged, own, shallow=False))


def _train_locked(args: argparse.Namespace, stage: Any) -> int:
    import warnings

    import torch

    from ..model import VAE
    from ..utils import pick_device
    from .checkpoint import load_checkpoint
    from .paper import TestCurve
    from .rundir import config_from_checkpoint, environment, write_figures, write_json
    from .trainer import evaluate, fit

    out: Path = args.out
    staged = stage.checkpoint().is_file()  # an interrupted run: its checkpoint is newer than RUN_DIR's own
    finished = (out / "checkpoint.pt").is_file()
    if args.resume and not (staged or finished):
        raise CLIError(f"--resume: no checkpoint to resume in {out}")
    if not args.resume and not args.overwrite:
        if staged:
            epochs = load_checkpoint(stage.checkpoint()).epoch
            raise CLIError(
                f"{out} has an interrupted run ({epochs} epochs in {stage.path}); pass --resume to continue it "
                "or --overwrite to discard it"
            )
        if finished:
            raise CLIError(f"{out} already holds a run; pass --resume to continue it or --overwrite to replace it")
    resume_from = stage.checkpoint() if staged else out / "checkpoint.pt"
    ck = load_checkpoint(resume_from) if args.resume else None
    config = _config(args, config_from_checkpoint(ck) if ck is not None else None)
    start = ck.epoch if ck is not None else 0
    if staged and start > config["epochs"]:
        raise CLIError(
            f"the interrupted run already has {start} epochs, more than --epochs {config['epochs']}; pass "
            f"--epochs {start} to finish it, or more to continue it"
        )
    if start >= config["epochs"] and not staged:
        raise CLIError(f"the run already has {start} epochs; pass --epochs > {start} to continue it")
    device = pick_device(args.device)
    binarize = None if config["binarize"] == "none" else config["binarize"]
    # dynamic binarization trains on fresh draws; the test set is one fixed draw, the same `evaluate` scores
    test_binarize = "static" if binarize == "dynamic" else binarize
    data = {
        s: _load(config["dataset"], s, args, test_binarize if s == "test" else binarize, config["seed"])
        for s in ("train", "val", "test")
    }
    try:
        stage.create(fresh=not (args.resume and staged))
    except OSError as err:
        where = f" ({err.filename})" if err.filename and Path(err.filename) != out else ""
        raise CLIError(f"cannot write the run folder --out {out}: {err.strerror or err}{where}") from None
    if args.resume and not staged:
        shutil.copy2(resume_from, stage.checkpoint())  # RUN_DIR's own checkpoint stays untouched until commit
    torch.manual_seed(config["seed"])
    extra = {"dataset": config["dataset"], "image_shape": list(data["train"].image_shape)}
    arch = {k: config[k] for k in FIXED[:5]}
    model = VAE(data["train"].x_dim, arch.pop("z_dim"), arch.pop("hidden"), **arch, **extra, recipe=config["recipe"])
    t0 = time.perf_counter()
    fit_args = {k: config[k] for k in ("epochs", "batch_size", "lr", "beta", "kl_warmup", "seed", "lr_schedule")}
    curve = TestCurve.for_run(config, data["test"], stage.path, out, start)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "resuming with other settings", UserWarning)  # _config told the user
        history = fit(
            model, data["train"], data["val"], **fit_args, checkpoint=stage.checkpoint(), resume=args.resume,
            progress=sys.stderr.isatty(), device=device, callback=curve,
        )  # fmt: skip
    if curve is not None and start == config["epochs"] and not any(p["epoch"] == start for p in curve.points):
        curve(start, model, history)  # interrupted between the last checkpoint and its curve point
    wall = time.perf_counter() - t0
    test = evaluate(model, data["test"], seed=config["seed"])
    figures = write_figures(stage.path, model, history, data["test"], seed=config["seed"])
    final = {"train_elbo": history.train_elbo[-1], "val_elbo": history.val_elbo[-1], "test_elbo": test.elbo}
    final |= {"test_reconstruction": test.reconstruction, "test_kl": test.kl}
    metrics = {"config": config, "model": model.config_dict(), "epochs": len(history), "resumed_from_epoch": start}
    metrics |= {"history": history.to_dict(), "final": final, "n_images": {s: len(d) for s, d in data.items()}}
    if curve is not None:
        metrics["test_curve"] = curve.points
    metrics |= {"wall_clock_seconds": wall, "device": str(device), **environment()}
    write_json(stage.path / "metrics.json", metrics)
    stage.commit()
    if start == len(history):
        print(f"finished the interrupted run of {start} epochs (no training needed); test ELBO {test.elbo:.2f} nats")
    else:
        done = f"trained epochs {start + 1}..{len(history)} on {device} in {wall:.1f} s"
        print(f"{done}; test ELBO {test.elbo:.2f} nats")
    print(f"wrote {out}{os.sep}: checkpoint.pt, metrics.json, {', '.join(figures)}")
    return 0


def evaluation_name(k: int, limit: int | None, seed: int) -> str:
    """One result file per setting, so a quick check never replaces a long evaluation: evaluation-k1000.json."""
    return f"evaluation-k{k}" + (f"-first{limit}" if limit else "") + (f"-seed{seed}" if seed else "") + ".json"


def _evaluate(args: argparse.Namespace) -> int:
    import torch

    from ..bounds import log_marginal_estimate
    from ..utils import pick_device
    from .checkpoint import load_checkpoint
    from .rundir import Staging, config_from_checkpoint, environment, write_json
    from .trainer import evaluate

    device = pick_device(args.device)
    stage = Staging(args.run_dir)
    if not (args.run_dir / "checkpoint.pt").exists() and stage.checkpoint().is_file():
        raise CLIError(
            f"{args.run_dir} holds no finished run, but an interrupted one is kept in {stage.path}: finish it with "
            f"train --out {args.run_dir} --resume"
        )
    ck = load_checkpoint(args.run_dir / "checkpoint.pt", map_location=device)
    config = config_from_checkpoint(ck)
    # a dynamically binarized run is scored on one fixed Bernoulli draw, so ELBO and log p(x) see the same x
    binarize = None if config["binarize"] == "none" else "static"
    test = _load(config["dataset"], "test", args, binarize, config["seed"])
    x = test.images[: args.limit].to(device)
    model = ck.model.eval()
    t0 = time.perf_counter()
    m = evaluate(model, x, seed=args.seed)
    g = torch.Generator(device=device).manual_seed(args.seed)
    log_px = log_marginal_estimate(model, x, args.k, batch_size=args.batch_size, generator=g).mean().item()
    seconds = time.perf_counter() - t0
    result = {"dataset": config["dataset"], "split": "test", "n_images": x.shape[0], "k": args.k, "epochs": ck.epoch}
    result |= {"limit": args.limit, "seed": args.seed}
    result |= {"elbo": m.elbo, "reconstruction": m.reconstruction, "kl": m.kl, "log_marginal": log_px}
    result |= {"gap": log_px - m.elbo, "seconds": seconds, "device": str(device), **environment()}
    print(f"{config['dataset']} test set: {x.shape[0]} images, model after {ck.epoch} epochs, on {device}")
    if binarize == "static":
        print(f"  binarized once: data.load({config['dataset']!r}, 'test', binarize='static', seed={config['seed']})")
    print(f"  ELBO                    {m.elbo:10.2f} nats (reconstruction {m.reconstruction:.2f}, KL {m.kl:.2f})")
    print(f"  log p(x), IWAE k={args.k:<6} {log_px:10.2f} nats")
    print(f"  log p(x) - ELBO         {log_px - m.elbo:10.2f} nats")
    print(f"  time                    {seconds:10.1f} s", flush=True)
    path = args.run_dir / evaluation_name(args.k, args.limit, args.seed)
    try:
        write_json(path, result)
    except OSError as err:
        raise CLIError(
            f"the numbers above are complete, but {path} could not be written: {err.strerror or err}"
        ) from None
    print(f"wrote {path}")
    return 0
