"""Checkers for notebook 02 (S2, S3: the marginal likelihood and why it is hard to compute)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..tractable import LinearGaussian, grid_log_marginal, log_joint_fn
from ._core import ExerciseResult, check_function


def reference_naive_log_marginal(model: Any, x: Tensor, z: Tensor) -> Tensor:
    """log (1/K) sum_k p_theta(x|z_k) for prior draws ``z (K, B, L)``, ``x (B, D)`` -> ``(B,)`` (S2)."""
    return torch.logsumexp(model.log_likelihood(x, z), 0) - math.log(z.shape[0])


def _naive_cases() -> list[tuple[LinearGaussian, Tensor, Tensor]]:
    g = torch.Generator().manual_seed(201)
    cases = []
    for x_dim, z_dim, sigma, batch, k in [(3, 1, 1.0, 2, 5), (5, 2, 0.5, 3, 200), (8, 3, 0.05, 4, 50)]:
        model = LinearGaussian.random(x_dim, z_dim, sigma, generator=g)
        x = model.sample(batch, generator=g)  # sigma = 0.05: log p(x|z) is around -1e3, exp underflows
        cases.append((model, x, torch.randn(k, batch, z_dim, generator=g, dtype=torch.float64)))
    return cases


def check_naive_log_marginal(student_fn: Callable[[Any, Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(model, x (B, D), z (K, B, L)) -> (B,)``: the naive estimate log mean_k p(x|z_k), z_k ~ p(z)."""
    return check_function(
        "naive_log_marginal",
        student_fn,
        reference_naive_log_marginal,
        _naive_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"L={c[0].z_dim}, sigma={c[0].sigma:g}, K={c[2].shape[0]}",
    )


def reference_midpoint_log_marginal(log_joint: Callable[[Tensor], Tensor], lo: float, hi: float, n: int) -> Tensor:
    """log ∫_lo^hi p(x, z) dz by the midpoint rule with n cells, for a 1-D latent: ``(B,)``."""
    return grid_log_marginal(log_joint, [(lo, hi)], n)


def _midpoint_cases() -> list[tuple[Callable[[Tensor], Tensor], float, float, int]]:
    g = torch.Generator().manual_seed(202)
    cases = []
    for sigma, lo, hi, n in [(1.0, -6.0, 6.0, 7), (0.5, -5.0, 5.0, 40), (0.2, -8.0, 4.0, 300)]:
        model = LinearGaussian.random(4, 1, sigma, generator=g)
        cases.append((log_joint_fn(model, model.sample(3, generator=g)), lo, hi, n))
    return cases


def check_midpoint_log_marginal(
    student_fn: Callable[[Callable[[Tensor], Tensor], float, float, int], Tensor],
) -> ExerciseResult:
    """``student_fn(log_joint, lo, hi, n) -> (B,)``: log p(x) by the midpoint rule on n cells of [lo, hi] (S2)."""
    return check_function(
        "midpoint_log_marginal",
        student_fn,
        reference_midpoint_log_marginal,
        _midpoint_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"[{c[1]:g}, {c[2]:g}], n={c[3]}",
    )


__all__ = [
    "check_midpoint_log_marginal",
    "check_naive_log_marginal",
    "reference_midpoint_log_marginal",
    "reference_naive_log_marginal",
]
