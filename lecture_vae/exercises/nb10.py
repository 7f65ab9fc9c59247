"""Checkers for notebook 10 (the interactive explorers: the ELBO gap of S7 and the factors of S8)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..reparam import scale_from_cholesky, scale_from_eigh
from ._core import ExerciseResult, check_function


def reference_kl_normal_1d(m_q: Tensor, s_q: Tensor, m_p: Tensor, s_p: Tensor) -> Tensor:
    """KL(N(m_q, s_q^2) || N(m_p, s_p^2)) elementwise, by torch.distributions."""
    return torch.distributions.kl_divergence(torch.distributions.Normal(m_q, s_q), torch.distributions.Normal(m_p, s_p))


def check_kl_normal_1d(student_fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(m_q, s_q, m_p, s_p)`` -> KL(N(m_q, s_q^2) || N(m_p, s_p^2)), elementwise ``(B,)`` (S7).

    The cases separate the two arguments' roles (KL is not symmetric) and include equal distributions (KL 0).
    """
    g = torch.Generator().manual_seed(1010)
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    cases = [
        (t(0.0), t(1.0), t(0.0), t(1.0)),
        (t(0.5, -1.0, 2.0), t(0.3, 1.0, 2.5), t(0.5, 0.0, -1.0), t(0.3, 0.4, 1.0)),
        (
            torch.randn(6, generator=g, dtype=torch.float64),
            torch.rand(6, generator=g, dtype=torch.float64) + 0.1,
            torch.randn(6, generator=g, dtype=torch.float64),
            torch.rand(6, generator=g, dtype=torch.float64) + 0.1,
        ),
    ]
    return check_function("kl_normal_1d", student_fn, reference_kl_normal_1d, cases, atol=1e-9, rtol=1e-9)


def reference_factor_rotation(a_chol: Tensor, a_eigh: Tensor) -> Tensor:
    """R with ``a_eigh = a_chol @ R``, by a triangular solve: ``(L, L)``."""
    return torch.linalg.solve_triangular(a_chol, a_eigh, upper=False)


def check_factor_rotation(student_fn: Callable[[Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(a_chol, a_eigh)`` -> R with ``a_eigh = a_chol @ R``, ``(L, L)`` (S8: factors differ by R)."""
    g = torch.Generator().manual_seed(1011)
    cases = []
    for L in (2, 2, 3):
        m = torch.randn(L, L, generator=g, dtype=torch.float64)
        sigma = m @ m.T + 0.3 * torch.eye(L, dtype=torch.float64)
        cases.append((scale_from_cholesky(sigma), scale_from_eigh(sigma)))
    return check_function("factor_rotation", student_fn, reference_factor_rotation, cases, atol=1e-9, rtol=1e-9)


__all__ = ["check_factor_rotation", "check_kl_normal_1d", "reference_factor_rotation", "reference_kl_normal_1d"]
