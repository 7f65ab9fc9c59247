"""Checkers for notebook 04 (S5, encoder and decoder)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..distributions import gaussian_log_prob
from ..model import Encoder
from ._core import ExerciseResult, check_function


def reference_gaussian_decoder_log_prob(x: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mean, diag e^logvar) summed over the last dim: ``(..., B, D)`` -> ``(..., B)`` (S3, S5)."""
    return gaussian_log_prob(x, mean, logvar)


def _gaussian_cases() -> list[tuple[Tensor, Tensor, Tensor]]:
    g = torch.Generator().manual_seed(404)
    x = torch.rand(4, 6, generator=g, dtype=torch.float64)
    mean = torch.rand(4, 6, generator=g, dtype=torch.float64)
    return [
        (x, mean, torch.zeros(4, 6, dtype=torch.float64)),  # unit variance
        (x, mean, torch.full((4, 6), -2.0, dtype=torch.float64)),  # sigma^2 = e^-2
        (x, mean, torch.randn(4, 6, generator=g, dtype=torch.float64)),  # one variance per pixel and row
        (x, torch.rand(3, 4, 6, generator=g, dtype=torch.float64), torch.full((3, 4, 6), 1.5, dtype=torch.float64)),
    ]


def check_gaussian_decoder_log_prob(student_fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> ExerciseResult:
    """``student_fn(x (B, D), mean (..., B, D), logvar (..., B, D)) -> (..., B)``: log N(x; mean, diag e^logvar)
    summed over pixels, the Gaussian decoder of the notes (S3, S5)."""
    return check_function(
        "gaussian_decoder_log_prob",
        student_fn,
        reference_gaussian_decoder_log_prob,
        _gaussian_cases(),
        atol=1e-8,
        rtol=1e-8,
        describe=lambda c: f"mean {tuple(c[1].shape)}, logvar = {float(c[2].flatten()[0]):.2g}, ...",
    )


def reference_encoder_scale_tril(h: Tensor, z_dim: int) -> Tensor:
    """The package's encoder head with an identity layer: raw output h -> its Cholesky factor."""
    encoder = Encoder(h.shape[-1], z_dim, hidden=(), posterior="full").to(h.dtype)
    with torch.no_grad():
        encoder.net[0].weight.copy_(torch.eye(h.shape[-1], dtype=h.dtype))
        encoder.net[0].bias.zero_()
        return encoder(h).scale_tril


def _tril_cases() -> list[tuple[Tensor, int]]:
    g = torch.Generator().manual_seed(405)
    cases = []
    for batch, z_dim in [(1, 2), (3, 3), (5, 4)]:
        n_out = 2 * z_dim + z_dim * (z_dim - 1) // 2
        cases.append((torch.randn(batch, n_out, generator=g, dtype=torch.float64), z_dim))
    return cases


def check_encoder_scale_tril(student_fn: Callable[[Tensor, int], Tensor]) -> ExerciseResult:
    """``student_fn(h (B, 2L + L(L-1)/2), z_dim) -> scale_tril (B, L, L)``: the encoder head's raw output
    ``[mu | logvar | strictly-lower entries in torch.tril_indices(L, L, -1) order]`` -> its Cholesky factor."""
    return check_function(
        "encoder_scale_tril",
        student_fn,
        reference_encoder_scale_tril,
        _tril_cases(),
        atol=1e-10,
        rtol=1e-10,
        describe=lambda c: f"h of shape {tuple(c[0].shape)}, z_dim={c[1]}",
    )


__all__ = [
    "check_encoder_scale_tril",
    "check_gaussian_decoder_log_prob",
    "reference_encoder_scale_tril",
    "reference_gaussian_decoder_log_prob",
]
