"""What a training run leaves behind: its ``History`` and crash-safe checkpoints.

A checkpoint is a dict of plain Python types and tensors (no pickled classes), so
``torch.load(weights_only=True)`` reads it without running code from the file:

====================  ==========================================================
``format``            ``"lecture_vae.checkpoint"`` and ``version`` (an int)
``config``            ``model.config_dict()``, enough to rebuild the VAE
``model_state``       ``model.state_dict()``
``optimizer_state``   the optimizer's ``state_dict()`` (or None)
``epoch``             epochs completed
``history``           ``History.to_dict()``
``generator_state``   the training ``torch.Generator``'s state (or None)
``fit_args``          the hyperparameters of the run (plain types)
====================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._atomic import atomic_write
from ..model import VAE

FORMAT, VERSION = "lecture_vae.checkpoint", 1
PathLike = str | os.PathLike[str]


@dataclass
class History:
    """Per-epoch metrics of ``fit``; every list has one entry per epoch (val lists stay empty without val data).

    ELBO terms are means over examples of the per-example bound in nats (sum over pixels), S6-S7;
    ``train_*`` average the batches of the epoch, ``val_*`` evaluate the model at the epoch's end.
    """

    epoch: list[int] = field(default_factory=list)  # 1, 2, ... (epochs completed)
    train_elbo: list[float] = field(default_factory=list)  # reconstruction - kl (the bound, whatever beta)
    train_reconstruction: list[float] = field(default_factory=list)  # E_q log p(x|z)
    train_kl: list[float] = field(default_factory=list)  # KL(q(z|x) || p(z))
    val_elbo: list[float] = field(default_factory=list)
    val_reconstruction: list[float] = field(default_factory=list)
    val_kl: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall-clock time of the epoch (training + validation)
    beta: list[float] = field(default_factory=list)  # KL weight at the end of the epoch
    lr: list[float] = field(default_factory=list)  # learning rate used in the epoch

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, list[Any]]:
        """Plain lists, e.g. for JSON or a checkpoint."""
        return {f.name: list(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"History.from_dict got unknown key(s) {unknown}; allowed keys are {sorted(names)}")
        return cls(**{k: list(v) for k, v in d.items()})

    def append(self, **values: float) -> None:
        """Append one epoch's values (keys are field names)."""
        for k, v in values.items():
            getattr(self, k).append(v)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model and everything needed to resume training exactly."""

    model: VAE  # rebuilt from ``config`` with the stored weights (or the model given to load_checkpoint)
    optimizer_state: dict[str, Any] | None
    epoch: int  # epochs completed
    history: History
    generator_state: Tensor | None  # torch.Generator.get_state() of the training generator
    config: dict[str, Any]  # model.config_dict()
    fit_args: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def save_checkpoint(
    path: PathLike,
    model: VAE,
    *,
    optimizer_state: dict[str, Any] | None = None,
    epoch: int = 0,
    history: History | None = None,
    generator_state: Tensor | None = None,
    fit_args: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically: a reader sees the old file or the new one, never a partial one.

    The data goes to a temporary file in the same folder, is flushed and fsync'ed, and then
    ``os.replace`` swaps it in (atomic on POSIX and Windows). Returns the path.
    """
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config_dict(),
        "model_state": model.state_dict(),
        "optimizer_state": optimizer_state,
        "epoch": int(epoch),
        "history": (history or History()).to_dict(),
        "generator_state": generator_state,
        "fit_args": dict(fit_args or {}),
    }
    _check_plain(payload, "checkpoint")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(path)
    with atomic_write(path) as f:
        torch.save(payload, f)
    return path


def load_checkpoint(
    path: PathLike, *, model: VAE | None = None, map_location: str | torch.device = "cpu"
) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (or ``fit``) without running code from the file.

    With ``model`` given, its config must equal the stored one (else a ValueError names each
    differing field) and the weights are loaded into it; otherwise a VAE is rebuilt from the config.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        d = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only" not in str(err).lower():  # not a refusal: plain garbage
            raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupt file?): {err}") from None
        # weights_only refused a class or function: never run it
        found = re.search(r"GLOBAL ([\w.]+)", _ANSI.sub("", str(err)))
        what = f" ({found.group(1)})" if found else ""
        raise ValueError(
            f"{path} is not a plain lecture_vae checkpoint: it contains pickled Python objects{what} that would "
            "run code when loaded, so it was refused (only tensors and plain types are allowed)"
        ) from None
    except Exception as err:  # torch raises RuntimeError, EOFError, IndexError, ... on garbage
        raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupt file?): {err}") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a lecture_vae checkpoint (no 'format': {FORMAT!r} entry); a bare state_dict "
            "loads with model.load_state_dict(torch.load(path, weights_only=True))"
        )
    _check_entries(path, d)
    config = d["config"]
    try:
        rebuilt = VAE.from_config(config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"checkpoint {path} has a config that does not describe a VAE: {err}") from None
    if model is None:
        model = rebuilt
        model.to(map_location)
    else:
        _check_config(path, rebuilt.config_dict(), model.config_dict())
    bad = [k for k, v in d["model_state"].items() if isinstance(v, Tensor) and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(
            f"checkpoint {path} holds NaN/Inf weights ({', '.join(bad)}): it was saved from a run that had diverged; "
            "use an earlier checkpoint, or train again with a lower learning rate"
        )
    try:
        model.load_state_dict(d["model_state"])
    except (RuntimeError, KeyError, TypeError) as err:
        text = " ".join(str(err).split())
        raise ValueError(f"checkpoint {path} has weights that do not fit its config: {text}") from None
    try:
        history = History.from_dict(d["history"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"checkpoint {path} has a malformed history: {err}") from None
    return Checkpoint(
        model=model,
        optimizer_state=d["optimizer_state"],
        epoch=d["epoch"],
        history=history,
        generator_state=None if d["generator_state"] is None else d["generator_state"].cpu(),  # set_state wants CPU
        config=config,
        fit_args=d.get("fit_args", {}),
        path=path,
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# entry -> (the types it may have, what it should be)
_ENTRIES: dict[str, tuple[tuple[type, ...], str]] = {
    "config": ((dict,), "a dict (model.config_dict())"),
    "model_state": ((dict,), "a dict of tensors (model.state_dict())"),
    "optimizer_state": ((dict, type(None)), "a dict (optimizer.state_dict()) or None"),
    "epoch": ((int,), "an int >= 0"),
    "history": ((dict,), "a dict of lists (History.to_dict())"),
    "generator_state": ((Tensor, type(None)), "a tensor (torch.Generator.get_state()) or None"),
}


def _check_entries(path: Path, d: dict[str, Any]) -> None:
    """One clear error for a checkpoint file whose entries are missing or of the wrong kind."""
    version = d.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"checkpoint {path} is damaged: its 'version' must be an int, got {version!r}")
    if version > VERSION:
        raise ValueError(f"{path} has checkpoint version {version}; this lecture_vae reads up to {VERSION}")
    missing = [k for k in _ENTRIES if k not in d]
    if missing:
        raise ValueError(
            f"checkpoint {path} is damaged: it lacks {', '.join(map(repr, missing))} (a checkpoint written by "
            "save_checkpoint or fit has all of config, model_state, optimizer_state, epoch, history, generator_state)"
        )
    for key, (types, expected) in _ENTRIES.items():
        value = d[key]
        if isinstance(value, bool) or not isinstance(value, types) or (key == "epoch" and value < 0):
            raise ValueError(
                f"checkpoint {path} is damaged: its {key!r} must be {expected}, got {type(value).__name__}"
            )
    if not isinstance(d.get("fit_args", {}), dict):
        raise ValueError(f"checkpoint {path} is damaged: its 'fit_args' must be a dict")


def _check_config(path: Path, stored: dict[str, Any], given: dict[str, Any]) -> None:
    diffs = [
        f"{k}: checkpoint {stored.get(k)!r}, model {given.get(k)!r}"
        for k in sorted(set(stored) | set(given))
        if stored.get(k) != given.get(k)
    ]
    if diffs:
        raise ValueError(f"checkpoint {path} does not match the given model: " + "; ".join(diffs))


_PLAIN = (str, int, float, bool, type(None))


def _check_plain(obj: object, where: str) -> None:
    """Refuse at save time what ``weights_only`` loading would refuse later (say, a NumPy scalar in a config)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, f"{where} key {k!r}")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not (type(obj) in _PLAIN or isinstance(obj, Tensor)):  # exact types: np.float64 subclasses float
        raise TypeError(
            f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}; a checkpoint holds only tensors and "
            "plain Python types (str, int, float, bool, None, lists, tuples, dicts): convert it, e.g. with float()"
        )


def _remove_stale_temp_files(path: Path) -> None:
    """Delete temp files of this checkpoint left by writers that were killed (POSIX: their pid is gone)."""
    if os.name != "posix":
        return
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
