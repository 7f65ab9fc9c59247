"""The logic behind the classroom widgets (``widgets.py``): slider values in, the numbers and arrays
that get drawn out. Plain torch, no ipywidgets and no matplotlib, so every number is unit-tested.

1. ``elbo_gap``: Bayes' rule and the ELBO gap for a 1-D latent (S4, S6, S7):
   log p(x) = ELBO(q) + KL(q(z|x) || p(z|x)).
2. ``reparam_samples``: z = mu + A eps for one set of eps under two factors A of Sigma (S8).
3. ``decode_point`` / ``interpolate``: a trained 2-D-latent VAE's decoder over the latent plane (S5).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .._checks import check_positive_int, check_tensor
from ..distributions import diag_gaussian_log_prob, gaussian_kl, standard_normal_log_prob
from ..reparam import reparameterize_full, scale_from_cholesky, scale_from_eigh
from ..toys import NonlinearGaussian
from ..tractable import LinearGaussian, grid_posterior, log_joint_fn, make_grid

# --- 1. Bayes' rule and the ELBO gap (S4, S6, S7) ----------------------------------------------


class ELBOGap(NamedTuple):
    """Everything the Bayes-rule explorer draws, for one x and one q(z|x) = N(q_mu, exp(q_logscale)^2).

    Densities are log-densities at the grid points ``z (N,)``; the numbers are Python floats in nats.
    """

    z: Tensor  # (N,) grid over the 1-D latent
    log_prior: Tensor  # (N,) log p(z)
    log_posterior: Tensor  # (N,) log p(z|x): closed form (linear) or grid quadrature (S4)
    log_q: Tensor  # (N,) log q(z|x)
    log_px: float  # log p(x): closed form or quadrature
    reconstruction: float  # E_q log p(x|z) (S7)
    kl_prior: float  # KL(q(z|x) || p(z)) (S7)
    elbo: float  # reconstruction - kl_prior (S6)
    gap: float  # log p(x) - ELBO = KL(q(z|x) || p(z|x)) >= 0 (S7)


def bayes_models() -> dict[str, Any]:
    """The explorer's models, all with a 1-D latent: two linear-Gaussian (exact) and two nonlinear."""
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return {
        "linear-Gaussian, D=1": LinearGaussian(t([1.5]), t(0.0), 0.8),
        "linear-Gaussian, D=2": LinearGaussian(t([1.2], [-0.8]), t(0.3, 0.0), 0.7),
        "nonlinear f(z) = z², D=1": NonlinearGaussian(lambda z: z**2, 1, 1, 0.5),
        "nonlinear spiral, D=2": NonlinearGaussian.spiral(0.3),
    }


def _observed(model: Any, x: float | Sequence[float] | Tensor) -> Tensor:
    """x as a ``(1, D)`` float64 row, checked against ``model.x_dim``."""
    x = torch.as_tensor(x, dtype=torch.float64).reshape(1, -1)
    return check_tensor("x", x, last=model.x_dim)


@functools.lru_cache(maxsize=8)
def _gauss_hermite(n: int) -> tuple[Tensor, Tensor]:
    """Nodes t and weights w with E_{N(0,1)} g(e) ~ sum_i w_i g(t_i), exact for polynomials of degree < 2n."""
    t, w = np.polynomial.hermite.hermgauss(n)
    return torch.from_numpy(t * math.sqrt(2.0)), torch.from_numpy(w / math.sqrt(math.pi))


def expected_log_likelihood(model: Any, x: Tensor, q_mu: Tensor, q_logscale: Tensor, n_hermite: int = 96) -> Tensor:
    """E_{z ~ N(q_mu, exp(q_logscale)^2)} log p(x|z) by Gauss-Hermite quadrature (S7), 1-D latent.

    Exact for the linear-Gaussian model (a quadratic in z). ``x (1, D)``, ``q_mu, q_logscale ()``
    -> ``()``; differentiable in ``q_mu, q_logscale``.
    """
    t, w = _gauss_hermite(n_hermite)
    z = (q_mu + torch.exp(q_logscale) * t).reshape(-1, 1, 1)  # (K, B=1, L=1)
    return (w * model.log_likelihood(x, z)[:, 0]).sum()


def elbo_gap(
    model: Any,
    x: float | Sequence[float] | Tensor,
    q_mu: float,
    q_logscale: float,
    *,
    lims: tuple[float, float] = (-5.0, 5.0),
    n: int = 2001,
) -> ELBOGap:
    """log p(x), ELBO(q) and the gap KL(q || p(z|x)) for q(z|x) = N(q_mu, exp(q_logscale)^2) (S4-S7).

    ``model`` has a 1-D latent and ``x_dim`` D: a ``LinearGaussian`` (exact log p(x) and p(z|x)) or
    any model with ``log_likelihood`` (e.g. ``toys.NonlinearGaussian``; log p(x) and p(z|x) by the
    midpoint rule on ``n`` points over ``lims``). The ELBO's expectation uses Gauss-Hermite nodes,
    its KL the closed form; gap = log p(x) - ELBO. ``x`` is one observation ``(D,)``.
    """
    if model.z_dim != 1:
        raise ValueError(f"model must have a 1-D latent (z_dim=1), got z_dim={model.z_dim}")
    check_positive_int("n", n)
    x = _observed(model, x)
    mu = torch.tensor(float(q_mu), dtype=torch.float64)
    logscale = torch.tensor(float(q_logscale), dtype=torch.float64)
    check_tensor("q_mu", mu, min_dim=0)
    check_tensor("q_logscale", logscale, min_dim=0)
    z = make_grid([lims], n).z  # (N, 1)
    if hasattr(model, "log_marginal"):  # closed forms (S3: the linear case is a Gaussian integral)
        log_px = model.log_marginal(x)[0]
        log_post = model.log_posterior(z.unsqueeze(1), x)[:, 0]
    else:  # quadrature (S2, S4)
        post = grid_posterior(log_joint_fn(model, x), [lims], n)
        log_px, log_post = post.log_marginal[0], post.log_prob[:, 0]
    reconstruction = expected_log_likelihood(model, x, mu, logscale)
    kl_prior = gaussian_kl(mu.reshape(1, 1), 2.0 * logscale.reshape(1, 1))[0]
    elbo = reconstruction - kl_prior
    return ELBOGap(
        z=z[:, 0],
        log_prior=standard_normal_log_prob(z),
        log_posterior=log_post,
        log_q=diag_gaussian_log_prob(z, mu.reshape(1), 2.0 * logscale.reshape(1)),
        log_px=float(log_px),
        reconstruction=float(reconstruction),
        kl_prior=float(kl_prior),
        elbo=float(elbo),
        gap=float(log_px - elbo),
    )


def best_gaussian_q(
    model: Any, x: float | Sequence[float] | Tensor, *, lims: tuple[float, float] = (-5.0, 5.0), n: int = 2001
) -> tuple[float, float]:
    """The ``(q_mu, q_logscale)`` that maximize the ELBO over Gaussians q(z|x), i.e. minimize the gap.

    Linear-Gaussian: the exact posterior (gap 0). Otherwise L-BFGS on the Gauss-Hermite ELBO,
    started at the highest grid point of p(z|x): with several modes q settles on one, and a gap remains.
    """
    x_row = _observed(model, x)
    if hasattr(model, "posterior"):
        mean, cov = model.posterior(x_row)
        return float(mean[0, 0]), 0.5 * math.log(float(cov[0, 0, 0]))
    post = grid_posterior(log_joint_fn(model, x_row), [lims], n)
    start = float(post.grid.z[post.log_prob[:, 0].argmax(), 0])
    params = torch.tensor([start, math.log(0.3)], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        kl = 0.5 * (params[0] ** 2 + torch.exp(2 * params[1]) - 1.0 - 2 * params[1])
        loss = kl - expected_log_likelihood(model, x_row, params[0], params[1])
        loss.backward()
        return loss

    opt.step(closure)
    mu, logscale = params.detach().tolist()
    return mu, logscale


# --- 2. The reparameterization trick with two factors of Sigma (S8) ----------------------------


class ReparamSamples(NamedTuple):
    """One eps cloud pushed through z = mu + A eps for the Cholesky factor and for Q D^{1/2}."""

    sigma: Tensor  # (2, 2) the covariance Sigma
    scale_chol: Tensor  # (2, 2) A = chol(Sigma), lower triangular
    scale_eigh: Tensor  # (2, 2) A = Q D^{1/2}, Sigma = Q D Q^T
    eps: Tensor  # (N, 2) eps ~ N(0, I), shared by both
    z_chol: Tensor  # (N, 2) mu + chol(Sigma) eps
    z_eigh: Tensor  # (N, 2) mu + Q D^{1/2} eps


def covariance_2d(sigma1: float, sigma2: float, rho: float) -> Tensor:
    """Sigma = [[s1^2, rho s1 s2], [rho s1 s2, s2^2]] as ``(2, 2)`` float64; needs s1, s2 > 0, |rho| < 1."""
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"{name} must be a positive standard deviation, got {s!r}")
    if not math.isfinite(rho) or abs(rho) >= 1:
        raise ValueError(f"rho must be a correlation strictly between -1 and 1 (Sigma positive definite), got {rho!r}")
    c = rho * sigma1 * sigma2
    return torch.tensor([[sigma1**2, c], [c, sigma2**2]], dtype=torch.float64)


def standard_eps(n: int, seed: int = 0) -> Tensor:
    """eps ~ N(0, I_2) from a fixed seed: ``(n, 2)`` float64, so every redraw reuses the same points."""
    check_positive_int("n", n)
    return torch.randn((n, 2), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def reparam_samples(
    mu: Sequence[float] | Tensor, sigma1: float, sigma2: float, rho: float, eps: Tensor
) -> ReparamSamples:
    """z = mu + A eps for A = chol(Sigma) and A = Q D^{1/2} with the same ``eps (N, 2)`` (S8).

    Both clouds are draws of N(mu, Sigma) since A A^T = Sigma for both; the same eps lands at
    different points, because the two A differ by a rotation (A_eigh = A_chol R, R orthogonal).
    """
    mu = check_tensor("mu", torch.as_tensor(mu, dtype=torch.float64), last=2)
    check_tensor("eps", eps, min_dim=2, last=2)
    sigma = covariance_2d(sigma1, sigma2, rho)
    a_chol, a_eigh = scale_from_cholesky(sigma), scale_from_eigh(sigma)
    eps = eps.to(torch.float64)
    z_chol = reparameterize_full(mu.expand_as(eps), a_chol, eps)
    z_eigh = reparameterize_full(mu.expand_as(eps), a_eigh, eps)
    return ReparamSamples(sigma, a_chol, a_eigh, eps, z_chol, z_eigh)


# --- 3. The latent plane of a trained VAE (S5) -------------------------------------------------


def _param_dtype(model: Any) -> torch.dtype:
    return next(model.parameters()).dtype


@torch.no_grad()
def decode_point(model: Any, z: Sequence[float] | Tensor) -> Tensor:
    """E[x|z] = ``model.decoder.mean(z)`` for one latent point ``z (L,)`` -> image ``(D,)``."""
    z = torch.as_tensor(z, dtype=_param_dtype(model))
    check_tensor("z", z, last=model.z_dim)
    return model.decoder.mean(z.reshape(1, -1))[0]


@torch.no_grad()
def posterior_means(model: Any, x: Tensor, *, batch_size: int = 1024) -> Tensor:
    """The means of q_phi(z|x) for every row of ``x (N, D)`` -> ``(N, L)``."""
    check_tensor("x", x, min_dim=2, last=model.x_dim)
    x = x.to(_param_dtype(model))
    return torch.cat([model.encode(xb).mu for xb in x.split(batch_size)])


class LatentPath(NamedTuple):
    """Decoded points along the segment z(t) = (1 - t) z_a + t z_b between two posterior means."""

    t: Tensor  # (T,) positions in [0, 1]
    z: Tensor  # (T, L) latent points
    images: Tensor  # (T, D) decoded means E[x|z(t)]


@torch.no_grad()
def interpolate(model: Any, x_a: Tensor, x_b: Tensor, t: float | Sequence[float] | Tensor) -> LatentPath:
    """Decode along the line between the posterior means of ``x_a`` and ``x_b`` (each ``(D,)``)."""
    dtype = _param_dtype(model)
    x = torch.stack([torch.as_tensor(x_a, dtype=dtype), torch.as_tensor(x_b, dtype=dtype)])
    z_a, z_b = posterior_means(model, x)
    t = torch.as_tensor(t, dtype=dtype).reshape(-1)
    if bool((t < 0).any()) or bool((t > 1).any()):
        raise ValueError(f"t must lie in [0, 1], got values in [{float(t.min()):.3g}, {float(t.max()):.3g}]")
    z = (1 - t)[:, None] * z_a + t[:, None] * z_b
    return LatentPath(t, z, model.decoder.mean(z))
