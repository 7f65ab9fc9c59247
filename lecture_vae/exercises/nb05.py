"""Checkers for notebook 05 (S6, S7: the ELBO and its KL term)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..distributions import gaussian_kl
from ..model import VAE
from ..reparam import reparameterize
from ._core import ExerciseResult, check_function


def reference_gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)) in closed form, summed over the last dim: ``(B, L)`` -> ``(B,)``."""
    return gaussian_kl(mu, logvar)


def _kl_cases() -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(505)
    f64 = {"generator": g, "dtype": torch.float64}
    return [
        (torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)),  # q = p: KL = 0
        (torch.randn(4, 2, **f64), torch.zeros(4, 2, dtype=torch.float64)),  # unit variance, moved mean
        (torch.zeros(3, 5, dtype=torch.float64), torch.randn(3, 5, **f64)),  # centred, other variances
        (torch.randn(6, 4, **f64), 2.0 * torch.randn(6, 4, **f64)),
    ]


def check_gaussian_kl(student_fn: Callable[[Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(mu (B, L), logvar (B, L)) -> (B,)``: KL(N(mu, diag e^logvar) || N(0, I)) in closed form (S7)."""
    return check_function(
        "gaussian_kl",
        student_fn,
        reference_gaussian_kl,
        _kl_cases(),
        atol=1e-10,
        rtol=1e-10,
        describe=lambda c: f"mu {tuple(c[0].shape)}, |mu|max={float(c[0].abs().max()):.2g}",
    )


def reference_elbo(model: Any, x: Tensor, eps: Tensor) -> Tensor:
    """One-sample ELBO with analytic KL: log p(x | mu + sigma * eps) - KL(q(z|x) || p(z)), ``(B,)``."""
    q_z = model.encode(x)
    z = reparameterize(q_z.mu, q_z.logvar, eps)
    return model.log_likelihood(x, z) - gaussian_kl(q_z.mu, q_z.logvar)


def _elbo_cases() -> list[tuple[VAE, Tensor, Tensor]]:
    g = torch.Generator().manual_seed(506)
    cases = []
    with torch.random.fork_rng():  # the models' random weights must not touch the notebook's global RNG
        torch.manual_seed(506)
        for likelihood, x_dim, z_dim, batch in [("bernoulli", 12, 2, 3), ("gaussian", 10, 3, 4)]:
            model = VAE(x_dim, z_dim, hidden=(16,), likelihood=likelihood).double()
            x = torch.rand(batch, x_dim, generator=g, dtype=torch.float64)
            if likelihood == "bernoulli":
                x = (x > 0.5).double()
            else:  # a learned per-pixel variance far from 1: an ELBO that ignores x_logvar fails
                with torch.no_grad():
                    logvar = torch.randn(x_dim, generator=torch.Generator().manual_seed(507), dtype=torch.float64)
                    model.decoder.x_logvar.copy_(logvar)
            cases.append((model, x, torch.randn(batch, z_dim, generator=g, dtype=torch.float64)))
    return cases


def check_elbo(student_fn: Callable[[Any, Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(model, x (B, D), eps (B, L)) -> (B,)``: the one-sample reparameterized ELBO with the
    closed-form KL, for a VAE with a diagonal-Gaussian encoder (S6, S7, S8)."""
    with torch.no_grad():
        return check_function(
            "elbo",
            student_fn,
            reference_elbo,
            _elbo_cases(),
            atol=1e-8,
            rtol=1e-8,
            describe=lambda c: f"{c[0].config.likelihood} VAE, x {tuple(c[1].shape)}",
        )


__all__ = ["check_elbo", "check_gaussian_kl", "reference_elbo", "reference_gaussian_kl"]
