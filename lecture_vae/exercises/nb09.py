"""Checkers for notebook 09 (a paper-grade MNIST VAE): bits per dimension and the standard error of a test mean."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ._core import ExerciseResult, check_function


def reference_bits_per_dim(log_px: Tensor, x_dim: int) -> Tensor:
    """-log p(x) / (D log 2), nats per image -> bits per pixel, for ``log_px (N,)``."""
    return -log_px / (x_dim * math.log(2.0))


def _log_px_cases() -> list[tuple[Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.tensor([-86.76, -84.78, -78.01]), 784),  # the literature's MNIST figures
        (-90.0 + 5.0 * torch.randn(6, generator=g, dtype=torch.float64), 784),
        (torch.tensor([-30.0, -12.5]), 64),  # 8x8 digits
        (torch.tensor([-2.0 * math.log(2.0)]), 2),  # two fair coins: exactly 1 bit per dimension
    ]


def check_bits_per_dim(student_fn: Callable[[Tensor, int], Tensor]) -> ExerciseResult:
    """``student_fn(log_px (N,), x_dim)`` -> ``(N,)``: bits per dimension of each log-likelihood in nats."""
    return check_function(
        "bits_per_dim",
        student_fn,
        reference_bits_per_dim,
        _log_px_cases(),
        atol=1e-6,
        rtol=1e-6,
        describe=lambda c: f"log_px of shape {tuple(c[0].shape)} around {float(c[0].mean()):.3g} nats, x_dim={c[1]}",
    )


def reference_standard_error(values: Tensor) -> Tensor:
    """The standard error of the mean of ``values (N,)``, std (divisor N - 1) / sqrt(N)."""
    return values.std() / math.sqrt(values.numel())


def _sample_cases() -> list[tuple[Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [
        (-86.0 + 25.0 * torch.randn(1000, generator=g, dtype=torch.float64),),  # per-image log p(x): sd ~25 nats
        (torch.tensor([1.0, 2.0, 3.0, 4.0]),),
        (torch.randn(50, generator=g) * 0.1 + 3.0,),
    ]


def check_standard_error(student_fn: Callable[[Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(values (N,))`` -> scalar: the standard error of ``values.mean()``."""
    return check_function(
        "standard_error",
        student_fn,
        reference_standard_error,
        _sample_cases(),
        atol=1e-6,
        rtol=1e-5,
        describe=lambda c: f"{c[0].numel()} values with mean {float(c[0].mean()):.3g}",
    )


__all__ = ["check_bits_per_dim", "check_standard_error", "reference_bits_per_dim", "reference_standard_error"]
