"""Argument checks shared by the public functions: each failure names the argument, what was expected
and what was given, so a student sees the mistake, not a wrong number.

A lecture function declares its arguments in one call, then states its formula::

    check(mu=mu, logvar=logvar)                       # float tensors, finite, one event (last) dim
    check(x=unit(x), logits=logits)                   # x in [0, 1] for a Bernoulli likelihood
    check(mu=mu, scale_tril=cholesky(scale_tril))     # a Cholesky factor of shape (B, L, L) for mu (B, L)
    check(k=positive_int(k), generator=generator_or_none(generator))

A bare tensor argument means ``tensor(x)``: a non-empty floating tensor with >= 1 dims and no NaN/Inf.
All tensors declared with ``event=True`` (the default) must share their last (event) dimension and
broadcast over the leading (batch / sample) ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


class NonFiniteError(ValueError):
    """A tensor argument holds NaN or Inf; the message names the argument and how many values are bad."""


def describe(x: object) -> str:
    """How an argument is named in an error message: type, and shape and dtype for arrays."""
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # a NumPy array: say how to convert it
        return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype} (convert with torch.as_tensor)"
    text = repr(x)
    return f"{type(x).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


# --- declarative specs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """An argument's value and the check it must pass; ``check`` sees every argument of the call by name."""

    value: object
    rule: Callable[[str, object, dict[str, object]], None]
    event: bool = False  # takes part in the shared event-dim / broadcast check
    optional: bool = False  # None is accepted (and skipped)


def tensor(
    x: object,
    *,
    min_dim: int = 1,
    ndim: int | None = None,
    last: int | None = None,
    dtype: torch.dtype | None = None,
    finite: bool = True,
    unit: bool = False,
    allow_empty: bool = False,
    event: bool = True,
    optional: bool = False,
) -> Spec:
    """A floating tensor with >= ``min_dim`` dims (exactly ``ndim``), last dim ``last``, the given dtype,
    and (``unit``) values in [0, 1] as the observation of a Bernoulli likelihood."""

    def rule(name: str, v: object, _: dict[str, object]) -> None:
        check_tensor(name, v, min_dim=min_dim, ndim=ndim, last=last, finite=finite, allow_empty=allow_empty)
        if dtype is not None:
            check_dtype(name, v, dtype)  # type: ignore[arg-type]
        if unit:
            check_unit_interval(name, v)  # type: ignore[arg-type]

    return Spec(x, rule, event=event, optional=optional)


def unit(x: object) -> Spec:
    """A tensor whose values lie in [0, 1]: the observation of a Bernoulli likelihood."""
    return tensor(x, unit=True)


def latents(z: object, *, z_dim: int, dtype: torch.dtype, x: str = "x") -> Spec:
    """Latent draws ``z (..., B, L)`` for data ``x (B, D)``: last dim ``z_dim``, x's batch dims at the end."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        check_tensor(name, v, last=z_dim)
        check_dtype(name, v, dtype)  # type: ignore[arg-type]
        xv = named[x]
        assert isinstance(v, Tensor) and isinstance(xv, Tensor)
        try:  # say so in terms of x and z, not the decoder's output
            torch.broadcast_shapes(xv.shape[:-1], v.shape[:-1])
        except RuntimeError:
            raise ValueError(
                f"{x} and {name} must have matching batch dims, {x} (B, D) with {name} (..., B, L), "
                f"got {x}={tuple(xv.shape)}, {name}={tuple(v.shape)}"
            ) from None

    return Spec(z, rule)


def float_or_tensor(x: object, *, like: str) -> Spec:
    """A finite Python float, or a tensor of any dim that broadcasts against the argument named ``like``."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        if isinstance(v, Tensor):
            check_tensor(name, v, min_dim=0)
            check_broadcast((like, name), named[like], v)  # type: ignore[arg-type]
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{name} must be a float or a tensor, got {type(v).__name__} {v!r}")
        elif v != v or v in (float("inf"), float("-inf")):
            raise NonFiniteError(f"{name} must be finite, got {v!r}")

    return Spec(x, rule)


def log_variance(x: object) -> Spec:
    """A log-variance tensor whose standard deviation exp(logvar / 2) is finite in its dtype."""

    def rule(name: str, v: object, _: dict[str, object]) -> None:
        check_tensor(name, v)
        assert isinstance(v, Tensor)
        limit = 2.0 * math.log(torch.finfo(v.dtype).max)  # 177.4 in float32, 1419.6 in float64
        if bool((v >= limit).any()):
            raise ValueError(
                f"{name} must be below {limit:.1f} in {v.dtype} (exp({name} / 2) overflows to inf above it), "
                f"got max {float(v.max()):.4g}"
            )

    return Spec(x, rule, event=True)


def vector(x: object, *, like: str | None = None) -> Spec:
    """A tensor of shape ``(L,)`` (the same shape as the argument named ``like``)."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        check_tensor(name, v)
        other = named.get(like) if like is not None else None
        assert isinstance(v, Tensor)
        if isinstance(other, Tensor) and (other.dim() != 1 or other.shape != v.shape):
            raise ValueError(
                f"{like} and {name} must both have shape (L,), got {tuple(other.shape)} and {tuple(v.shape)}"
            )
        if v.dim() != 1:
            raise ValueError(f"{name} must have shape (L,), got {tuple(v.shape)}")

    return Spec(x, rule)


def cholesky(x: object, *, like: str = "mu") -> Spec:
    """A Cholesky factor ``(B, L, L)`` of a covariance for the mean named ``like`` ``(B, L)``."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        check_scale_tril(name, v)  # type: ignore[arg-type]
        mu = named[like]
        assert isinstance(v, Tensor) and isinstance(mu, Tensor)
        if v.shape[-1] != mu.shape[-1] or v.shape[:-2] != mu.shape[:-1]:
            raise ValueError(
                f"{name} must have shape {(*mu.shape[:-1], mu.shape[-1], mu.shape[-1])} to match "
                f"{like} of shape {tuple(mu.shape)}, got {tuple(v.shape)}"
            )

    return Spec(x, rule)


def scale_matrix(x: object, *, like: str = "mu", eps: str = "eps") -> Spec:
    """A square factor ``(B, L, L)`` or ``(L, L)`` of a covariance, with float dtype like ``like``'s."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        check_square(name, v)  # type: ignore[arg-type]
        mu, e = named[like], named.get(eps)
        assert isinstance(v, Tensor) and isinstance(mu, Tensor)
        if v.shape[-1] != mu.shape[-1]:
            raise ValueError(f"{name} must be ({mu.shape[-1]}, {mu.shape[-1]}) to match {like}, got {tuple(v.shape)}")
        pairs = [(n, t) for n, t in ((like, mu), (name, v), (eps, e)) if isinstance(t, Tensor)]
        check_same_dtype([n for n, _ in pairs], *(t for _, t in pairs))
        other, other_name = (e, eps) if isinstance(e, Tensor) else (mu, like)  # eps drawn like mu
        assert isinstance(other, Tensor)
        try:  # scale @ eps needs scale's batch dims to broadcast against eps's
            torch.broadcast_shapes(v.shape[:-2], other.shape[:-1])
        except RuntimeError:
            raise ValueError(
                f"{name}'s batch dims must broadcast with {other_name}'s, got {name}={tuple(v.shape)}, "
                f"{other_name}={tuple(other.shape)}"
            ) from None

    return Spec(x, rule)


def model_like(model: object, protocol: type) -> Spec:
    """An object with the members of ``protocol`` (a ``typing.Protocol``), e.g. ``bounds.ModelLike``."""

    def rule(name: str, v: object, _: dict[str, object]) -> None:
        needed = protocol_members(protocol)
        missing = [a for a in needed if not hasattr(v, a)]
        if missing:
            raise TypeError(
                f"{name} must be a VAE or a tractable model (with {', '.join(needed)}), got {describe(v)} "
                f"without {', '.join(missing)}"
            )

    return Spec(model, rule)


def protocol_members(protocol: type) -> tuple[str, ...]:
    """The attributes and methods a ``typing.Protocol`` asks for, base protocols first."""
    names: list[str] = []
    for cls in reversed(protocol.__mro__):
        if cls is object or not getattr(cls, "_is_protocol", False) or cls.__name__ in ("Protocol", "Generic"):
            continue
        for n in [*getattr(cls, "__annotations__", {}), *vars(cls)]:
            if not n.startswith("_") and n not in names:
                names.append(n)
    return tuple(names)


def data(x: object, *, model: str | object = "model") -> Spec:
    """Data ``(B, D)`` for a model: a floating tensor, >= 2 dims, last dim the model's ``x_dim``."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        m = named[model] if isinstance(model, str) else model
        check_tensor(name, v, min_dim=2, last=m.x_dim)  # type: ignore[attr-defined]

    return Spec(x, rule)


def posterior(
    q_z: object, *, model: str | object = "model", x: str = "x", types: tuple[type, ...] = (), optional: bool = False
) -> Spec:
    """A q(z|x) for data ``x (B, D)``: ``mu`` of shape ``(B, L)`` (or broadcasting rows) with L = z_dim.

    ``types`` restricts the classes; otherwise anything with ``mu``, ``rsample``, ``log_prob``, ``kl``.
    """

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        m, xv = named[model] if isinstance(model, str) else model, named[x]
        assert isinstance(xv, Tensor)
        if types and not isinstance(v, types):
            kinds = " or ".join(t.__name__ for t in types)
            raise TypeError(f"{name} must be a {kinds}, got {describe(v)}")
        if not all(hasattr(v, a) for a in ("mu", "rsample", "log_prob", "kl")):
            raise TypeError(f"{name} must be a DiagonalGaussian, FullGaussian or StandardNormal, got {describe(v)}")
        mu, z_dim = v.mu, m.z_dim  # type: ignore[attr-defined]
        try:  # one q per row of x (rows may broadcast), never a q without rows: its draws would pair with rows
            torch.broadcast_shapes(mu.shape[:-1], xv.shape[:-1])
            ok = mu.dim() == xv.dim() and mu.shape[-1] == z_dim
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name} must have mu of shape {(*xv.shape[:-1], z_dim)} to match {x} of shape {tuple(xv.shape)} "
                f"and z_dim={z_dim}, got mu of shape {tuple(mu.shape)}"
            )

    return Spec(q_z, rule, optional=optional)


def covariance(x: object) -> Spec:
    """A symmetric positive definite matrix ``(..., L, L)``, each matrix checked on its own scale."""
    return Spec(x, lambda name, v, _: check_covariance(name, v))


def positive_int(k: object, *, optional: bool = False) -> Spec:
    """An int >= 1 (not a bool, not a float such as 10.0), e.g. a sample count."""
    return Spec(k, lambda name, v, _: check_positive_int(name, v), optional=optional)


def positive_ints(values: object) -> Spec:
    """A sequence of ints >= 1, e.g. hidden layer widths ``(256, 128)``."""
    return Spec(values, lambda name, v, _: check_positive_ints(name, v))


def positive_float(x: object) -> Spec:
    """A finite number > 0, e.g. a noise standard deviation."""

    def rule(name: str, v: object, _: dict[str, object]) -> None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive finite float, got {v!r}")

    return Spec(x, rule)


def float_dtype(dtype: object) -> Spec:
    """A floating ``torch.dtype`` such as ``torch.float64``."""

    def rule(name: str, v: object, _: dict[str, object]) -> None:
        if not isinstance(v, torch.dtype) or not v.is_floating_point:
            raise TypeError(f"{name} must be a floating torch.dtype such as torch.float64, got {v!r}")

    return Spec(dtype, rule)


def bias(b: object, *, weight: str = "W") -> Spec:
    """A vector ``(D,)`` for a weight matrix ``(D, L)`` named ``weight``."""

    def rule(name: str, v: object, named: dict[str, object]) -> None:
        d = named[weight].shape[0]  # type: ignore[attr-defined]
        check_tensor(name, v, last=d)
        if v.dim() != 1:  # type: ignore[attr-defined]
            raise ValueError(f"{name} must have shape ({d},), got {tuple(v.shape)}")  # type: ignore[attr-defined]

    return Spec(b, rule)


def box(lims: object, *, max_dims: int = 3) -> Spec:
    """Integration limits ``[(lo, hi), ...]``: 1 to ``max_dims`` pairs of finite numbers with lo < hi."""

    def rule(name: str, v: object, _: dict[str, object]) -> None:
        if (
            not isinstance(v, Sequence)
            or not 1 <= len(v) <= max_dims
            or any(not hasattr(lh, "__len__") or len(lh) != 2 for lh in v)
        ):
            raise ValueError(
                f"{name} must be a list of 1 to {max_dims} (lo, hi) pairs, one per latent dimension, got {v!r}"
            )
        try:
            finite = all(math.isfinite(float(x)) for lh in v for x in lh)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must hold numbers, got {v!r}") from None
        if not finite:
            raise ValueError(f"{name} must be finite, got {v!r}")
        if any(not lo < hi for lo, hi in v):
            raise ValueError(f"{name} must have lo < hi in every pair, got {v!r}")

    return Spec(lims, rule)


def choice(value: object, choices: Sequence[str]) -> Spec:
    """One of the strings ``choices``."""
    return Spec(value, lambda name, v, _: check_choice(name, v, choices))


def generator_or_none(g: object) -> Spec:
    """A ``torch.Generator`` or None (not a seed)."""
    return Spec(g, lambda name, v, _: check_generator(v, name))


def function(f: object) -> Spec:
    """A callable."""
    return Spec(f, lambda name, v, _: check_callable(name, v))


def check(**named: object) -> torch.Size:
    """Check every argument against its spec (a bare value is ``tensor(value)``), in the order given, then
    that the event tensors share their last dimension and broadcast; return their broadcast shape."""
    specs = {n: v if isinstance(v, Spec) else tensor(v) for n, v in named.items()}
    values = {n: s.value for n, s in specs.items()}
    for n, s in specs.items():
        if not (s.optional and s.value is None):
            s.rule(n, s.value, values)
    events = {n: s.value for n, s in specs.items() if s.event and isinstance(s.value, Tensor)}
    return check_event_dims(tuple(events), *events.values()) if events else torch.Size()


# --- single checks -------------------------------------------------------------------------------


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
    and last dim ``last``, and (``finite``) no NaN/Inf (else ``NonFiniteError``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype} (convert with .float())")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {tuple(x.shape)}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have exactly {ndim} dimensions ({ndim}-D), got shape {tuple(x.shape)}")
    if last is not None and x.shape[-1] != last:
        raise ValueError(f"{name} must have last dimension {last}, got shape {tuple(x.shape)}")
    if not allow_empty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise NonFiniteError(f"{name} must be finite, got {n_bad} NaN/Inf value(s) in shape {tuple(x.shape)}")
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


def check_same_dtype(names: Sequence[str], *tensors: Tensor) -> None:
    """No silent promotion: float32 and float64 arguments are a mistake (say which to convert)."""
    if len({t.dtype for t in tensors}) > 1:
        dtypes = ", ".join(f"{n} {t.dtype}" for n, t in zip(names, tensors, strict=True))
        raise TypeError(f"{' and '.join(names)} must have the same dtype, got {dtypes} (convert one with .to())")


def check_unit_interval(name: str, x: Tensor) -> Tensor:
    """Values of a Bernoulli observation must lie in [0, 1]."""
    if x.numel() and (bool((x < 0).any()) or bool((x > 1).any())):
        lo, hi = float(x.min()), float(x.max())
        raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli likelihood, got values in [{lo:.4g}, {hi:.4g}]")
    return x


def check_generator(generator: object, name: str = "generator") -> None:
    """``generator`` is a ``torch.Generator`` or None (a seed goes through ``torch.Generator().manual_seed``)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator or None, got {describe(generator)} "
            "(make one with torch.Generator().manual_seed(seed))"
        )


def check_callable(name: str, f: object) -> None:
    if not callable(f):
        raise TypeError(f"{name} must be a callable (a function), got {describe(f)}")


def check_dtype(name: str, x: Tensor, dtype: torch.dtype) -> Tensor:
    """``x`` must match the model's parameter dtype (NumPy data often arrives as float64)."""
    if x.dtype != dtype:
        raise TypeError(f"{name} must have the model's dtype {dtype}, got dtype {x.dtype} (convert with .to({dtype}))")
    return x


def check_positive_ints(name: str, values: object) -> tuple[int, ...]:
    """A sequence of positive ints, e.g. hidden layer widths ``(256, 128)``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of positive ints such as (256,), got {describe(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must contain only positive ints, got {list(values)!r}")
    return tuple(values)


def check_positive_int(name: str, k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"{name} must be a positive int, got {describe(k)}")
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}")
    return k


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_square(name: str, m: object) -> Tensor:
    m = check_tensor(name, m, min_dim=2)
    if m.shape[-1] != m.shape[-2]:
        raise ValueError(f"{name} must be square in its last two dimensions (..., L, L), got shape {tuple(m.shape)}")
    return m


def check_scale_tril(name: str, scale_tril: object) -> Tensor:
    """A Cholesky factor: square, lower triangular, strictly positive diagonal."""
    scale_tril = check_square(name, scale_tril)
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


SYMMETRY_RTOL = 1e-5  # |Sigma - Sigma^T| <= this * max|Sigma| of the same matrix


def check_covariance(name: str, sigma: object) -> Tensor:
    """Square, symmetric and positive definite; every matrix of a batch is judged on its own scale.

    Cholesky is tried first (cheap); a failure, or a pivot at rounding-noise level (a singular sigma
    often factors "successfully" with pivots up to ~4e3 eps max Sigma_ii), is settled by the eigenvalues:
    those of a singular sigma are <= L eps max|d|.
    """
    sigma = check_square(name, sigma)
    scale = sigma.abs().amax((-2, -1))
    asym = (sigma - sigma.mT).abs().amax((-2, -1))
    bad = asym > SYMMETRY_RTOL * scale
    if bool(bad.any()):
        worst = int((asym / scale.clamp_min(torch.finfo(sigma.dtype).tiny)).argmax())
        where = f" in matrix {tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), bad.shape))}"
        where = where if bad.dim() else ""
        raise ValueError(
            f"{name} must be symmetric (a covariance matrix), got {name} != {name}^T{where} "
            f"(largest |{name} - {name}^T| {float(asym.flatten()[worst]):.4g} "
            f"against max|{name}| {float(scale.flatten()[worst]):.4g})"
        )
    a, info = torch.linalg.cholesky_ex(sigma)
    eps = torch.finfo(sigma.dtype).eps
    pivots = a.diagonal(dim1=-2, dim2=-1).pow(2)
    noise = 1e5 * eps * sigma.diagonal(dim1=-2, dim2=-1).abs().amax(-1, keepdim=True)
    if bool((info != 0).any()) or bool((pivots <= noise).any()):
        d = torch.linalg.eigvalsh(sigma)
        tol = d.abs().amax(-1, keepdim=True) * sigma.shape[-1] * eps
        if bool((info != 0).any()) or bool((d <= tol).any()):
            raise ValueError(
                f"{name} must be positive definite, got smallest eigenvalue {float(d.min()):.4g} "
                f"(largest {float(d.max()):.4g}): it is singular or indefinite, so it has no Cholesky factor"
            )
    return sigma
