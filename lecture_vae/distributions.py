"""Log-densities and closed-form KL divergences of the lecture's distributions (S3, S5, S7).

Every log-density sums over the last (event) dimension and broadcasts over the leading ones, so
``z`` of shape ``(K, B, L)`` against ``mu`` of shape ``(B, L)`` gives ``(K, B)``.
The posterior objects ``DiagonalGaussian`` / ``FullGaussian`` are what an encoder returns (``q_z``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import check, cholesky, float_or_tensor, generator_or_none, positive_int, unit
from .reparam import reparameterize, reparameterize_full

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) = 1/2 sum(mu^2 + exp(logvar) - 1 - logvar).

    Shapes: ``(B, L), (B, L) -> (B,)``. Lecture S7; Kingma & Welling (2013), Appendix B.
    """
    check(mu=mu, logvar=logvar)
    # expm1 keeps exp(logvar) - 1 - logvar >= 0 and accurate when logvar ~ 0 (no cancellation)
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar).sum(-1)


def gaussian_kl_full(mu: Tensor, scale_tril: Tensor) -> Tensor:
    """KL(N(mu, L L^T) || N(0, I)) = 1/2 (tr Sigma + mu^T mu - d - log det Sigma).

    Shapes: ``(B, L), (B, L, L) -> (B,)``. Lecture S7 with a full covariance.
    """
    check(mu=mu, scale_tril=cholesky(scale_tril))
    # tr Sigma - d - log det Sigma = sum_ij off-diagonal L_ij^2 + sum_i (L_ii^2 - 1 - log L_ii^2), the last
    # term as expm1(t) - t with t = log L_ii^2: no cancellation near the prior, so the result is >= 0
    off_diag = scale_tril.tril(-1).pow(2).sum((-2, -1))
    log_diag2 = 2.0 * scale_tril.diagonal(dim1=-2, dim2=-1).log()
    return 0.5 * (off_diag + (torch.expm1(log_diag2) - log_diag2).sum(-1) + mu.pow(2).sum(-1))


def diag_gaussian_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag exp(logvar)) = -1/2 sum(log 2pi + logvar + (z - mu)^2 / exp(logvar)) (S3, S7).

    Summed over the last dim: ``(..., L) -> (...)``.
    """
    check(z=z, mu=mu, logvar=logvar)
    diff = z - mu
    # ((z - mu) / sigma)^2 as (z - mu) * exp(-logvar / 2): exp(-logvar) would overflow for logvar < -88 in float32;
    # where z == mu the term is 0 for any sigma (0 * inf would be NaN once logvar < -177)
    logvar_at = torch.where(diff == 0, torch.zeros_like(logvar), logvar)
    return -0.5 * (LOG_2PI + logvar + (diff * torch.exp(-0.5 * logvar_at)).pow(2)).sum(-1)


def gaussian_log_prob(x: Tensor, mean: Tensor, logvar: Tensor | float) -> Tensor:
    """Decoder log-likelihood log N(x; mean, diag exp(logvar)), summed over the data dim (S3).

    ``logvar`` may be a float or a tensor broadcasting against ``mean`` (e.g. one per pixel).
    Shapes: ``(..., D) -> (...)``.
    """
    check(x=x, mean=mean, logvar=float_or_tensor(logvar, like="mean"))
    logvar = logvar if isinstance(logvar, Tensor) else torch.full_like(mean, float(logvar))
    return diag_gaussian_log_prob(x, mean, logvar.expand(torch.broadcast_shapes(mean.shape, logvar.shape)))


def mvn_log_prob(z: Tensor, mu: Tensor, scale_tril: Tensor) -> Tensor:
    """log N(z; mu, L L^T) = -1/2 (d log 2pi + |L^-1 (z - mu)|^2) - sum_i log L_ii, with L = ``scale_tril``.

    Shapes: ``z (..., B, L)`` against ``mu (B, L)``, ``scale_tril (B, L, L)`` -> ``(..., B)``. Lecture S7, S8.
    """
    check(z=z, mu=mu, scale_tril=cholesky(scale_tril))
    diff = z - mu  # (..., B, L)
    tril = scale_tril.expand(*diff.shape[:-1], *scale_tril.shape[-2:])
    w = torch.linalg.solve_triangular(tril, diff.unsqueeze(-1), upper=False).squeeze(-1)
    half_logdet = scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return -0.5 * (mu.shape[-1] * LOG_2PI + w.pow(2).sum(-1)) - half_logdet


def bernoulli_log_prob(x: Tensor, logits: Tensor) -> Tensor:
    """log Bernoulli(x; sigmoid(logits)) = sum x log sigmoid(logits) + (1 - x) log sigmoid(-logits) (S3, S5).

    Computed from logits for stability; ``x`` in [0, 1] (binary, or grey levels as in the usual
    continuous relaxation). Shapes: ``(..., D) -> (...)``, summed over the data dim.
    """
    shape = check(x=unit(x), logits=logits)
    return -F.binary_cross_entropy_with_logits(logits.expand(shape), x.expand(shape), reduction="none").sum(-1)


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log p(z) = -1/2 (L log 2pi + |z|^2) for the prior p(z) = N(0, I): ``(..., L) -> (...)`` (S5)."""
    check(z=z)
    return -0.5 * (z.shape[-1] * LOG_2PI + z.pow(2).sum(-1))


# --- posterior objects: what an encoder returns as q_z ---------------------------------------


def _randn(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)


@dataclass(frozen=True)
class DiagonalGaussian:
    """q(z) = N(mu, diag exp(logvar)) for a batch: ``mu, logvar`` of shape ``(B, L)``."""

    mu: Tensor
    logvar: Tensor

    @property
    def scale_tril(self) -> Tensor:
        """The diagonal Cholesky factor ``(B, L, L)`` (used to compare with a full covariance)."""
        return torch.diag_embed(torch.exp(0.5 * self.logvar))

    def rsample(self, n: int | None = None, *, generator: torch.Generator | None = None) -> Tensor:
        """Reparameterized draw mu + sigma * eps (S8): ``(B, L)`` or ``(n, B, L)``."""
        check(n=positive_int(n, optional=True), generator=generator_or_none(generator))
        shape = tuple(self.mu.shape) if n is None else (n, *self.mu.shape)
        return reparameterize(self.mu, self.logvar, _randn(shape, self.mu, generator))

    def log_prob(self, z: Tensor) -> Tensor:
        return diag_gaussian_log_prob(z, self.mu, self.logvar)

    def kl(self) -> Tensor:
        """KL(q || N(0, I)) in closed form, ``(B,)``."""
        return gaussian_kl(self.mu, self.logvar)


@dataclass(frozen=True)
class FullGaussian:
    """q(z) = N(mu, L L^T) for a batch: ``mu (B, L)``, ``scale_tril (B, L, L)``."""

    mu: Tensor
    scale_tril: Tensor

    def rsample(self, n: int | None = None, *, generator: torch.Generator | None = None) -> Tensor:
        """Reparameterized draw mu + L eps (S8): ``(B, L)`` or ``(n, B, L)``."""
        check(n=positive_int(n, optional=True), generator=generator_or_none(generator))
        shape = tuple(self.mu.shape) if n is None else (n, *self.mu.shape)
        return reparameterize_full(self.mu, self.scale_tril, _randn(shape, self.mu, generator))

    def log_prob(self, z: Tensor) -> Tensor:
        return mvn_log_prob(z, self.mu, self.scale_tril)

    def kl(self) -> Tensor:
        return gaussian_kl_full(self.mu, self.scale_tril)


@dataclass(frozen=True)
class StandardNormal:
    """The prior p(z) = N(0, I) for ``batch`` rows of dimension ``dim``; as a q it gives the naive estimator."""

    batch: int
    dim: int
    dtype: torch.dtype = torch.float32
    device: torch.device | str = "cpu"

    @property
    def mu(self) -> Tensor:
        return torch.zeros(self.batch, self.dim, dtype=self.dtype, device=self.device)

    def __post_init__(self) -> None:
        check(batch=positive_int(self.batch), dim=positive_int(self.dim))

    def rsample(self, n: int | None = None, *, generator: torch.Generator | None = None) -> Tensor:
        check(n=positive_int(n, optional=True), generator=generator_or_none(generator))
        shape = (self.batch, self.dim) if n is None else (n, self.batch, self.dim)
        return _randn(shape, self.mu, generator)

    def log_prob(self, z: Tensor) -> Tensor:
        return standard_normal_log_prob(z)

    def kl(self) -> Tensor:
        return torch.zeros(self.batch, dtype=self.dtype, device=self.device)


Posterior = DiagonalGaussian | FullGaussian | StandardNormal
