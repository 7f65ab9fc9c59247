"""Checkers for notebook 03 (S4: Bayes' rule and the posterior p_theta(z|x))."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..distributions import standard_normal_log_prob
from ..toys import Moments, NonlinearGaussian, moment_match
from ..tractable import LinearGaussian, grid_posterior, log_joint_fn
from ._core import ExerciseResult, check_function


def reference_bayes_log_marginal(model: Any, x: Tensor, z: Tensor) -> Tensor:
    """log p(x|z) + log p(z) - log p(z|x) at every ``z (K, B, L)``, ``x (B, D)`` -> ``(K, B)`` (S4)."""
    return model.log_likelihood(x, z) + standard_normal_log_prob(z) - model.log_posterior(z, x)


def _bayes_cases() -> list[tuple[LinearGaussian, Tensor, Tensor]]:
    g = torch.Generator().manual_seed(301)
    cases = []
    for x_dim, z_dim, sigma, batch, k in [(2, 1, 1.0, 2, 4), (6, 3, 0.3, 3, 10), (4, 2, 2.0, 1, 7)]:
        model = LinearGaussian.random(x_dim, z_dim, sigma, generator=g)
        z = 2 * torch.randn(k, batch, z_dim, generator=g, dtype=torch.float64)
        cases.append((model, model.sample(batch, generator=g), z))
    return cases


def check_bayes_log_marginal(student_fn: Callable[[Any, Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(model, x (B, D), z (K, B, L)) -> (K, B)``: log p(x) by Bayes' rule evaluated at each z (S4)."""
    return check_function(
        "bayes_log_marginal",
        student_fn,
        reference_bayes_log_marginal,
        _bayes_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"L={c[0].z_dim}, sigma={c[0].sigma:g}, K={c[2].shape[0]}",
    )


def reference_moment_match(z: Tensor, log_prob: Tensor) -> Moments:
    """``(mean (L,), cov (L, L))`` of the density known on the grid ``z (N, L)`` up to a constant (S4)."""
    return moment_match(z, log_prob)


def _moment_cases() -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(302)
    linear = LinearGaussian.random(3, 2, 0.7, generator=g)
    square = NonlinearGaussian.square(0.3)
    x = torch.tensor([[0.5, 1.2]], dtype=torch.float64)
    cases = []
    for model, xx, lims, n in [
        (linear, linear.sample(1, generator=g), [(-5.0, 5.0), (-5.0, 5.0)], 40),
        (square, x, [(-3.0, 3.0), (-3.0, 3.0)], 50),
        (square, x, [(-3.0, 3.0), (-2.0, 2.0)], 30),
    ]:
        post = grid_posterior(log_joint_fn(model, xx), lims, n)
        cases.append((post.grid.z, post.log_prob[:, 0]))
    z, lp = cases[0]
    cases.append((z, lp + 7.5))  # an unnormalized log-density: the weights must be normalized
    return cases


def check_moment_match(student_fn: Callable[[Tensor, Tensor], Sequence[Tensor]]) -> ExerciseResult:
    """``student_fn(z (N, L), log_prob (N,)) -> (mean (L,), cov (L, L))``: the moments of a density known on a
    grid of equal cells up to a constant, i.e. the Gaussian q that minimizes KL(p || q) (S4)."""
    return check_function(
        "moment_match",
        student_fn,
        reference_moment_match,
        _moment_cases(),
        atol=1e-8,
        rtol=1e-6,
        describe=lambda c: f"{c[0].shape[0]} grid points",
    )


__all__ = [
    "check_bayes_log_marginal",
    "check_moment_match",
    "reference_bayes_log_marginal",
    "reference_moment_match",
]
