"""Helpers of ``fit``: input checks, optimizer choice, learning-rate schedules and the diagnosis of a
diverged run (which quantity went NaN/Inf, and what to try)."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import check_tensor, check_unit_interval, describe
from ..model import VAE
from .checkpoint import History, PathLike
from .data import ImageData

LRSchedule = str | Callable[[int], float] | None
MAX_SEED = 2**63 - 1  # torch seeds are 64-bit; the evaluation generator adds an offset to the seed


def check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {describe(seed)}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must lie in [0, 2**63 - 1], got {seed}")


def model_device(name: str, model: object) -> torch.device:
    """The device of the first parameter of ``model``; a clear error for a model without parameters."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a lecture_vae VAE (a torch.nn.Module), got {describe(model)}")
    p = next(model.parameters(), None)
    if p is None:
        raise ValueError(f"{name} has no parameters: there is nothing to train or evaluate (build it with VAE(...))")
    return p.device


def resolve_device(device: object, model: torch.nn.Module) -> torch.device:
    """``device`` checked to exist here (None: the model's own device)."""
    if device is None:
        return model_device("model", model)
    if not isinstance(device, str | torch.device):
        raise TypeError(f"device must be a str, a torch.device or None, got {describe(device)}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for, but torch.cuda.is_available() is False here")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {str(device)!r} was asked for, but no Apple MPS device is available here")
    return dev


def as_data(name: str, data: object, model: VAE, device: torch.device) -> tuple[Tensor, bool]:
    """``(x (N, D) on device in the model's dtype, dynamic binarization?)``, checked once up front."""
    if isinstance(data, ImageData):
        x, dynamic = data.images, data.binarize == "dynamic"
    elif isinstance(data, Tensor):
        x, dynamic = data, False
    else:
        raise TypeError(
            f"{name} must be an ImageData (from lecture_vae.training.load) or a tensor (N, D), got {describe(data)}"
        )
    check_tensor(name, x, min_dim=2, last=model.x_dim)
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D) with D = {model.x_dim}, got shape {tuple(x.shape)}")
    if model.config.likelihood == "bernoulli":
        check_unit_interval(name, x)
    return x.to(device=device, dtype=next(model.parameters()).dtype), dynamic


def adam_kwargs(device: torch.device) -> dict[str, bool]:
    """Fused Adam (one kernel for all parameters) where this torch supports it on ``device``, else foreach."""
    try:
        torch.optim.Adam([torch.zeros(1, device=device, requires_grad=True)], fused=True)
        return {"fused": True}
    except (RuntimeError, TypeError, ValueError):
        return {"foreach": True}


def total_norm(grads: list[Tensor]) -> Tensor:
    """The 2-norm of all gradients together (one foreach kernel where torch has ``get_total_norm``)."""
    if hasattr(torch.nn.utils, "get_total_norm"):  # torch >= 2.6
        return torch.nn.utils.get_total_norm(grads, foreach=True)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def lr_factor(schedule: LRSchedule, epochs: int) -> Callable[[int], float]:
    if schedule is None or schedule == "constant":
        return lambda epoch: 1.0
    if schedule == "cosine":
        return lambda epoch: 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    if callable(schedule):
        return functools.partial(_checked_factor, schedule)
    raise ValueError(f"lr_schedule must be None, 'constant', 'cosine' or a function epoch -> factor, got {schedule!r}")


def _checked_factor(schedule: Callable[[int], float], epoch: int) -> float:
    value = schedule(epoch)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"lr_schedule({epoch}) must return a finite factor >= 0 (it multiplies lr; a negative one would climb "
            f"the loss), got {value!r}"
        )
    return float(value)


def check_number(name: str, value: object, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {describe(value)}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value}")


def what_diverged(rec: float, kl: float, params: list[Tensor], model: VAE) -> str:
    if not math.isfinite(rec):
        return f"the loss is not finite (its reconstruction term E_q log p(x|z) is {rec})"
    if not math.isfinite(kl):
        return f"the loss is not finite (its KL term is {kl})"
    names = {id(p): n for n, p in model.named_parameters()}
    bad = [names[id(p)] for p in params if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    if bad:
        return f"the gradient is not finite (NaN/Inf in {', '.join(bad)})"
    largest = max(float(p.grad.abs().max()) for p in params if p.grad is not None)
    return f"the gradient norm is not finite (it overflows; the largest gradient entry is {largest:.3g})"


BETA_SUSPECT = 1e6  # a KL weight this large overflows the loss long before the learning rate matters


def diverged_message(
    epoch: int,
    step: int,
    steps: int,
    what: str,
    lr: float,
    checkpoint: PathLike | None,
    history: History,
    beta: float = 1.0,
) -> str:
    if beta > BETA_SUSPECT:
        cause = f"The KL weight beta={beta:g} is far too large (beta * KL overflows); the ELBO is beta=1."
    elif lr > 1e-2:
        cause = f"The learning rate {lr:g} is likely too high; try 1e-3."
    else:
        cause = (
            f"Likely causes: a learning rate too high for this model (lr={lr:g}; try {lr / 10:g}), or data that do "
            "not suit the likelihood (a Gaussian likelihood on unscaled pixels)."
        )
    if checkpoint is None:
        saved = "Pass checkpoint=<path> to keep the last good epoch on disk."
    elif len(history):
        saved = f"The last good state (epoch {history.epoch[-1]}) is in {checkpoint}; load it with load_checkpoint."
    else:
        saved = f"No epoch finished, so {checkpoint} holds no state of this run."
    return f"training diverged at epoch {epoch + 1}, step {step + 1}/{steps}: {what}. {cause} {saved}"


def warn_if_settings_differ(stored: dict[str, object], **given: object) -> None:
    """A resumed run continues exactly only with the settings it started with."""
    diffs = [f"{k}: checkpoint {stored[k]!r}, now {v!r}" for k, v in given.items() if k in stored and stored[k] != v]
    if diffs:
        warnings.warn("resuming with other settings than the checkpoint's run: " + "; ".join(diffs), stacklevel=3)
