"""Argument checks shared by the public functions: each failure names the argument,
what was expected and what was given, so a student sees the mistake, not a wrong number."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _describe(x: object) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def check_tensor(
    name: str,
    x: object,
    *,
    min_dim: int = 1,
    last: int | None = None,
    finite: bool = True,
    allow_empty: bool = False,
) -> Tensor:
    """Return ``x`` if it is a floating tensor with at least ``min_dim`` dims (and last dim ``last``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {tuple(x.shape)}")
    if last is not None and x.shape[-1] != last:
        raise ValueError(f"{name} must have last dimension {last}, got shape {tuple(x.shape)}")
    if not allow_empty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must be finite, got {n_bad} NaN/Inf value(s) in shape {tuple(x.shape)}")
    return x


def check_broadcast(names: Sequence[str], *tensors: Tensor) -> torch.Size:
    """Return the broadcast shape of ``tensors`` or raise a ValueError naming them."""
    try:
        return torch.broadcast_shapes(*(t.shape for t in tensors))
    except RuntimeError:
        shapes = ", ".join(f"{n}={tuple(t.shape)}" for n, t in zip(names, tensors, strict=True))
        raise ValueError(f"shapes do not broadcast: {shapes}") from None


def check_unit_interval(name: str, x: Tensor) -> Tensor:
    """Values of a Bernoulli observation must lie in [0, 1]."""
    if x.numel() and (bool((x < 0).any()) or bool((x > 1).any())):
        lo, hi = float(x.min()), float(x.max())
        raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli likelihood, got values in [{lo:.4g}, {hi:.4g}]")
    return x


def check_positive_int(name: str, k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"{name} must be a positive int, got {_describe(k)}")
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}")
    return k


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_square(name: str, m: Tensor) -> Tensor:
    check_tensor(name, m, min_dim=2)
    if m.shape[-1] != m.shape[-2]:
        raise ValueError(f"{name} must be square in its last two dimensions (..., L, L), got shape {tuple(m.shape)}")
    return m


def check_scale_tril(name: str, scale_tril: Tensor) -> Tensor:
    """A Cholesky factor: square, lower triangular, strictly positive diagonal."""
    check_square(name, scale_tril)
    if not torch.equal(scale_tril, scale_tril.tril()):
        raise ValueError(f"{name} must be lower triangular (a Cholesky factor), got nonzero entries above the diagonal")
    diag = scale_tril.diagonal(dim1=-2, dim2=-1)
    if bool((diag <= 0).any()):
        raise ValueError(
            f"{name} must have a strictly positive diagonal, got minimum diagonal entry {float(diag.min()):.4g}"
        )
    return scale_tril
