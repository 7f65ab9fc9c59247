"""Toy densities and toy nonlinear decoders for the first notebooks (S1-S4).

- ``GaussianMixture1D``: a known p(x) with exact sampling, log-density and entropy, to show what
  maximizing the likelihood of a finite data set D does (S1).
- ``kde_log_prob``: a Gaussian kernel density estimate, a model whose flexibility is one number
  (the bandwidth), flexible enough to memorize D (S1).
- ``NonlinearGaussian``: p(z) = N(0, I_L), p(x|z) = N(f(z), sigma^2 I_D) with a fixed nonlinear f,
  the case of S3 where p(x) and p(z|x) have no closed form; ``spiral`` (L=1, D=2) and ``square``
  (L=2, D=2, a posterior with two modes for every x).
- ``moment_match`` and ``effective_sample_size``: summaries of a grid posterior and of importance weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from ._checks import check, check_positive_int, check_tensor, positive_float, positive_int, tensor
from .distributions import LOG_2PI, gaussian_log_prob, standard_normal_log_prob


class GaussianMixture1D:
    """p(x) = sum_k w_k N(x; m_k, s_k^2) on the real line: ``weights, means, stds`` of shape ``(K,)``."""

    def __init__(self, weights: Tensor, means: Tensor, stds: Tensor) -> None:
        for name, t in (("weights", weights), ("means", means), ("stds", stds)):
            check_tensor(name, t)
            if t.dim() != 1:
                raise ValueError(f"{name} must have shape (K,), got {tuple(t.shape)}")
        if not weights.shape == means.shape == stds.shape:
            raise ValueError(
                f"weights, means and stds must have the same shape (K,), got "
                f"{tuple(weights.shape)}, {tuple(means.shape)}, {tuple(stds.shape)}"
            )
        if bool((weights <= 0).any()) or abs(float(weights.sum()) - 1.0) > 1e-6:
            raise ValueError(f"weights must be positive and sum to 1, got {weights.tolist()}")
        if bool((stds <= 0).any()):
            raise ValueError(f"stds must be positive, got {stds.tolist()}")
        self.weights, self.means, self.stds = weights, means, stds

    @classmethod
    def default(cls) -> GaussianMixture1D:
        """The three-component mixture of notebook 01 (float64)."""
        t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
        return cls(t(0.45, 0.35, 0.20), t(-2.0, 0.8, 3.0), t(0.6, 0.5, 0.9))

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) by log-sum-exp over components: ``(...) -> (...)``."""
        check_tensor("x", x, min_dim=0)
        x = x.unsqueeze(-1)  # (..., 1) against (K,)
        log_comp = -0.5 * (LOG_2PI + ((x - self.means) / self.stds).pow(2)) - self.stds.log()
        return torch.logsumexp(self.weights.log() + log_comp, -1)

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Exact draws: pick component k with probability w_k, then x ~ N(m_k, s_k^2): ``(n,)``."""
        check_positive_int("n", n)
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, generator=generator, dtype=self.means.dtype)
        return self.means[k] + self.stds[k] * eps

    def mean(self) -> Tensor:
        """E[x] = sum_k w_k m_k."""
        return (self.weights * self.means).sum()

    def variance(self) -> Tensor:
        """Var[x] = sum_k w_k (s_k^2 + m_k^2) - E[x]^2."""
        return (self.weights * (self.stds.pow(2) + self.means.pow(2))).sum() - self.mean().pow(2)

    def lims(self, width: float = 10.0) -> tuple[float, float]:
        """An interval holding all but a negligible part of the mass: ``width`` stds past every mean."""
        return float((self.means - width * self.stds).min()), float((self.means + width * self.stds).max())

    def entropy(self, n: int = 20_001) -> Tensor:
        """H[p] = -∫ p(x) log p(x) dx by the midpoint rule on ``n`` points; E_p log p(x) = -H[p] (S1)."""
        lo, hi = self.lims()
        dx = (hi - lo) / n
        x = lo + dx * (torch.arange(n, dtype=self.means.dtype) + 0.5)
        log_p = self.log_prob(x)
        return -(log_p.exp() * log_p).sum() * dx


def kde_log_prob(x: Tensor, data: Tensor, bandwidth: float) -> Tensor:
    """Gaussian kernel density estimate log q_h(x) = log (1/N) sum_n N(x; x_n, h^2) in 1-D (S1).

    ``x (M,)``, ``data (N,)``, bandwidth h > 0 -> ``(M,)``. A small h puts a spike on every data
    point: the average log-likelihood of the data themselves then grows without bound.
    """
    check(x=tensor(x, ndim=1, event=False), data=tensor(data, ndim=1, event=False), bandwidth=positive_float(bandwidth))
    diff = (x[:, None] - data[None, :]) / bandwidth  # (M, N)
    log_k = -0.5 * (LOG_2PI + diff.pow(2)) - math.log(bandwidth)
    return torch.logsumexp(log_k, 1) - math.log(data.shape[0])


# --- toy nonlinear decoders (S3, S4) -------------------------------------------------------------


def spiral_mean(z: Tensor) -> Tensor:
    """f(z) = r(z) (cos a(z), sin a(z)) with r = exp(z/4), a = 2.5 z: a 1-D latent on a 2-D spiral.

    ``(..., 1) -> (..., 2)``. About two turns for z in [-3, 3]; neighbouring arms are a factor 1.9 apart in radius.
    """
    check_tensor("z", z, last=1)
    r, a = torch.exp(0.25 * z), 2.5 * z
    return torch.cat([r * torch.cos(a), r * torch.sin(a)], -1)


def square_mean(z: Tensor) -> Tensor:
    """f(z) = (z_1^2 - z_2^2, 2 z_1 z_2), the complex square of z_1 + i z_2: f(z) = f(-z). ``(..., 2) -> (..., 2)``."""
    check_tensor("z", z, last=2)
    z1, z2 = z[..., :1], z[..., 1:]
    return torch.cat([z1.pow(2) - z2.pow(2), 2 * z1 * z2], -1)


class NonlinearGaussian:
    """p(z) = N(0, I_L), p(x|z) = N(f(z), sigma^2 I_D) for a fixed nonlinear ``mean_fn`` f (S3).

    Same interface as ``LinearGaussian`` (``x_dim``, ``z_dim``, ``decode``, ``log_likelihood``,
    ``log_joint``, ``sample``), so ``log_joint_fn``, ``grid_posterior`` and ``iwae_bound`` (with a
    given ``q_z``) run on it. There is no ``log_marginal``: that is the point (S2, S3).
    """

    def __init__(self, mean_fn: Callable[[Tensor], Tensor], z_dim: int, x_dim: int, sigma: float) -> None:
        check(z_dim=positive_int(z_dim), x_dim=positive_int(x_dim), sigma=positive_float(sigma))
        self.mean_fn, self.z_dim, self.x_dim, self.sigma = mean_fn, z_dim, x_dim, float(sigma)

    @classmethod
    def spiral(cls, sigma: float = 0.1) -> NonlinearGaussian:
        """L = 1, D = 2: data near a spiral; for x between two arms p(x|z) has several peaks in z."""
        return cls(spiral_mean, 1, 2, sigma)

    @classmethod
    def square(cls, sigma: float = 0.3) -> NonlinearGaussian:
        """L = 2, D = 2: f(z) = f(-z), so every posterior p(z|x) has two mirror-image modes."""
        return cls(square_mean, 2, 2, sigma)

    def decode(self, z: Tensor) -> Tensor:
        """The decoder mean f(z): ``(..., L) -> (..., D)``."""
        check_tensor("z", z, last=self.z_dim)
        return self.mean_fn(z)

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) = log N(x; f(z), sigma^2 I): ``x (B, D)``, ``z (..., B, L)`` -> ``(..., B)``."""
        check_tensor("x", x, last=self.x_dim)
        return gaussian_log_prob(x, self.decode(z), 2.0 * math.log(self.sigma))

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) + log p(z)."""
        return self.log_likelihood(x, z) + standard_normal_log_prob(z)

    @torch.no_grad()
    def sample(
        self, n: int, *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
    ) -> tuple[Tensor, Tensor]:
        """Ancestral sampling z ~ p(z), x ~ p(x|z): returns ``x (n, D)`` and the ``z (n, L)`` behind it."""
        check_positive_int("n", n)
        z = torch.randn((n, self.z_dim), generator=generator, dtype=dtype)
        eps = torch.randn((n, self.x_dim), generator=generator, dtype=dtype)
        return self.decode(z) + self.sigma * eps, z


# --- summaries ---------------------------------------------------------------------------------


class Moments(NamedTuple):
    """Mean ``(L,)`` and covariance ``(L, L)`` of a density."""

    mean: Tensor
    cov: Tensor


def moment_match(z: Tensor, log_prob: Tensor) -> Moments:
    """Mean and covariance of a density known at grid points: the Gaussian closest in KL(p || q) (S4).

    ``z (N, L)`` grid points, ``log_prob (N,)`` log-density there (any constant offset; the
    equal-volume cells cancel on normalizing). Weights w_i = softmax(log_prob)_i;
    mean = sum_i w_i z_i, cov = sum_i w_i (z_i - mean)(z_i - mean)^T.
    """
    check(z=tensor(z, min_dim=2, event=False), log_prob=tensor(log_prob, finite=False, event=False))
    if log_prob.shape != z.shape[:1]:
        raise ValueError(
            f"log_prob must have shape ({z.shape[0]},) to match z {tuple(z.shape)}, got {tuple(log_prob.shape)}"
        )
    w = torch.softmax(log_prob, 0)  # (N,)
    mean = w @ z
    d = z - mean
    return Moments(mean, (w[:, None] * d).T @ d)


def effective_sample_size(log_w: Tensor) -> Tensor:
    """ESS = (sum_k w_k)^2 / sum_k w_k^2 over the first dim, from log-weights: ``(K, ...) -> (...)``.

    Between 1 (one sample carries all the weight) and K (all weights equal).
    """
    check_tensor("log_w", log_w)
    return torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0))
