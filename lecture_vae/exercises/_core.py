"""The machinery every checker shares: run cases, compare with the reference, report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass(frozen=True)
class ExerciseResult:
    """Outcome of a check; truthy when every case matched, so ``assert check_x(f)`` works."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


def _as_tensor(value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # NamedTuple: compare field by field
        return torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in value]).reshape(-1)
    return torch.as_tensor(value)


def check_function(
    name: str,
    student_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    cases: Sequence[tuple[Any, ...]],
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    describe: Callable[[tuple[Any, ...]], str] | None = None,
    quiet: bool = False,
) -> ExerciseResult:
    """Call ``student_fn(*case)`` and ``reference_fn(*case)`` for each case and compare the results.

    Reports the first case that raises, has the wrong shape, or differs by more than
    ``atol + rtol * |expected|``, with the largest absolute difference.
    """
    if not callable(student_fn):
        raise TypeError(f"student_fn must be a function, got {type(student_fn).__name__}")
    message = f"✓ {name}: all {len(cases)} test cases match the reference."
    passed = True
    for i, case in enumerate(cases, 1):
        where = f"case {i}" + (f" ({describe(case)})" if describe else "")
        expected = _as_tensor(reference_fn(*case))
        try:
            got = student_fn(*case)
        except NotImplementedError:
            passed, message = False, f"✗ {name}: not implemented yet (your function raised NotImplementedError)."
            break
        except Exception as e:  # a student's bug: report it, don't crash the notebook
            passed, message = False, f"✗ {name}: {where} raised {type(e).__name__}: {e}"
            break
        if got is None:
            passed, message = False, f"✗ {name}: {where} returned None; did you forget `return`?"
            break
        got = _as_tensor(got).to(expected.dtype) if _as_tensor(got).is_floating_point() else _as_tensor(got)
        if got.shape != expected.shape:
            passed = False
            message = f"✗ {name}: {where} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
            break
        if got.is_floating_point() and not bool(torch.isfinite(got).all()) and bool(torch.isfinite(expected).all()):
            n_bad = int((~torch.isfinite(got)).sum())
            passed, message = False, f"✗ {name}: {where} returned {n_bad} NaN/Inf value(s); the reference is finite."
            break
        diff = (got.double() - expected.double()).abs()
        bad = diff > atol + rtol * expected.double().abs()
        if bool(bad.any()) or not bool(torch.isfinite(got).all()):
            passed = False
            message = (
                f"✗ {name}: {where} differs from the reference: largest absolute difference "
                f"{float(diff.nan_to_num(float('inf')).max()):.3g} (tolerance {atol:g} + {rtol:g}·|expected|)."
            )
            break
    result = ExerciseResult(name, passed, message)
    if not quiet:
        print(message)
    return result
