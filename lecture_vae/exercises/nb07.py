"""Checkers for notebook 07 (training a VAE on the digits): the negative-ELBO loss and a latent interpolation."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..distributions import bernoulli_log_prob, gaussian_kl
from ..model import VAE
from ._core import ExerciseResult, check_function


def reference_negative_elbo_loss(x: Tensor, x_logits: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """The loss = mean over the batch of -(log Bernoulli(x; sigmoid(x_logits)) - KL(q || p(z))) (S6, S7)."""
    return -(bernoulli_log_prob(x, x_logits) - gaussian_kl(mu, logvar)).mean()


def _loss_cases() -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    cases = []
    for seed, (b, d, l), dtype in [
        (0, (4, 6, 2), torch.float32),
        (1, (7, 64, 3), torch.float64),
        (2, (1, 5, 1), torch.float32),
    ]:
        g = torch.Generator().manual_seed(seed)
        x = torch.rand((b, d), generator=g, dtype=dtype)  # grey levels in [0, 1]
        x_logits = 3.0 * torch.randn((b, d), generator=g, dtype=dtype)
        mu, logvar = torch.randn((b, l), generator=g, dtype=dtype), torch.randn((b, l), generator=g, dtype=dtype)
        cases.append((x, x_logits, mu, logvar))
    # confident decoder: logits of +-40 make sigmoid() round to exactly 0 or 1 in float32
    x = torch.tensor([[0.0, 1.0, 0.5, 0.2], [1.0, 0.0, 0.9, 0.0]])
    cases.append(
        (
            x,
            torch.tensor([[-40.0, 40.0, 40.0, -40.0], [40.0, -40.0, -40.0, 40.0]]),
            torch.zeros(2, 2),
            torch.zeros(2, 2),
        )
    )
    return cases


def check_negative_elbo_loss(student_fn: Callable[..., Tensor]) -> ExerciseResult:
    """``student_fn(x (B, D), x_logits (B, D), mu (B, L), logvar (B, L))`` -> scalar loss, as in ``fit``."""
    return check_function(
        "negative_elbo_loss",
        student_fn,
        reference_negative_elbo_loss,
        _loss_cases(),
        atol=1e-4,
        rtol=1e-5,
        describe=lambda c: f"x {tuple(c[0].shape)}, z_dim {c[2].shape[-1]}, {c[0].dtype}",
    )


@torch.no_grad()
def reference_latent_interpolation(model: VAE, x_a: Tensor, x_b: Tensor, n: int) -> Tensor:
    """Decoded means E[x|z_t] along z_t = (1 - t) mu(x_a) + t mu(x_b), t = 0, 1/(n-1), ..., 1."""
    mu = model.encode(torch.stack([x_a, x_b])).mu  # (2, L)
    t = torch.linspace(0.0, 1.0, n, dtype=mu.dtype).unsqueeze(-1)  # (n, 1)
    return torch.sigmoid(model.decode((1 - t) * mu[0] + t * mu[1]))


def _small_vae(seed: int, x_dim: int, z_dim: int) -> VAE:
    """A VAE with weights drawn from a seeded generator (no global RNG), in eval mode."""
    model = VAE(x_dim, z_dim, hidden=(12,))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return model.eval()


def _interpolation_cases() -> list[tuple[VAE, Tensor, Tensor, int]]:
    cases = []
    for seed, (d, l, n) in enumerate([(16, 2, 5), (64, 3, 8), (10, 1, 2)]):
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.rand((2, d), generator=g)
        cases.append((_small_vae(seed, d, l), x[0], x[1], n))
    return cases


def check_latent_interpolation(student_fn: Callable[..., Tensor]) -> ExerciseResult:
    """``student_fn(model, x_a (D,), x_b (D,), n)`` -> ``(n, D)`` pixel means along the line between two codes."""
    return check_function(
        "latent_interpolation",
        student_fn,
        reference_latent_interpolation,
        _interpolation_cases(),
        describe=lambda c: f"D={c[0].x_dim}, L={c[0].z_dim}, n={c[3]}",
    )


__all__ = [
    "check_latent_interpolation",
    "check_negative_elbo_loss",
    "reference_latent_interpolation",
    "reference_negative_elbo_loss",
]
