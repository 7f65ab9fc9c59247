"""The evidence lower bound (S6, S7), the importance-weighted bound and log p(x) estimates.

``model`` is anything with ``x_dim``, ``z_dim``, ``encode(x) -> q_z`` and
``log_likelihood(x, z) -> log p_theta(x|z)`` under the prior p(z) = N(0, I): a ``VAE`` or a
``tractable.LinearGaussian``. Every result is per example, ``(B,)``; sum over pixels, no batch mean.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ._checks import _describe, check_choice, check_generator, check_positive_int, check_tensor
from .distributions import Posterior, standard_normal_log_prob


class ELBOTerms(NamedTuple):
    """The two terms of S7 and their difference, each ``(B,)``."""

    reconstruction: Tensor  # E_q log p_theta(x|z)
    kl: Tensor  # KL(q_phi(z|x) || p(z))
    elbo: Tensor  # reconstruction - kl


def _check_model(model: Any, *, needs_encode: bool = True) -> None:
    needed = ("x_dim", "z_dim", "log_likelihood", "encode") if needs_encode else ("x_dim", "z_dim", "log_likelihood")
    missing = [a for a in needed if not hasattr(model, a)]
    if missing:
        raise TypeError(
            f"model must be a VAE or a tractable model (with {', '.join(needed)}), got {_describe(model)} "
            f"without {', '.join(missing)}"
        )


def _posterior(model: Any, x: Tensor, q_z: Posterior | None) -> Posterior:
    _check_model(model, needs_encode=q_z is None)
    check_tensor("x", x, min_dim=2, last=model.x_dim)
    if q_z is None:
        return model.encode(x)
    if not all(hasattr(q_z, a) for a in ("mu", "rsample", "log_prob", "kl")):
        raise TypeError(f"q_z must be a DiagonalGaussian, FullGaussian or StandardNormal, got {_describe(q_z)}")
    mu = q_z.mu
    try:  # q_z's batch must line up with x's (or broadcast against it), and its latent dim with the model's
        torch.broadcast_shapes(mu.shape[:-1], x.shape[:-1])
        ok = mu.shape[-1] == model.z_dim
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"q_z must have mu of shape {(*x.shape[:-1], model.z_dim)} to match x of shape {tuple(x.shape)} "
            f"and z_dim={model.z_dim}, got mu of shape {tuple(mu.shape)}"
        )
    return q_z


def elbo(
    model: Any,
    x: Tensor,
    *,
    n_samples: int = 1,
    kl: str = "analytic",
    generator: torch.Generator | None = None,
    q_z: Posterior | None = None,
) -> ELBOTerms:
    """L(x) = E_{q(z|x)} log p_theta(x|z) - KL(q(z|x) || p(z)) (S6), estimated with ``n_samples`` draws.

    The draws are reparameterized (S8), so the result is differentiable in the encoder's parameters.
    ``kl="analytic"`` uses the closed form (S7); ``kl="mc"`` the same draws' log q(z) - log p(z).
    ``q_z`` replaces the model's encoder, e.g. to evaluate an arbitrary q on a tractable model.
    Shapes: ``x (B, D)`` -> three ``(B,)`` tensors.
    """
    check_positive_int("n_samples", n_samples)
    check_choice("kl", kl, ("analytic", "mc"))
    q_z = _posterior(model, x, q_z)
    z = q_z.rsample(n_samples, generator=generator)  # (S, B, L)
    reconstruction = model.log_likelihood(x, z).mean(0)
    if kl == "analytic":
        kl_term = q_z.kl()
    else:
        kl_term = (q_z.log_prob(z) - standard_normal_log_prob(z)).mean(0)
    return ELBOTerms(reconstruction, kl_term, reconstruction - kl_term)


def log_importance_weights(
    model: Any, x: Tensor, k: int, *, generator: torch.Generator | None = None, q_z: Posterior | None = None
) -> Tensor:
    """log w_k = log p_theta(x|z_k) + log p(z_k) - log q(z_k|x), z_k ~ q(z|x): ``(k, B)``."""
    check_positive_int("k", k)
    q_z = _posterior(model, x, q_z)
    z = q_z.rsample(k, generator=generator)
    return model.log_likelihood(x, z) + standard_normal_log_prob(z) - q_z.log_prob(z)


def iwae_bound(
    model: Any, x: Tensor, k: int, *, generator: torch.Generator | None = None, q_z: Posterior | None = None
) -> Tensor:
    """IWAE_k(x) = E log (1/k) sum_k w_k (Burda et al. 2015): ELBO = IWAE_1 <= IWAE_k <= log p(x).

    Computed with log-sum-exp, stable for very negative log-weights. ``(B, D) -> (B,)``.
    """
    log_w = log_importance_weights(model, x, k, generator=generator, q_z=q_z)
    return torch.logsumexp(log_w, 0) - math.log(k)


@torch.no_grad()
def log_marginal_estimate(
    model: Any,
    x: Tensor,
    k: int = 1000,
    *,
    batch_size: int = 100,
    max_elements: int = 2**23,
    generator: torch.Generator | None = None,
) -> Tensor:
    """log p(x) ~ log (1/k) sum_k p(x|z_k) p(z_k) / q(z_k|x) with k importance samples, ``(B,)``.

    Memory stays bounded for any k and B: rows go ``batch_size`` at a time, and samples in chunks of
    at most ``max_elements / (batch_size * D)``, combined with a running log-sum-exp.
    """
    check_positive_int("k", k)
    check_positive_int("batch_size", batch_size)
    check_positive_int("max_elements", max_elements)
    check_generator(generator)
    _check_model(model)
    check_tensor("x", x, min_dim=2, last=model.x_dim)
    out = []
    for xb in x.split(batch_size):
        q_z = model.encode(xb)
        chunk = max(1, min(k, max_elements // (xb.shape[0] * max(model.x_dim, model.z_dim))))
        total = torch.full((xb.shape[0],), -math.inf, dtype=x.dtype, device=x.device)
        for start in range(0, k, chunk):
            log_w = log_importance_weights(model, xb, min(chunk, k - start), generator=generator, q_z=q_z)
            total = torch.logaddexp(total, torch.logsumexp(log_w, 0))
        out.append(total - math.log(k))
    return torch.cat(out)
