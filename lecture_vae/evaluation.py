"""Evaluating a trained VAE: how tight its bound is and which latent dimensions it uses.

- ``iwae_curve``: IWAE_K against K with Monte Carlo error bars (Burda et al. 2015): ELBO = IWAE_1 <= IWAE_K <= log p(x).
- ``mean_field_gaussian``: the best diagonal q for a Gaussian posterior, to compare with the full one.
- ``kl_per_dimension``, ``active_units``, ``posterior_summary``: per-dimension KL and the active units
  A_u = Cov_x(E_q[z_u]) > 0.01 of Burda et al. (2015), the measure of posterior collapse.

``lecture_vae.training.sweep.beta_sweep`` trains the same model at several KL weights and summarizes each with
``posterior_summary``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from ._checks import check, check_positive_int, data, model_like, positive_int, posterior, scale_matrix, tensor
from .bounds import ModelLike, iwae_bound
from .distributions import DiagonalGaussian, Posterior, StandardNormal

ACTIVE_THRESHOLD = 0.01  # Burda et al. (2015), Sec. 5.2: a unit is active if Cov_x(E_q[u]) > 0.01


def kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu_l, exp(logvar_l)) || N(0, 1)) for each latent dimension l, not summed.

    Shapes: ``(B, L), (B, L) -> (B, L)``; summing the last dim gives ``gaussian_kl`` (S7).
    Only a diagonal q splits into per-dimension terms.
    """
    shape = check(mu=mu, logvar=logvar)
    return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).expand(shape)


def unit_activity(mu: Tensor) -> Tensor:
    """A_u = Cov_x(E_q[z_u]): the variance over data points of each posterior mean, ``(N, L) -> (L,)``.

    Sample variance (divisor N - 1). A unit whose mean does not move with x carries no information about x.
    """
    check(mu=tensor(mu, min_dim=2))
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must have shape (N, L) with N >= 2 posterior means, got {tuple(mu.shape)}")
    return mu.var(0)


def active_units(mu: Tensor, threshold: float = ACTIVE_THRESHOLD) -> Tensor:
    """Which units are active: A_u > ``threshold`` (Burda et al. 2015). ``mu (N, L)`` -> bool ``(L,)``."""
    if not isinstance(threshold, (int, float)) or not threshold >= 0:
        raise ValueError(f"threshold must be a float >= 0, got {threshold!r}")
    return unit_activity(mu) > threshold


class Encodes(Protocol):
    """What ``encode_all`` needs: an encoder ``encode(x) -> q_z`` for data of dimension ``x_dim``."""

    x_dim: int

    def encode(self, x: Tensor) -> Posterior: ...


@torch.no_grad()
def encode_all(model: Encodes, x: Tensor, *, batch_size: int = 512) -> Posterior:
    """q_phi(z|x) for every row of ``x (N, D)``, encoded ``batch_size`` rows at a time without gradients."""
    check(batch_size=positive_int(batch_size), model=model_like(model, Encodes), x=data(x))
    parts = [model.encode(xb) for xb in x.split(batch_size)]
    names = [f.name for f in dataclasses.fields(parts[0])]
    return type(parts[0])(**{n: torch.cat([getattr(p, n) for p in parts]) for n in names})


class PosteriorSummary(NamedTuple):
    """How a model uses its latent dimensions on a data set; every field is per dimension ``(L,)``."""

    kl: Tensor  # E_x KL(q(z_l|x) || N(0, 1)), nats; sums to the mean KL term of the ELBO
    activity: Tensor  # A_l = Cov_x(E_q[z_l])
    active: Tensor  # bool, A_l > threshold
    n_active: int  # number of active units


def posterior_summary(
    model: ModelLike, x: Tensor, *, threshold: float = ACTIVE_THRESHOLD, batch_size: int = 512
) -> PosteriorSummary:
    """Per-dimension KL and activity of a diagonal-posterior model on the data ``x (N, D)``."""
    q_z = encode_all(model, x, batch_size=batch_size)
    if not isinstance(q_z, DiagonalGaussian):
        raise TypeError(f"model must have a diagonal posterior (DiagonalGaussian), got {type(q_z).__name__}")
    active = active_units(q_z.mu, threshold)
    return PosteriorSummary(
        kl_per_dimension(q_z.mu, q_z.logvar).mean(0), unit_activity(q_z.mu), active, int(active.sum())
    )


class BoundCurve(NamedTuple):
    """IWAE_K averaged over the data, for each K: ``k`` a list, ``mean`` and ``stderr`` ``(len(k),)``."""

    k: list[int]
    mean: Tensor  # mean over the rows of x and over the repeats
    stderr: Tensor  # standard error over the repeats: Monte Carlo error, not the spread over data points


@torch.no_grad()
def iwae_curve(
    model: ModelLike,
    x: Tensor,
    ks: Sequence[int],
    *,
    n_repeats: int = 5,
    generator: torch.Generator | None = None,
    q_z: Posterior | None = None,
    max_elements: int = 2**21,
) -> BoundCurve:
    """IWAE_K(x) = E log (1/K) sum_k w_k for each K in ``ks``, averaged over the rows of ``x (B, D)``.

    Each K is estimated ``n_repeats`` times with fresh samples; ``stderr`` is their standard deviation
    over sqrt(n_repeats). Rows go in chunks so that K * rows * D stays below ``max_elements``.
    ``q_z`` (for all rows of x) replaces the model's encoder. K = 1 is the ELBO (Burda et al. 2015, Thm. 1).
    """
    ks = [check_positive_int("ks (each K)", k) for k in ks]
    if not ks:
        raise ValueError("ks must hold at least one K")
    check(n_repeats=positive_int(n_repeats), max_elements=positive_int(max_elements),
          model=model_like(model, ModelLike), x=data(x), q_z=posterior(q_z, optional=True))  # fmt: skip
    q_z = model.encode(x) if q_z is None else q_z
    means, errors = [], []
    for k in ks:
        rows = max(1, max_elements // (k * max(model.x_dim, model.z_dim)))
        reps = []
        for _ in range(n_repeats):
            total = x.new_zeros(())
            for start in range(0, x.shape[0], rows):
                part = slice(start, start + rows)
                total = total + iwae_bound(model, x[part], k, generator=generator, q_z=_rows(q_z, part)).sum()
            reps.append(total / x.shape[0])
        r = torch.stack(reps)
        means.append(r.mean())
        errors.append(r.std() / math.sqrt(n_repeats) if n_repeats > 1 else torch.full_like(r[0], math.nan))
    return BoundCurve(ks, torch.stack(means), torch.stack(errors))


def _rows(q_z: Posterior, part: slice) -> Posterior:
    """The posterior of the rows ``part`` of a batch."""
    if isinstance(q_z, StandardNormal):  # the same prior for every row
        n = len(range(q_z.batch)[part])
        return dataclasses.replace(q_z, batch=n)
    return type(q_z)(**{f.name: getattr(q_z, f.name)[part] for f in dataclasses.fields(q_z)})


def mean_field_gaussian(mean: Tensor, cov: Tensor) -> DiagonalGaussian:
    """The diagonal q closest to p = N(mean, cov) in KL(q || p): q = N(mean, diag(1 / diag(cov^-1))).

    Setting the gradient of KL(q || p) to zero gives q's mean = p's mean and precision = the diagonal of
    p's precision (Bishop 2006, Sec. 10.1.2): a diagonal q is too narrow when p is correlated.
    Shapes: ``mean (B, L)``, ``cov (B, L, L)`` or ``(L, L)`` -> ``DiagonalGaussian`` with ``(B, L)`` fields.
    """
    check(mean=tensor(mean, min_dim=2), cov=scale_matrix(cov, like="mean"))
    precision_diag = torch.linalg.inv(cov).diagonal(dim1=-2, dim2=-1)
    return DiagonalGaussian(mean, (-precision_diag.log()).expand_as(mean))


@torch.no_grad()
def latent_traversal(model: Any, z: Tensor, dim: int, values: Sequence[float] | Tensor) -> Tensor:
    """Decoded means E[x | z with z_dim set to each of ``values``]: ``z (L,)`` -> ``(len(values), D)``.

    Walking one latent coordinate with the others fixed shows what that dimension encodes; a collapsed
    dimension (q(z_l|x) = p(z_l) for every x) leaves the decoded image unchanged.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < model.z_dim:
        raise ValueError(f"dim must be an int in [0, {model.z_dim}), got {dim!r}")
    values = torch.as_tensor(values, dtype=z.dtype, device=z.device) if isinstance(z, Tensor) else values
    check(z=tensor(z, ndim=1, last=model.z_dim, event=False), values=tensor(values, ndim=1, event=False))
    zs = z.expand(values.numel(), -1).clone()  # (V, L)
    zs[:, dim] = values
    return model.decoder.mean(zs)
