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
    check_broadcast,
    check_callable,
    check_event_dims,
    check_generator,
    check_positive_int,
    check_square,
    check_tensor,
)


def _eps_like(mu: Tensor, eps: Tensor | None, generator: torch.Generator | None, name: str = "eps") -> Tensor:
    if eps is None:
        check_generator(generator)
        return torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    check_tensor(name, eps)
    if eps.shape[-1] != mu.shape[-1]:
        raise ValueError(f"{name} must have last dimension {mu.shape[-1]} like mu, got shape {tuple(eps.shape)}")
    return eps


def reparameterize(
    mu: Tensor, logvar: Tensor, eps: Tensor | None = None, *, generator: torch.Generator | None = None
) -> Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (S8, diagonal covariance).

    Shapes: ``mu, logvar (B, L)``; ``eps`` ``(B, L)`` or ``(K, B, L)`` for K samples; returns eps's shape.
    """
    check_tensor("mu", mu)
    check_tensor("logvar", logvar)
    check_event_dims(("mu", "logvar"), mu, logvar)
    eps = _eps_like(mu, eps, generator)
    check_broadcast(("mu", "eps"), mu, eps)
    return mu + torch.exp(0.5 * logvar) * eps


def scale_from_cholesky(sigma: Tensor) -> Tensor:
    """A = chol(Sigma), lower triangular with A A^T = Sigma (S8). ``(..., L, L) -> (..., L, L)``."""
    check_square("sigma", sigma)
    _check_symmetric(sigma)
    a, info = torch.linalg.cholesky_ex(sigma)
    # a singular sigma often factors "successfully" with a pivot at rounding-noise level (up to ~4e3 eps max
    # Sigma_ii): for such pivots, check the eigenvalues (those of a singular sigma are <= sqrt(L) eps max|d|)
    eps = torch.finfo(sigma.dtype).eps
    pivots = a.diagonal(dim1=-2, dim2=-1).pow(2)
    noise = 1e5 * eps * sigma.diagonal(dim1=-2, dim2=-1).abs().amax(-1, keepdim=True)
    if bool((info != 0).any()) or bool((pivots <= noise).any()):
        d = torch.linalg.eigvalsh(sigma)
        tol = d.abs().amax(-1, keepdim=True) * sigma.shape[-1] ** 0.5 * eps
        if bool((info != 0).any()) or bool((d <= tol).any()):
            raise ValueError(
                f"sigma must be positive definite, got smallest eigenvalue {float(d.min()):.4g} "
                f"(largest {float(d.max()):.4g}): it is singular or indefinite, so it has no Cholesky factor"
            )
    return a


def scale_from_eigh(sigma: Tensor) -> Tensor:
    """A = Q D^{1/2} where Sigma = Q D Q^T, so A A^T = Sigma (S8). ``(..., L, L) -> (..., L, L)``.

    Eigenvector signs are fixed (largest-magnitude entry of each column positive) so A is unique.
    """
    check_square("sigma", sigma)
    _check_symmetric(sigma)
    d, q = torch.linalg.eigh(sigma)
    tol = d.abs().amax(-1, keepdim=True) * sigma.shape[-1] * torch.finfo(sigma.dtype).eps
    if bool((d <= tol).any()):
        raise ValueError(f"sigma must be positive definite, got smallest eigenvalue {float(d.min()):.4g}")
    idx = q.abs().argmax(-2, keepdim=True)
    q = q * torch.sign(torch.gather(q, -2, idx))
    return q * d.sqrt().unsqueeze(-2)


def reparameterize_full(
    mu: Tensor, scale: Tensor, eps: Tensor | None = None, *, generator: torch.Generator | None = None
) -> Tensor:
    """z = mu + A eps for any factor A of Sigma = A A^T (Cholesky or Q D^{1/2}) (S8).

    Shapes: ``mu (B, L)``, ``scale (B, L, L)`` (or ``(L, L)``); ``eps`` ``(B, L)`` or ``(K, B, L)``.
    """
    check_tensor("mu", mu)
    check_square("scale", scale)
    if scale.shape[-1] != mu.shape[-1]:
        raise ValueError(f"scale must be ({mu.shape[-1]}, {mu.shape[-1]}) to match mu, got {tuple(scale.shape)}")
    eps = _eps_like(mu, eps, generator)
    check_broadcast(("mu", "eps"), mu, eps)
    try:  # scale @ eps needs scale's batch dims to broadcast against eps's
        torch.broadcast_shapes(scale.shape[:-2], eps.shape[:-1])
    except RuntimeError:
        raise ValueError(
            f"scale's batch dims must broadcast with eps's, got scale={tuple(scale.shape)}, eps={tuple(eps.shape)}"
        ) from None
    return mu + (scale @ eps.unsqueeze(-1)).squeeze(-1)


class GradEstimate(NamedTuple):
    """Per-sample estimates of d/dmu and d/dlogvar of E_q[f(z)], each ``(K, L)``."""

    mu: Tensor
    logvar: Tensor


def _check_estimator_args(mu: Tensor, logvar: Tensor, n_samples: int, f: object, generator: object) -> None:
    check_callable("f", f)
    check_generator(generator)
    check_tensor("mu", mu, min_dim=1)
    check_tensor("logvar", logvar, min_dim=1)
    if mu.dim() != 1 or mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must both have shape (L,), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    check_positive_int("n_samples", n_samples)


def _check_f_output(fz: object, n_samples: int) -> Tensor:
    if not isinstance(fz, Tensor) or tuple(fz.shape) != (n_samples,):
        got = f"shape {tuple(fz.shape)}" if isinstance(fz, Tensor) else type(fz).__name__
        raise ValueError(f"f must map z of shape (K, L) to a tensor of shape (K,) = ({n_samples},), got {got}")
    return fz


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
    _check_estimator_args(mu, logvar, n_samples, f, generator)
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
    _check_estimator_args(mu, logvar, n_samples, f, generator)
    eps = torch.randn((n_samples, mu.shape[-1]), generator=generator, dtype=mu.dtype, device=mu.device)
    with torch.enable_grad():
        z = reparameterize(mu.detach(), logvar.detach(), eps).requires_grad_(True)
        fz = _check_f_output(f(z), n_samples)
        (df_dz,) = torch.autograd.grad(fz.sum(), z)  # rows are independent: row k is f'(z_k)
    # chain rule: dz/dmu = 1, dz/dlogvar = sigma * eps / 2
    return GradEstimate(df_dz, df_dz * 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def _check_symmetric(sigma: Tensor) -> None:
    tol = 1e-5 * (1.0 + sigma.abs().amax())
    asym = (sigma - sigma.mT).abs()
    if not bool((asym <= tol).all()):
        raise ValueError(
            f"sigma must be symmetric (a covariance matrix), got sigma != sigma^T "
            f"(largest |sigma - sigma^T| {float(asym.max()):.4g})"
        )
