"""Helpers of ``fit``: input checks, optimizer choice, learning-rate schedules and the diagnosis of a
diverged run (which quantity went NaN/Inf, and what to try)."""

from __future__ import annotations

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
        return lambda epoch: float(schedule(epoch))
    raise ValueError(f"lr_schedule must be None, 'constant', 'cosine' or a function epoch -> factor, got {schedule!r}")


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


def diverged_message(
    epoch: int, step: int, steps: int, what: str, lr: float, checkpoint: PathLike | None, history: History
) -> str:
    if lr > 1e-2:
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
