"""Checkers for notebook 06 (S8: the reparameterization trick and the score-function estimator)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..reparam import scale_from_eigh, score_function_grad
from ._core import ExerciseResult
from ._core import check_function as _check_function


def _factor_invariants(a: Tensor) -> Tensor:
    """What every A = Q D^{1/2} shares, whatever the signs and order of its columns: A A^T = Sigma,
    and A^T A = D is diagonal with the eigenvalues on it. Flattened into one ``(..., 2 L^2)`` tensor."""
    a = torch.as_tensor(a)
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
    return _check_function(
        "scale_from_eigh",
        lambda sigma: _factor_invariants(student_fn(sigma)),
        lambda sigma: _factor_invariants(scale_from_eigh(sigma)),
        _cov_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"sigma of shape {tuple(c[0].shape)}",
    )


def _stack(estimate: Sequence[Tensor]) -> Tensor:
    grad_mu, grad_logvar = estimate
    return torch.stack([torch.as_tensor(grad_mu), torch.as_tensor(grad_logvar)])


def _score_cases() -> list[tuple[Any, ...]]:
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


def check_score_function_grad(
    student_fn: Callable[[Callable[[Tensor], Tensor], Tensor, Tensor, Tensor], Sequence[Tensor]],
) -> ExerciseResult:
    """``student_fn(f, mu (L,), logvar (L,), eps (K, L)) -> (grad_mu (K, L), grad_logvar (K, L))``: the
    per-sample score-function estimates f(z) grad log q(z) at z = mu + sigma * eps (Williams 1992; S8)."""
    return _check_function(
        "score_function_grad",
        lambda f, mu, logvar, eps, seed: _stack(student_fn(f, mu, logvar, eps)),
        lambda f, mu, logvar, eps, seed: _stack(
            score_function_grad(f, mu, logvar, eps.shape[0], generator=torch.Generator().manual_seed(seed))
        ),
        _score_cases(),
        atol=1e-10,
        rtol=1e-10,
        describe=lambda c: f"L={c[1].shape[0]}, K={c[3].shape[0]} samples",
    )


__all__ = ["check_scale_from_eigh", "check_score_function_grad"]
