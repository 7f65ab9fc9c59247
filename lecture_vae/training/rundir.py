"""The run directory of ``python -m lecture_vae train``: staged writes, JSON and the run's figures.

A run writes into a staging folder ``.NAME.partial`` next to ``RUN_DIR`` and moves its files into
``RUN_DIR`` only when everything succeeded, all or nothing (``Staging.commit``), so a failed run leaves
no partial output and never touches the files of an earlier good run. A run that fails or is
interrupted after its first epoch keeps the staging folder and its last checkpoint, which
``train --resume`` picks up. A lock file ``.NAME.lock`` keeps a second ``train`` of the same folder out.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from .._atomic import atomic_write, fsync_dir
from ..model import VAE
from .data import ImageData
from .recipes import DEFAULTS, recipe_config

OUTPUTS = ("checkpoint.pt", "metrics.json", "loss_curves.png", "reconstructions.png", "samples.png", "latent.png")
# outputs of an earlier run that a new checkpoint invalidates
STALE = ("evaluation.json", "latent.png", "test_curve.json")


class RunLocked(RuntimeError):
    """Another ``train`` holds the lock of this run folder."""


class Staging:
    """The staging folder of one run, its lock and the move into place.

    ``lock()`` takes ``.NAME.lock`` next to ``out`` (a second ``train --out NAME`` fails at once);
    ``commit()`` puts the staged run in place of ``out`` all or nothing; ``abort()`` removes the staging
    folder; ``release()`` drops the lock. A staging folder that holds a checkpoint is the user's work:
    ``train`` keeps it on every failure, for ``--resume``.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.parent / f".{out.name}.partial"
        self.backup = out.parent / f".{out.name}.replaced"  # the old run during the swap
        self.lock_path = out.parent / f".{out.name}.lock"
        self._made: list[Path] = []
        self._lock: Any = None

    def lock(self) -> None:
        """Make the missing parents of ``out`` (``abort`` removes them again) and take the run's lock."""
        from filelock import FileLock, Timeout

        if self.out.exists() and not self.out.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "it exists and is not a folder", str(self.out))
        self._made = [p for p in reversed(self.path.parents) if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.lock_path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunLocked(
                f"another train is writing {self.out} (it holds {self.lock_path}); wait for it to finish, "
                "or choose another --out"
            ) from None
        self._lock = lock
        try:
            self.recover()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._lock is not None:
            self.lock_path.unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def recover(self) -> None:
        """Finish or undo a ``commit`` that a killed process left halfway (``.NAME.replaced`` still exists).

        While the backup exists, every run file in ``out`` came from the staging folder: if that folder is
        still there, they go back to it and the old run's files return; otherwise the commit had finished.
        """
        if not self.backup.is_dir():
            return
        if self.path.is_dir():
            for entry in self.out.iterdir() if self.out.is_dir() else ():
                if is_run_file(entry.name) and not (self.path / entry.name).exists():
                    os.rename(entry, self.path / entry.name)
            self.out.mkdir(exist_ok=True)
            for entry in self.backup.iterdir():
                os.rename(entry, self.out / entry.name)
        shutil.rmtree(self.backup)

    def create(self, *, fresh: bool = True) -> Path:
        """Make the staging folder; ``fresh`` empties an existing one."""
        if fresh and self.path.is_dir():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    def commit(self) -> None:
        """Put the staged run in place of the run in ``out``, all or nothing.

        The old run's files (OUTPUTS, STALE, ``evaluation*.json``: a new checkpoint invalidates them all)
        are renamed aside into ``.NAME.replaced``, then the staged files are renamed into ``out``
        (``metrics.json`` last: it marks a complete run), and only then is the old run removed. If a
        rename fails, the moves are undone in reverse order: the old run is back as it was, the new one
        is back in the staging folder. Files no run writes (notes, say) are never touched.
        """
        if self.backup.exists():
            raise FileExistsError(errno.EEXIST, "a replacement left halfway is in the way", str(self.backup))
        self.out.mkdir(exist_ok=True)
        old = sorted(p.name for p in self.out.iterdir() if is_run_file(p.name))
        new = sorted((p.name for p in self.path.iterdir() if is_run_file(p.name)), key=lambda n: n == "metrics.json")
        self.backup.mkdir()
        moves = [(self.out / n, self.backup / n) for n in old] + [(self.path / n, self.out / n) for n in new]
        done: list[tuple[Path, Path]] = []
        try:
            for src, dst in moves:
                os.rename(src, dst)
                done.append((src, dst))
        except BaseException:
            for src, dst in reversed(done):
                os.rename(dst, src)
            self.backup.rmdir()
            raise
        fsync_dir(self.out)
        shutil.rmtree(self.path)  # what is left: temporary files of killed writers
        shutil.rmtree(self.backup)

    def abort(self) -> None:
        """Remove the staging folder, the lock and the parents ``lock`` made."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()
        for parent in reversed(self._made):
            try:
                parent.rmdir()
            except OSError:
                break


def is_run_file(name: str) -> bool:
    """A file ``train`` or ``evaluate`` writes (and a new checkpoint replaces or invalidates)."""
    return name in OUTPUTS or name in STALE or (name.startswith("evaluation") and name.endswith(".json"))


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically (temporary file in the same folder, then ``os.replace``)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def config_from_checkpoint(ck: Any) -> dict[str, Any]:
    """A run's ``train`` settings rebuilt from its ``Checkpoint`` (model config and ``fit_args``)."""
    config = recipe_config(None)
    config |= {k: ck.config[k] for k in ("z_dim", "hidden", "activation", "likelihood", "posterior")}
    config |= {k: v for k, v in ck.fit_args.items() if k in DEFAULTS and v is not None}
    config["binarize"] = ck.fit_args.get("binarize") or "none"
    config["recipe"] = ck.config.get("extra", {}).get("recipe")
    return config


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} logical CPUs)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} logical CPUs)"


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded next to every result."""
    from .. import __version__

    return {
        "torch_version": torch.__version__,
        "lecture_vae_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@torch.no_grad()
def write_figures(folder: Path, model: VAE, history: Any, test: ImageData, *, seed: int = 0) -> list[str]:
    """Save loss_curves.png, reconstructions.png, samples.png (and latent.png for a 2-D latent space).

    Returns the file names written. Uses matplotlib's Agg backend (no display needed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..figures import plots

    model.eval()
    device = next(model.parameters()).device
    shape = test.image_shape
    x = test.images[:10].to(device)
    figures = {
        "loss_curves.png": plots.loss_curves(history, terms=True, title=f"{test.name}"),
        "reconstructions.png": plots.image_grid(
            torch.cat([x, model.reconstruct(x)]).cpu(), shape, nrow=10, title="Test images (top), reconstructions"
        ),
        "samples.png": plots.image_grid(
            model.sample(50, generator=torch.Generator(device=device).manual_seed(seed)).cpu(),
            shape,
            nrow=10,
            title="Samples E[x|z], z ~ p(z)",
        ),
    }
    if model.z_dim == 2:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5))
        mu = model.encode(test.images[:2000].to(device)).mu.cpu()
        plots.latent_scatter(mu, test.labels[:2000], ax=ax1, title="Posterior means of test images")
        plots.manifold_grid(model, shape, n=15, ax=ax2, title="Decoded grid of z")
        fig.tight_layout()
        figures["latent.png"] = fig
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
    return list(figures)
