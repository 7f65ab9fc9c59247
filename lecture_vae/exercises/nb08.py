"""Checkers for notebook 08 (evaluating a VAE): the IWAE bound from log-weights, the active units, free bits."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ._core import ExerciseResult, check_function


def reference_iwae_bound(log_w: Tensor) -> Tensor:
    """log (1/K) sum_k exp(log_w[k]) for ``log_w (K, B)`` -> ``(B,)``, via log-sum-exp."""
    return torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])


def _log_weight_cases() -> list[tuple[Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.randn((5, 3), generator=g, dtype=torch.float64),),  # K=5 weights for B=3 points
        (torch.tensor([[-2.0, 0.5]]),),  # K=1: the bound is the ELBO, log_w itself
        (torch.randn((200, 4), generator=g) * 5.0,),  # widely spread weights
        (-1000.0 + torch.randn((50, 2), generator=g, dtype=torch.float64),),  # exp() underflows to 0
        (torch.full((7, 3), -3.25),),  # equal weights: the bound is log_w itself for every K
    ]


def check_iwae_bound(student_fn: Callable[[Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(log_w (K, B))`` -> ``(B,)``: IWAE_K from the log importance weights of each column."""
    return check_function(
        "iwae_bound",
        student_fn,
        reference_iwae_bound,
        _log_weight_cases(),
        atol=1e-6,
        rtol=1e-6,
        describe=lambda c: f"log_w of shape {tuple(c[0].shape)}, values around {float(c[0].mean()):.3g}",
    )


def reference_active_units(mu: Tensor, threshold: float) -> Tensor:
    """A_u = Var over data points of the posterior means mu[:, u] > threshold -> bool ``(L,)``."""
    return mu.var(0) > threshold


def _encoding_cases() -> list[tuple[Tensor, float]]:
    g = torch.Generator().manual_seed(1)
    cases = []
    # standard deviations per unit (variances 1, 0.25, 0.0001, 0) around large constant offsets:
    # a unit whose mean sits far from 0 but never moves is inactive
    for n, sd, offset, threshold in [
        (500, [1.0, 0.5, 0.01, 0.0], [0.0, 3.0, 5.0, -4.0], 0.01),
        (300, [0.3, 0.02, 0.8], [2.0, 0.0, -1.0], 0.01),
        (400, [0.3, 0.02, 0.8, 0.05, 0.0, 1.0], [1.0] * 6, 0.001),
    ]:
        sd_t, off_t = torch.tensor(sd), torch.tensor(offset)
        cases.append((off_t + sd_t * torch.randn((n, len(sd)), generator=g), threshold))
    return cases


def check_active_units(student_fn: Callable[[Tensor, float], Tensor]) -> ExerciseResult:
    """``student_fn(mu (N, L), threshold)`` -> bool ``(L,)``: which units have Cov_x(E_q[z_u]) > threshold."""
    return check_function(
        "active_units",
        student_fn,
        reference_active_units,
        _encoding_cases(),
        atol=0.0,
        rtol=0.0,
        describe=lambda c: f"mu of shape {tuple(c[0].shape)}, threshold {c[1]}",
    )


def reference_free_bits_kl(kl: Tensor, lam: float) -> Tensor:
    """Reference: sum_l max(lam, mean_b kl[b, l]) for ``kl (B, L)`` -> scalar (free bits, Kingma et al. 2016)."""
    return kl.mean(0).clamp(min=lam).sum()


def _free_bits_cases() -> list[tuple[Tensor, float]]:
    g = torch.Generator().manual_seed(2)
    spread = torch.rand((6, 5), generator=g, dtype=torch.float64) * torch.tensor([0.02, 0.1, 0.3, 1.0, 3.0])
    return [
        (spread, 0.25),  # some dimensions below lam on average, some above
        (spread, 0.0),  # lam = 0: the plain KL, summed over dimensions
        (torch.tensor([[0.0, 0.5], [1.0, 0.0]]), 0.4),  # 0.5 + 0.4 = 0.9; clamping each example first gives 1.15
        (torch.rand((1, 3), generator=g), 10.0),  # every dimension below lam: 3 * lam
    ]


def check_free_bits_kl(student_fn: Callable[[Tensor, float], Tensor]) -> ExerciseResult:
    """``student_fn(kl (B, L), lam)`` -> scalar: the free-bits KL term sum_l max(lam, mean_b kl[b, l])."""
    return check_function(
        "free_bits_kl",
        student_fn,
        reference_free_bits_kl,
        _free_bits_cases(),
        atol=1e-6,
        rtol=1e-6,
        describe=lambda c: f"kl of shape {tuple(c[0].shape)}, lam {c[1]}",
    )


__all__ = [
    "check_active_units",
    "check_free_bits_kl",
    "check_iwae_bound",
    "reference_active_units",
    "reference_free_bits_kl",
    "reference_iwae_bound",
]
