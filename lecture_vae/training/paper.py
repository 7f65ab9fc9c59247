"""The paper-grade MNIST run: its evaluation protocol, its test-set curve and the shipped checkpoint.

Burda, Grosse & Salakhutdinov (2015, Table 1) score a one-stochastic-layer VAE trained on dynamically
binarized MNIST at log p(x) = -86.76 nats, estimated with k = 5000 importance samples (S6, S7). Here the
test images are binarized once, x = 1[u < grey level] with u ~ U(0, 1) drawn by a ``torch.Generator``
seeded with the run's seed (``data.load("mnist", "test", binarize="static", seed=0)``), so every
figure is reproducible; ``python -m lecture_vae evaluate RUN_DIR --k 5000`` scores that same set.

``TestCurve`` is the ``fit`` callback behind ``metrics.json["test_curve"]``: every few epochs the test
ELBO (all 10,000 images) and a cheap log p(x) estimate (k = 100 on the first 1,000 images) against
training minutes.

The package ships the trained model as package data, ``lecture_vae/training/checkpoints/mnist-paper.pt``
(float16 weights, 2.9 MB), with its figures in ``checkpoints/mnist-paper.json`` beside it, made by::

    python -m lecture_vae train --recipe mnist-paper --out runs/paper
    python -m lecture_vae evaluate runs/paper --k 5000                # float32 weights
    python -c "from lecture_vae.training import paper; paper.ship('runs/paper')"
    mkdir runs/paper16 && cp lecture_vae/training/checkpoints/mnist-paper.pt runs/paper16/checkpoint.pt
    python -m lecture_vae evaluate runs/paper16 --k 5000              # the shipped float16 weights
    # then paper.record(paper.CHECKPOINT, "runs/paper", evaluation=<runs/paper16/evaluation-k5000.json>,
    #                   evaluation_float32=<runs/paper/evaluation-k5000.json>)
"""

from __future__ import annotations

import importlib.resources
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..bounds import log_marginal_estimate
from ..model import VAE
from .checkpoint import History, PathLike, load_checkpoint, save_checkpoint
from .data import ImageData, load
from .trainer import evaluate

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

CURVE_K, CURVE_IMAGES = 100, 1000  # the curve's log p(x) estimate: k samples on the first N test images
SLICE_K, SLICE_IMAGES = 100, 500  # the shipped checkpoint's quick check (tests, notebook 09)
ESTIMATE_SEED = 0  # seeds the importance samples of every estimate here
CURVE_FILE = "test_curve.json"
# package data: found in a source tree and in an installed wheel alike
CHECKPOINT = importlib.resources.files("lecture_vae.training") / "checkpoints" / "mnist-paper.pt"

# Test log p(x) on binarized MNIST, nats (higher is better); k = importance samples of the estimate.
LITERATURE: list[tuple[str, float, str]] = [
    ("VAE, one stochastic layer (k=5000)", -86.76, "Burda, Grosse & Salakhutdinov 2015, Table 1"),
    ("IWAE k=50, one stochastic layer", -84.78, "Burda, Grosse & Salakhutdinov 2015, Table 1"),
    ("IWAE k=50, two stochastic layers", -82.90, "Burda, Grosse & Salakhutdinov 2015, Table 1"),
    ("NVAE (hierarchical, convolutional)", -78.01, "Vahdat & Kautz 2020, Table 2"),
]


@torch.no_grad()
def slice_estimate(model: VAE, x: Tensor, *, k: int = SLICE_K, seed: int = ESTIMATE_SEED) -> float:
    """Mean over rows of the k-sample estimate of log p(x) (nats), with a fixed generator: ``x (N, D)``."""
    g = torch.Generator(device=x.device).manual_seed(seed)
    return log_marginal_estimate(model, x, k, batch_size=100, generator=g).mean().item()


class TestCurve:
    """``fit`` callback: every ``every`` epochs (and after the last), the test ELBO and a k=100 log p(x) estimate.

    ``test`` is the fixed test set of the evaluation protocol (module docstring). Points go to
    ``self.points`` and, when ``path`` is given, to that JSON file after each point (so an interrupted
    run keeps them and a resumed run continues the same curve).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        test: ImageData | Tensor,
        *,
        every: int,
        epochs: int,
        seed: int = 0,
        path: PathLike | None = None,
        points: list[dict[str, Any]] | None = None,
    ) -> None:
        self.x = test.images if isinstance(test, ImageData) else test
        self.every, self.epochs, self.seed = every, epochs, seed
        self.path = Path(path) if path is not None else None
        self.points = list(points or [])
        self._t0 = time.perf_counter()
        self._wall0 = self.points[-1]["wall_minutes"] if self.points else 0.0

    def __call__(self, epoch: int, model: VAE, history: History) -> None:
        if epoch % self.every and epoch != self.epochs:
            return
        t0 = time.perf_counter()
        x = self.x.to(next(model.parameters()).device)
        m = evaluate(model, x, seed=self.seed)
        log_px = slice_estimate(model, x[:CURVE_IMAGES], k=CURVE_K)
        self.points.append(
            {
                "epoch": epoch,
                "train_minutes": sum(history.seconds) / 60,  # fit's epochs only (with their validation)
                "wall_minutes": self._wall0 + (time.perf_counter() - self._t0) / 60,  # with these evaluations
                "test_elbo": m.elbo,
                f"test_log_px_k{CURVE_K}_first{CURVE_IMAGES}": log_px,
                "eval_seconds": time.perf_counter() - t0,
            }
        )
        if self.path is not None:
            from .rundir import write_json

            write_json(self.path, {"every": self.every, "points": self.points})

    @classmethod
    def for_run(cls, config: dict[str, Any], test: ImageData, stage: Path, out: Path, start: int) -> TestCurve | None:
        """The curve of a ``train`` run: on when ``config["curve_every"]`` > 0 or the run being resumed has one.

        Earlier points come from the staging folder (an interrupted run) or ``out`` (a finished one),
        keeping those up to epoch ``start``. None when the run records no curve.
        """
        every, points = int(config.get("curve_every") or 0), []
        if start:
            for folder in (stage, out):
                if (folder / CURVE_FILE).is_file():
                    stored = json.loads((folder / CURVE_FILE).read_text())
                    every = every or stored["every"]
                    points = [p for p in stored["points"] if p["epoch"] <= start]
                    break
        if not every:
            return None
        return cls(
            test, every=every, epochs=config["epochs"], seed=config["seed"], path=stage / CURVE_FILE, points=points
        )


def protocol_test_set(seed: int = 0, *, root: PathLike | None = None, download: bool = False) -> ImageData:
    """The protocol's test set: MNIST's 10,000 test images binarized once with ``seed`` (module docstring)."""
    return load("mnist", "test", root=root, binarize="static", seed=seed, download=download)


def load_shipped(path: PathLike | Traversable = CHECKPOINT) -> tuple[VAE, dict[str, Any]]:
    """The shipped model (float32, eval mode) and its recorded figures (the JSON next to ``path``)."""
    if isinstance(path, str | os.PathLike):
        path = Path(path)
    if not path.name.endswith(".pt"):
        raise ValueError(f"path must name a .pt file beside its .json record, got {path}")
    record = path.parent / (path.name.removesuffix(".pt") + ".json")
    with importlib.resources.as_file(path) as real:  # a real file even where the package is zipped
        model = load_checkpoint(real).model.eval()
    return model, json.loads(record.read_text())


def ship(run_dir: PathLike, dest: PathLike = CHECKPOINT, *, dtype: torch.dtype = torch.float16) -> Path:
    """Write the trained model of ``run_dir`` to ``dest`` for the repository: weights in ``dtype``, no optimizer.

    ``load_checkpoint`` reads it as any checkpoint: ``load_state_dict`` copies the weights into the
    float32 model it rebuilds. History and training settings are kept.
    """
    ck = load_checkpoint(Path(run_dir) / "checkpoint.pt")
    small = VAE.from_config(ck.config).to(dtype)
    small.load_state_dict(ck.model.state_dict())
    return save_checkpoint(dest, small, epoch=ck.epoch, history=ck.history, fit_args=ck.fit_args)


def record(
    dest: PathLike,
    run_dir: PathLike,
    *,
    evaluation: dict[str, Any],
    evaluation_float32: dict[str, Any] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Write ``dest`` .json: the figures of the shipped checkpoint ``dest`` and how they were made.

    ``evaluation`` is the ``evaluation-k5000.json`` of ``evaluate --k 5000`` on the shipped weights;
    ``evaluation_float32`` the same for the float32 weights of ``run_dir`` (to show the rounding's effect);
    ``note`` free text on the conditions of the run (e.g. the machine's load).
    Returns the record.
    """
    from .rundir import environment, write_json

    dest, run_dir = Path(dest), Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = metrics["config"]
    model = load_checkpoint(dest).model.eval()
    x = protocol_test_set(config["seed"], download=False).images
    weights = next(iter(torch.load(dest, weights_only=True)["model_state"].values())).dtype
    out: dict[str, Any] = {
        "recipe": config.get("recipe"),
        "command": f"python -m lecture_vae train --recipe {config.get('recipe')} --out RUN_DIR",
        "test_set": f"MNIST test, {len(x)} images binarized once: lecture_vae.training.load('mnist', 'test', "
        f"binarize='static', seed={config['seed']})",
        "epochs": metrics["epochs"],
        "weights_dtype": str(weights).removeprefix("torch."),
        "test_log_px_k5000": evaluation["log_marginal"],
        "test_elbo": evaluation["elbo"],
        "k5000_images": evaluation["n_images"],
        "k5000_seed": 0,
        "k5000_seconds": evaluation["seconds"],
        f"test_log_px_k{SLICE_K}_first{SLICE_IMAGES}": slice_estimate(model, x[:SLICE_IMAGES]),
        "estimate_seed": ESTIMATE_SEED,
    }
    if evaluation_float32 is not None:
        out |= {"float32_test_log_px_k5000": evaluation_float32["log_marginal"]}
        out |= {"float32_test_elbo": evaluation_float32["elbo"]}
    out |= {
        "training_seconds": sum(metrics["history"]["seconds"]),
        "training_wall_clock_seconds": metrics["wall_clock_seconds"],
        "trained_on": {k: metrics[k] for k in ("cpu", "torch_threads", "torch_version", "finished_at")},
        "test_curve": metrics.get("test_curve", []),
        "recorded": environment(),
    }
    if note:
        out["note"] = note
    write_json(dest.with_suffix(".json"), out)
    return out
