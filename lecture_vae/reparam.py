"""The reparameterization trick (S8): eps ~ N(0, I) -> z = mu + A eps with A A^T = Sigma.

Also the two estimators of d/dphi E_{q_phi}[f(z)] that the trick is about: the score-function
(REINFORCE) estimator and the pathwise (reparameterized) one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from ._checks import (
    check,
    covariance,
    function,
    generator_or_none,
    log_variance,
    positive_int,
    scale_matrix,
    tensor,
    vector,
)


def standard_normal_like(mu: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """eps ~ N(0, I) of ``mu``'s shape, dtype and device."""
    return torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)


def reparameterize(
    mu: Tensor, logvar: Tensor, eps: Tensor | None = None, *, generator: torch.Generator | None = None
) -> Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (S8, diagonal covariance).

    Shapes: ``mu, logvar (B, L)``; ``eps`` ``(B, L)`` or ``(K, B, L)`` for K samples; returns eps's shape.
    """
    check(mu=mu, logvar=log_variance(logvar), eps=tensor(eps, optional=True), generator=generator_or_none(generator))
    eps = standard_normal_like(mu, generator) if eps is None else eps
    return mu + torch.exp(0.5 * logvar) * eps


def scale_from_cholesky(sigma: Tensor) -> Tensor:
    """A = chol(Sigma), lower triangular with A A^T = Sigma (S8). ``(..., L, L) -> (..., L, L)``."""
    check(sigma=covariance(sigma))
    return torch.linalg.cholesky(sigma)


def scale_from_eigh(sigma: Tensor) -> Tensor:
    """A = Q D^{1/2} where Sigma = Q D Q^T, so A A^T = Sigma (S8). ``(..., L, L) -> (..., L, L)``.

    Eigenvector signs are fixed (largest-magnitude entry of each column positive) so A is unique.
    """
    check(sigma=covariance(sigma))
    d, q = torch.linalg.eigh(sigma)
    idx = q.abs().argmax(-2, keepdim=True)
    q = q * torch.sign(torch.gather(q, -2, idx))
    return q * d.sqrt().unsqueeze(-2)


def reparameterize_full(
    mu: Tensor, scale: Tensor, eps: Tensor | None = None, *, generator: torch.Generator | None = None
) -> Tensor:
    """z = mu + A eps for any factor A of Sigma = A A^T (Cholesky or Q D^{1/2}) (S8).

    Shapes: ``mu (B, L)``, ``scale (B, L, L)`` (or ``(L, L)``); ``eps`` ``(B, L)`` or ``(K, B, L)``.
    """
    check(mu=mu, eps=tensor(eps, optional=True), scale=scale_matrix(scale), generator=generator_or_none(generator))
    eps = standard_normal_like(mu, generator) if eps is None else eps
    return mu + (scale @ eps.unsqueeze(-1)).squeeze(-1)


class GradEstimate(NamedTuple):
    """Per-sample estimates of d/dmu and d/dlogvar of E_q[f(z)], each ``(K, L)``."""

    mu: Tensor
    logvar: Tensor


def _check_f_output(fz: object, n_samples: int) -> Tensor:
    """What ``f`` returned: a tensor ``(K,)``, one value per sample."""
    if not isinstance(fz, Tensor) or tuple(fz.shape) != (n_samples,):
        got = f"shape {tuple(fz.shape)}" if isinstance(fz, Tensor) else type(fz).__name__
        raise ValueError(f"f must map z of shape (K, L) to a tensor of shape (K,) = ({n_samples},), got {got}")
    return fz


def _grad_of_f(fz: Tensor, z: Tensor) -> Tensor:
    """d f(z_k) / d z_k for each row (rows are independent), or a clear error if ``f`` left autograd."""
    df_dz = torch.autograd.grad(fz.sum(), z, allow_unused=True)[0] if fz.requires_grad else None
    if df_dz is None:
        raise ValueError(
            "f must be differentiable in z for the pathwise estimator, got an output that does not depend on z "
            "through autograd (it went through .detach(), .item(), NumPy or torch.no_grad); "
            "score_function_grad needs no gradient of f"
        )
    return df_dz


def score_function_grad(
    f: Callable[[Tensor], Tensor],
    mu: Tensor,
    logvar: Tensor,
    n_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> GradEstimate:
    """f(z) * grad_phi log q_phi(z), z ~ q = N(mu, diag exp(logvar)): the score-function estimator.

    ``f`` maps ``(K, L)`` to ``(K,)``; it need not be differentiable. ``mu, logvar`` are ``(L,)``.
    Unbiased, but its variance grows with |f| (S8's motivation).
    """
    check(f=function(f), mu=vector(mu), logvar=vector(logvar, like="mu"), n_samples=positive_int(n_samples),
          generator=generator_or_none(generator))  # fmt: skip
    eps = torch.randn((n_samples, mu.shape[-1]), generator=generator, dtype=mu.dtype, device=mu.device)
    with torch.no_grad():
        z = reparameterize(mu, logvar, eps)
        fz = _check_f_output(f(z), n_samples).reshape(n_samples, 1)
        # grad log N(z; mu, sigma^2): d/dmu = eps / sigma, d/dlogvar = (eps^2 - 1) / 2
        return GradEstimate(fz * eps * torch.exp(-0.5 * logvar), fz * 0.5 * (eps.pow(2) - 1.0))


def pathwise_grad(
    f: Callable[[Tensor], Tensor],
    mu: Tensor,
    logvar: Tensor,
    n_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> GradEstimate:
    """grad_phi f(mu + sigma * eps), eps ~ N(0, I): the pathwise (reparameterized) estimator (S8).

    ``f`` maps ``(K, L)`` to ``(K,)`` and must be differentiable; ``mu, logvar`` are ``(L,)``.
    """
    check(f=function(f), mu=vector(mu), logvar=vector(logvar, like="mu"), n_samples=positive_int(n_samples),
          generator=generator_or_none(generator))  # fmt: skip
    eps = torch.randn((n_samples, mu.shape[-1]), generator=generator, dtype=mu.dtype, device=mu.device)
    with torch.enable_grad():
        z = reparameterize(mu.detach(), logvar.detach(), eps).requires_grad_(True)
        df_dz = _grad_of_f(_check_f_output(f(z), n_samples), z)  # row k is f'(z_k)
    # chain rule: dz/dmu = 1, dz/dlogvar = sigma * eps / 2
    return GradEstimate(df_dz, df_dz * 0.5 * torch.exp(0.5 * logvar.detach()) * eps)
