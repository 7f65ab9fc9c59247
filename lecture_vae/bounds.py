"""The evidence lower bound (S6, S7), the importance-weighted bound and log p(x) estimates.

``model`` is a ``ModelLike``: anything with ``x_dim``, ``z_dim``, ``encode(x) -> q_z`` and
``log_likelihood(x, z) -> log p_theta(x|z)`` under the prior p(z) = N(0, I), such as a ``VAE`` or a
``tractable.LinearGaussian``. Every result is per example, ``(B,)``; sum over pixels, no batch mean.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor

from ._checks import check, choice, data, generator_or_none, model_like, positive_int, posterior
from .distributions import Posterior, standard_normal_log_prob

KL_ESTIMATORS = ("analytic", "mc")


@runtime_checkable
class LikelihoodModel(Protocol):
    """A decoder p_theta(x|z) with the prior p(z) = N(0, I): ``x (B, D)``, ``z (..., B, L)`` -> ``(..., B)``."""

    x_dim: int  # D
    z_dim: int  # L

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor: ...


@runtime_checkable
class ModelLike(LikelihoodModel, Protocol):
    """A model the bounds accept: a ``LikelihoodModel`` with an encoder ``encode(x) -> q_z`` (S5)."""

    def encode(self, x: Tensor) -> Posterior: ...


class ELBOTerms(NamedTuple):
    """The two terms of S7 and their difference, each ``(B,)``."""

    reconstruction: Tensor  # E_q log p_theta(x|z)
    kl: Tensor  # KL(q_phi(z|x) || p(z))
    elbo: Tensor  # reconstruction - kl


def elbo(
    model: ModelLike,
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
    check(n_samples=positive_int(n_samples), kl=choice(kl, KL_ESTIMATORS), **_model_args(model, x, q_z, generator))
    q_z = model.encode(x) if q_z is None else q_z
    z = q_z.rsample(n_samples, generator=generator)  # (S, B, L)
    reconstruction = model.log_likelihood(x, z).mean(0)
    if kl == "analytic":
        kl_term = q_z.kl()
    else:
        kl_term = (q_z.log_prob(z) - standard_normal_log_prob(z)).mean(0)
    return ELBOTerms(reconstruction, kl_term, reconstruction - kl_term)


def log_importance_weights(
    model: ModelLike, x: Tensor, k: int, *, generator: torch.Generator | None = None, q_z: Posterior | None = None
) -> Tensor:
    """log w_k = log p_theta(x|z_k) + log p(z_k) - log q(z_k|x), z_k ~ q(z|x): ``(k, B)``."""
    check(k=positive_int(k), **_model_args(model, x, q_z, generator))
    q_z = model.encode(x) if q_z is None else q_z
    z = q_z.rsample(k, generator=generator)
    return model.log_likelihood(x, z) + standard_normal_log_prob(z) - q_z.log_prob(z)


def iwae_bound(
    model: ModelLike, x: Tensor, k: int, *, generator: torch.Generator | None = None, q_z: Posterior | None = None
) -> Tensor:
    """IWAE_k(x) = E log (1/k) sum_k w_k (Burda et al. 2015): ELBO = IWAE_1 <= IWAE_k <= log p(x).

    Computed with log-sum-exp, stable for very negative log-weights. ``(B, D) -> (B,)``.
    """
    log_w = log_importance_weights(model, x, k, generator=generator, q_z=q_z)
    return torch.logsumexp(log_w, 0) - math.log(k)


@torch.no_grad()
def log_marginal_estimate(
    model: ModelLike,
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
    check(k=positive_int(k), batch_size=positive_int(batch_size), max_elements=positive_int(max_elements),
          **_model_args(model, x, None, generator))  # fmt: skip
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


def _model_args(model: object, x: object, q_z: object, generator: object) -> dict[str, object]:
    """The specs of the arguments every bound shares: a model (with an encoder unless q_z is given),
    its data x (B, D), an optional q_z for x, and the generator."""
    protocol = ModelLike if q_z is None else LikelihoodModel
    return {
        "model": model_like(model, protocol),
        "x": data(x),
        "q_z": posterior(q_z, optional=True),
        "generator": generator_or_none(generator),
    }
