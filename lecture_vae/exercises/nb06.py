"""Checkers for notebook 06 (S8: the reparameterization trick and the score-function estimator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..reparam import scale_from_eigh
from ._core import ExerciseResult, check_function


def reference_scale_from_eigh(sigma: Tensor) -> Tensor:
    """A = Q D^{1/2} from the eigendecomposition Sigma = Q D Q^T: ``(..., L, L)`` (S8)."""
    return scale_from_eigh(sigma)


def _factor_invariants(a: Tensor) -> Tensor:
    """What every A = Q D^{1/2} shares, whatever the signs and order of its columns: A A^T = Sigma,
    and A^T A = D is diagonal with the eigenvalues on it. Flattened into one ``(..., 2 L^2)`` tensor."""
    ata = a.mT @ a
    d = ata.diagonal(dim1=-2, dim2=-1)
    off = ata - torch.diag_embed(d)
    return torch.cat([(a @ a.mT).flatten(-2), d.sort(-1).values, off.flatten(-2)], -1)


def _cov_cases() -> list[tuple[Tensor]]:
    g = torch.Generator().manual_seed(606)
    cases: list[tuple[Tensor]] = [(torch.tensor([[2.0, 1.2], [1.2, 1.0]], dtype=torch.float64),)]
    for shape in [(3, 3), (4, 2, 2), (2, 5, 5)]:
        m = torch.randn(*shape, generator=g, dtype=torch.float64)
        cases.append((m @ m.mT + 0.5 * torch.eye(shape[-1], dtype=torch.float64),))
    return cases


def check_scale_from_eigh(student_fn: Callable[[Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(sigma (..., L, L)) -> A (..., L, L)`` with A = Q D^{1/2}, Sigma = Q D Q^T (S8).

    Eigenvectors are unique only up to sign (and order), so the check compares what does not depend on
    those choices: A A^T = Sigma, and A^T A diagonal with the eigenvalues of Sigma on it.
    """
    return check_function(
        "scale_from_eigh",
        student_fn,
        reference_scale_from_eigh,
        _cov_cases(),
        compare=_factor_invariants,
        compared="A Aᵀ and Aᵀ A (they do not depend on the eigenvectors' signs and order)",
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"sigma of shape {tuple(c[0].shape)}",
    )


class ScoreEstimates(NamedTuple):
    """Per-sample score-function estimates, each ``(K, L)``."""

    grad_mu: Tensor
    grad_logvar: Tensor


def reference_score_function_grad(
    f: Callable[[Tensor], Tensor], mu: Tensor, logvar: Tensor, eps: Tensor
) -> ScoreEstimates:
    """f(z_k) grad_(mu, logvar) log q(z_k) at z_k = mu + sigma * eps_k, with the scores taken by autograd
    through ``torch.distributions.Normal`` (z_k held fixed): ``(K, L)`` each."""
    z = (mu + torch.exp(0.5 * logvar) * eps).detach()  # (K, L)
    with torch.enable_grad():
        m, lv = mu.detach().expand_as(z).clone().requires_grad_(), logvar.detach().expand_as(z).clone().requires_grad_()
        log_q = torch.distributions.Normal(m, torch.exp(0.5 * lv)).log_prob(z).sum()
        score_mu, score_logvar = torch.autograd.grad(log_q, (m, lv))  # row k: the score at z_k
    fz = f(z).detach().reshape(-1, 1)
    return ScoreEstimates(fz * score_mu, fz * score_logvar)


def _score_cases_with_seeds() -> list[tuple[Any, ...]]:
    """``(f, mu, logvar, eps, seed)``: eps is exactly what ``score_function_grad`` draws from ``seed``."""
    cases = []
    fs = [
        lambda z: z.pow(2).sum(-1),
        lambda z: torch.sin(z).sum(-1) + 3.0 * z[:, 0],
        lambda z: (z[:, 0] > 0).to(z.dtype),  # a step: no derivative, yet the score function works
    ]
    g = torch.Generator().manual_seed(607)
    for i, (f, n, dim) in enumerate(zip(fs, [5, 8, 6], [2, 3, 2], strict=True)):
        mu = torch.randn(dim, generator=g, dtype=torch.float64)
        logvar = torch.randn(dim, generator=g, dtype=torch.float64)
        seed = 6070 + i
        eps = torch.randn((n, dim), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        cases.append((f, mu, logvar, eps, seed))
    return cases


def _score_cases() -> list[tuple[Any, ...]]:
    """``(f, mu, logvar, eps)``: the arguments of the exercise."""
    return [case[:4] for case in _score_cases_with_seeds()]


def check_score_function_grad(
    student_fn: Callable[[Callable[[Tensor], Tensor], Tensor, Tensor, Tensor], tuple[Tensor, Tensor]],
) -> ExerciseResult:
    """``student_fn(f, mu (L,), logvar (L,), eps (K, L)) -> (grad_mu (K, L), grad_logvar (K, L))``: the
    per-sample score-function estimates f(z) grad log q(z) at z = mu + sigma * eps (Williams 1992; S8)."""
    return check_function(
        "score_function_grad",
        student_fn,
        reference_score_function_grad,
        _score_cases(),
        atol=1e-10,
        rtol=1e-10,
        describe=lambda c: f"L={c[1].shape[0]}, K={c[3].shape[0]} samples",
    )


__all__ = [
    "ScoreEstimates",
    "check_scale_from_eigh",
    "check_score_function_grad",
    "reference_scale_from_eigh",
    "reference_score_function_grad",
]
