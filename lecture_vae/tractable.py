"""Models whose log p(x) and p(z|x) we *can* compute, to check every bound numerically (S2-S4, S6).

- ``LinearGaussian``: p(z) = N(0, I), p(x|z) = N(W z + b, sigma^2 I), the linear case of S3
  (probabilistic PCA): p(x) = N(b, W W^T + sigma^2 I) and p(z|x) are Gaussian in closed form.
- ``grid_log_marginal`` / ``grid_posterior``: quadrature over a 1-D or 2-D latent grid, for any
  decoder, e.g. a nonlinear one whose posterior has no closed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ._checks import (
    bias,
    box,
    check,
    data,
    describe,
    float_dtype,
    function,
    generator_or_none,
    model_like,
    positive_float,
    positive_int,
    posterior,
    tensor,
)
from .bounds import ELBOTerms, LikelihoodModel
from .distributions import DiagonalGaussian, FullGaussian, gaussian_log_prob, mvn_log_prob, standard_normal_log_prob
from .reparam import scale_from_cholesky


class LinearGaussian(nn.Module):
    """p(z) = N(0, I_L), p(x|z) = N(W z + b, sigma^2 I_D), with ``W (D, L)``, ``b (D,)``, ``sigma > 0``.

    Has the VAE interface (``encode``, ``log_likelihood``), so ``elbo`` and ``iwae_bound`` run on it;
    its ``encode`` returns the *exact* posterior, for which the ELBO equals log p(x).
    """

    def __init__(self, W: Tensor, b: Tensor, sigma: float) -> None:
        super().__init__()
        check(W=tensor(W, ndim=2, event=False), b=bias(b), sigma=positive_float(sigma))
        self.register_buffer("W", W)
        self.register_buffer("b", b)
        self.sigma = float(sigma)
        self.x_dim, self.z_dim = W.shape

    @classmethod
    def random(
        cls,
        x_dim: int,
        z_dim: int,
        sigma: float = 0.5,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> LinearGaussian:
        """A model with ``W, b ~ N(0, 1)`` entries (float64 by default, for exact checks)."""
        check(x_dim=positive_int(x_dim), z_dim=positive_int(z_dim), generator=generator_or_none(generator),
              dtype=float_dtype(dtype))  # fmt: skip
        W = torch.randn((x_dim, z_dim), generator=generator, dtype=dtype)
        return cls(W, torch.randn((x_dim,), generator=generator, dtype=dtype), sigma)

    def decode(self, z: Tensor) -> Tensor:
        """The decoder mean W z + b: ``(..., L) -> (..., D)``."""
        check(z=tensor(z, last=self.z_dim))
        return z @ self.W.T + self.b

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) = log N(x; W z + b, sigma^2 I): ``x (B, D)``, ``z (..., B, L)`` -> ``(..., B)``."""
        check(x=tensor(x, last=self.x_dim))
        return gaussian_log_prob(x, self.decode(z), 2.0 * math.log(self.sigma))

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) + log p(z)."""
        return self.log_likelihood(x, z) + standard_normal_log_prob(z)

    def marginal_cov(self) -> Tensor:
        """Cov[x] = W W^T + sigma^2 I, ``(D, D)`` (S3: a Gaussian integral)."""
        return self.W @ self.W.T + self.sigma**2 * torch.eye(self.x_dim, dtype=self.W.dtype, device=self.W.device)

    def log_marginal(self, x: Tensor) -> Tensor:
        """Exact log p(x) = log N(x; b, W W^T + sigma^2 I): ``(B, D) -> (B,)``."""
        check(x=data(x, model=self))
        chol = scale_from_cholesky(self.marginal_cov())
        return mvn_log_prob(x, self.b.expand_as(x), chol.expand(*x.shape[:-1], -1, -1))

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Exact p(z|x) = N(mean, cov): cov = (I + W^T W / sigma^2)^-1, mean = cov W^T (x - b) / sigma^2.

        Shapes: ``x (B, D)`` -> ``mean (B, L)``, ``cov (B, L, L)`` (the same matrix for every row).
        """
        check(x=data(x, model=self))
        eye = torch.eye(self.z_dim, dtype=self.W.dtype, device=self.W.device)
        cov = torch.linalg.inv(eye + self.W.T @ self.W / self.sigma**2)
        cov = 0.5 * (cov + cov.T)
        mean = (x - self.b) @ self.W @ cov / self.sigma**2
        return mean, cov.expand(*x.shape[:-1], -1, -1)

    def log_posterior(self, z: Tensor, x: Tensor) -> Tensor:
        """log p(z|x): ``z (..., B, L)``, ``x (B, D)`` -> ``(..., B)``."""
        mean, cov = self.posterior(x)
        return mvn_log_prob(z, mean, scale_from_cholesky(cov))

    def encode(self, x: Tensor) -> FullGaussian:
        """The exact posterior as a q: with it the ELBO gap KL(q || p(z|x)) is zero."""
        mean, cov = self.posterior(x)
        return FullGaussian(mean, scale_from_cholesky(cov))

    def analytic_elbo(self, x: Tensor, q_z: DiagonalGaussian | FullGaussian) -> ELBOTerms:
        """The ELBO of a Gaussian q in closed form, no sampling (S6, S7):

        E_q log N(x; W z + b, sigma^2 I) = log N(x; W mu + b, sigma^2 I) - tr(W Sigma_q W^T) / (2 sigma^2).
        """
        check(x=data(x, model=self), q_z=posterior(q_z, model=self, types=(DiagonalGaussian, FullGaussian)))
        tril = q_z.scale_tril
        reconstruction = self.log_likelihood(x, q_z.mu) - (self.W @ tril).pow(2).sum((-2, -1)) / (2 * self.sigma**2)
        kl = q_z.kl()
        return ELBOTerms(reconstruction, kl, reconstruction - kl)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """x ~ p(x) by ancestral sampling z ~ p(z), x ~ p(x|z): ``(n, D)``."""
        check(n=positive_int(n), generator=generator_or_none(generator))
        z = torch.randn((n, self.z_dim), generator=generator, dtype=self.W.dtype, device=self.W.device)
        eps = torch.randn((n, self.x_dim), generator=generator, dtype=self.W.dtype, device=self.W.device)
        return self.decode(z) + self.sigma * eps


class Grid(NamedTuple):
    """A midpoint grid: ``axes`` one ``(n,)`` tensor per latent dim, ``z (n**L, L)``, ``log_cell`` volume."""

    axes: list[Tensor]
    z: Tensor
    log_cell: float


class GridPosterior(NamedTuple):
    """Quadrature results: the grid, log p(z|x) at its points ``(n**L,)`` or ``(n**L, B)``, log p(x)."""

    grid: Grid
    log_prob: Tensor
    log_marginal: Tensor


def make_grid(lims: Sequence[Sequence[float]], n: int, *, dtype: torch.dtype = torch.float64) -> Grid:
    """Midpoints of ``n`` cells per dimension over the box ``lims = [(lo, hi), ...]`` (1 to 3 dims)."""
    check(n=positive_int(n), lims=box(lims), dtype=float_dtype(dtype))
    axes = [lo + (hi - lo) * (torch.arange(n, dtype=dtype) + 0.5) / n for lo, hi in lims]
    z = torch.cartesian_prod(*axes).reshape(-1, len(lims))
    log_cell = sum(math.log((hi - lo) / n) for lo, hi in lims)
    return Grid(axes, z, log_cell)


def _grid_log_joint(log_joint: Callable[[Tensor], Tensor], grid: Grid, chunk: int) -> Tensor:
    check(log_joint=function(log_joint), chunk=positive_int(chunk))
    out = []
    for zc in grid.z.split(chunk):
        lj = log_joint(zc)
        if not isinstance(lj, Tensor) or lj.dim() not in (1, 2) or lj.shape[0] != zc.shape[0]:
            raise ValueError(
                f"log_joint must map z of shape {tuple(zc.shape)} to shape ({zc.shape[0]},) or ({zc.shape[0]}, B), "
                f"got {describe(lj)}"
            )
        if bool(torch.isnan(lj).any()):
            raise ValueError(f"log_joint must not return NaN, got {int(torch.isnan(lj).sum())} NaN value(s)")
        out.append(lj)
    return torch.cat(out)


def grid_log_marginal(
    log_joint: Callable[[Tensor], Tensor], lims: Sequence[Sequence[float]], n: int, *, chunk: int = 4096
) -> Tensor:
    """log p(x) = log ∫ p(x, z) dz by the midpoint rule on ``n`` points per latent dim (S2).

    ``log_joint`` maps grid points ``z (N, L)`` to ``(N,)`` or ``(N, B)``; returns ``()`` or ``(B,)``.
    The cost is n**L evaluations: fine in 1-D or 2-D, hopeless for a real latent space.
    """
    return grid_posterior(log_joint, lims, n, chunk=chunk).log_marginal


def grid_posterior(
    log_joint: Callable[[Tensor], Tensor], lims: Sequence[Sequence[float]], n: int, *, chunk: int = 4096
) -> GridPosterior:
    """p(z|x) = p(x, z) / p(x) on a grid (S4), as a log-density at the grid points, and log p(x)."""
    grid = make_grid(lims, n)
    lj = _grid_log_joint(log_joint, grid, chunk)
    log_marginal = torch.logsumexp(lj, 0) + grid.log_cell
    return GridPosterior(grid, lj - log_marginal, log_marginal)


def log_joint_fn(model: LikelihoodModel, x: Tensor) -> Callable[[Tensor], Tensor]:
    """z ``(N, L)`` -> log p(x|z) + log p(z) ``(N, B)`` for a model with ``log_likelihood`` and data ``x (B, D)``."""
    check(model=model_like(model, LikelihoodModel), x=data(x))

    def log_joint(z: Tensor) -> Tensor:
        z = z.to(x.dtype)
        return model.log_likelihood(x, z.unsqueeze(1)) + standard_normal_log_prob(z).unsqueeze(1)

    return log_joint
