"""Checkers for notebook 01 (S1: the likelihood of a finite data set D)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..toys import GaussianMixture1D, kde_log_prob
from ._core import ExerciseResult, check_function


def reference_mixture_log_prob(x: Tensor, weights: Tensor, means: Tensor, stds: Tensor) -> Tensor:
    """log sum_k w_k N(x; m_k, s_k^2): ``x (M,)``, parameters ``(K,)`` -> ``(M,)``."""
    return GaussianMixture1D(weights, means, stds).log_prob(x)


def _mixture_cases() -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    g = torch.Generator().manual_seed(101)
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    p = GaussianMixture1D.default()
    return [
        (t(-0.3, 0.0, 1.7), t(1.0), t(0.5), t(2.0)),  # one component: a plain Gaussian
        (p.sample(12, generator=g), p.weights, p.means, p.stds),  # the notebook's mixture
        (t(-40.0, 25.0, 60.0), p.weights, p.means, p.stds),  # far tails: p(x) underflows to 0 in float64
        (
            4 * torch.randn(8, generator=g, dtype=torch.float64),
            t(0.1, 0.2, 0.3, 0.4),
            t(-3, -1, 1, 3),
            t(0.2, 1, 2, 0.05),
        ),
    ]


def check_mixture_log_prob(student_fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(x (M,), weights (K,), means (K,), stds (K,)) -> (M,)``: log p(x) of a 1-D Gaussian mixture (S1)."""
    return check_function(
        "mixture_log_prob",
        student_fn,
        reference_mixture_log_prob,
        _mixture_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"{c[1].shape[0]} component(s), x in [{float(c[0].min()):.3g}, {float(c[0].max()):.3g}]",
    )


def reference_kde_log_likelihood(x: Tensor, data: Tensor, bandwidth: float) -> Tensor:
    """(1/M) sum_m log q_h(x_m), q_h the Gaussian KDE on ``data (N,)`` with bandwidth h: a scalar."""
    return kde_log_prob(x, data, bandwidth).mean()


def _kde_cases() -> list[tuple[Tensor, Tensor, float]]:
    g = torch.Generator().manual_seed(102)
    p = GaussianMixture1D.default()
    data = p.sample(30, generator=g)
    return [
        (data, data, 0.5),  # the training data themselves
        (p.sample(50, generator=g), data, 0.3),  # held-out data
        (p.sample(20, generator=g), data[:7], 2.0),  # a wide kernel, few points
        (p.sample(20, generator=g), data, 0.01),  # a narrow kernel: exp(log kernel) underflows
    ]


def check_kde_log_likelihood(student_fn: Callable[[Tensor, Tensor, float], Tensor]) -> ExerciseResult:
    """``student_fn(x (M,), data (N,), bandwidth) -> ()``: the average log-likelihood of x under the KDE (S1)."""
    return check_function(
        "kde_log_likelihood",
        student_fn,
        reference_kde_log_likelihood,
        _kde_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"M={c[0].shape[0]}, N={c[1].shape[0]}, h={c[2]:g}",
    )


__all__ = [
    "check_kde_log_likelihood",
    "check_mixture_log_prob",
    "reference_kde_log_likelihood",
    "reference_mixture_log_prob",
]
