"""Argument checks shared by the public functions: each failure names the argument,
what was expected and what was given, so a student sees the mistake, not a wrong number."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor


def _describe(x: object) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # a NumPy array: say how to convert it
        return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype} (convert with torch.as_tensor)"
    text = repr(x)
    return f"{type(x).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


_state = threading.local()


@contextlib.contextmanager
def value_checks(enabled: bool) -> Iterator[None]:
    """Switch the checks that read tensor *values* (NaN/Inf, [0, 1] range) on or off in this thread.

    Shape, dtype and type checks always run. ``fit`` turns value checks off inside its training loop:
    it checks the data once up front and the loss and gradients at every step, so the per-call checks
    would only cost time (each is a full pass over the tensor plus a synchronization).
    """
    old = getattr(_state, "values", True)
    _state.values = enabled
    try:
        yield
    finally:
        _state.values = old


def _values_on() -> bool:
    return getattr(_state, "values", True)


def check_tensor(
    name: str,
    x: object,
    *,
    min_dim: int = 1,
    last: int | None = None,
    finite: bool = True,
    allow_empty: bool = False,
    ndim: int | None = None,
) -> Tensor:
    """Return ``x`` if it is a floating tensor with at least ``min_dim`` dims (exactly ``ndim`` if given)
    and last dim ``last``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype} (convert with .float())")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {tuple(x.shape)}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have exactly {ndim} dimensions, got shape {tuple(x.shape)}")
    if last is not None and x.shape[-1] != last:
        raise ValueError(f"{name} must have last dimension {last}, got shape {tuple(x.shape)}")
    if not allow_empty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and _values_on() and not bool(torch.isfinite(x).all()):
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


def check_event_dims(names: Sequence[str], *tensors: Tensor) -> torch.Size:
    """Like ``check_broadcast``, and the last (event) dimension must be the same for all ``tensors``.

    Only leading (batch / sample) dims broadcast: a last dim of 1 against L would silently sum L copies.
    """
    shape = check_broadcast(names, *tensors)
    if len({t.shape[-1] for t in tensors}) > 1:
        shapes = ", ".join(f"{n}={tuple(t.shape)}" for n, t in zip(names, tensors, strict=True))
        raise ValueError(f"{' and '.join(names)} must have the same last (event) dimension, got {shapes}")
    return shape


def check_unit_interval(name: str, x: Tensor) -> Tensor:
    """Values of a Bernoulli observation must lie in [0, 1]."""
    if _values_on() and x.numel() and (bool((x < 0).any()) or bool((x > 1).any())):
        lo, hi = float(x.min()), float(x.max())
        raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli likelihood, got values in [{lo:.4g}, {hi:.4g}]")
    return x


def check_generator(generator: object) -> None:
    """``generator`` is a ``torch.Generator`` or None (a seed goes through ``torch.Generator().manual_seed``)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {_describe(generator)} "
            "(make one with torch.Generator().manual_seed(seed))"
        )


def check_callable(name: str, f: object) -> None:
    if not callable(f):
        raise TypeError(f"{name} must be a callable (a function), got {_describe(f)}")


def check_dtype(name: str, x: Tensor, dtype: torch.dtype) -> Tensor:
    """``x`` must match the model's parameter dtype (NumPy data often arrives as float64)."""
    if x.dtype != dtype:
        raise TypeError(f"{name} must have the model's dtype {dtype}, got dtype {x.dtype} (convert with .to({dtype}))")
    return x


def check_positive_ints(name: str, values: object) -> tuple[int, ...]:
    """A sequence of positive ints, e.g. hidden layer widths ``(256, 128)``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of positive ints such as (256,), got {_describe(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must contain only positive ints, got {list(values)!r}")
    return tuple(values)


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
        upper = float(scale_tril.triu(1).abs().max())
        raise ValueError(
            f"{name} must be lower triangular (a Cholesky factor), got nonzero entries above the diagonal "
            f"(largest |value| {upper:.4g})"
        )
    diag = scale_tril.diagonal(dim1=-2, dim2=-1)
    if bool((diag <= 0).any()):
        raise ValueError(
            f"{name} must have a strictly positive diagonal, got minimum diagonal entry {float(diag.min()):.4g}"
        )
    return scale_tril
