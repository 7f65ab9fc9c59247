"""The machinery every checker shares: run cases, compare with the reference, report.

A checker never crashes on what a student's function does: an exception, a wrong return type, a
wrong shape or dtype, NaNs, a function that never returns, or one that changes its inputs in place
all become a one-line message. Results in lower precision than the reference get a hint to compute
in float64. The generated exercise stubs of a student copy raise :class:`ExerciseNotDone`: the
checker then reports "not implemented yet" and lets the notebook run on (see ``ExerciseResult``).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch
from torch import Tensor

DEFAULT_TIMEOUT = 30.0  # seconds per call of the student's function; the test cases take milliseconds


class ExerciseNotDone(NotImplementedError):
    """Raised by the exercise stubs of a student copy (``python -m lecture_vae.classroom.student``).

    ``name`` is the function the student still has to write.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"exercise `{name}` is not done yet: write it in the exercise cell, then run this cell again")


@dataclass(frozen=True)
class ExerciseResult:
    """Outcome of a check: ``passed`` when every case matched.

    Truthy when passed, so ``assert check_x(f)`` stops at a wrong answer. Also truthy when ``done`` is
    False, i.e. the function is still the untouched stub of a student copy (it raised
    :class:`ExerciseNotDone`): the checker prints "not implemented yet" and "Run All" goes on. A grader
    reads ``passed``, which is False then.
    """

    name: str
    passed: bool
    message: str
    done: bool = True

    def __bool__(self) -> bool:
        return self.passed or not self.done

    def __repr__(self) -> str:
        return self.message


class _Timeout(BaseException):
    """Raised into the student's function by the alarm; a BaseException so ``except Exception`` in the
    student's code cannot swallow it."""


class _Failure(Exception):
    """A student-facing failure message, raised inside the checker and caught in ``check_function``."""


def _call_with_timeout(fn: Callable[..., Any], args: tuple[Any, ...], timeout: float | None) -> Any:
    """``fn(*args)``, raising ``_Timeout`` if it has not returned after ``timeout`` seconds.

    On the main thread of a POSIX process (a script, pytest, a Jupyter kernel) a SIGALRM interrupts the
    function itself. Elsewhere it runs in a daemon thread that is abandoned if it does not return.
    """
    if timeout is None:
        return fn(*args)
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if use_alarm:

        def on_alarm(signum: int, frame: Any) -> None:
            raise _Timeout

        previous = signal.signal(signal.SIGALRM, on_alarm)
        old_delay, _ = signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if old_delay:  # someone else's alarm was pending: give it back (less the time spent is not known)
                signal.setitimer(signal.ITIMER_REAL, old_delay)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # handed to the calling thread
            box["error"] = e

    worker = threading.Thread(target=target, name="exercise-check", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise _Timeout
    if "error" in box:
        raise box["error"]
    return box["value"]


def _type_name(value: Any) -> str:
    if isinstance(value, Tensor):
        return "a tensor"
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        return "a numpy array"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _shape(shape: Sequence[int]) -> str:
    return f"{tuple(shape)}" + (" (a scalar)" if len(shape) == 0 else "")


def _describe_expected(expected: Tensor | tuple[Tensor, ...], fields: Sequence[str] | None) -> str:
    if isinstance(expected, Tensor):
        kind = "a bool tensor" if expected.dtype == torch.bool else "a tensor"
        return f"{kind} of shape {_shape(expected.shape)}"
    names = fields or [f"output {i}" for i in range(1, len(expected) + 1)]
    parts = ", ".join(f"{n} of shape {tuple(e.shape)}" for n, e in zip(names, expected, strict=True))
    return f"a tuple of {len(expected)} tensors ({parts})"


def _is_numpy(value: Any) -> bool:
    """A numpy array or numpy scalar (numpy itself need not be imported)."""
    return type(value).__module__ == "numpy" and hasattr(value, "dtype")


def _to_tensor(value: Any, expected: Tensor, what: str, notes: set[str]) -> Tensor:
    """The student's ``value`` as a tensor comparable to ``expected``, or a ``_Failure`` saying why not."""
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if _is_numpy(value):
        notes.add("numpy")
        try:
            return torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as e:
            raise _Failure(f"{what} a numpy array torch cannot read ({e})") from None
    if isinstance(value, (bool, int, float)) and expected.dim() == 0:
        return torch.tensor(value)  # a Python number for a scalar result is fine
    if value is None:
        raise _Failure(f"{what} None; did you forget `return`?")
    raise _Failure(f"{what} {_type_name(value)}")


def _convert(
    got: Any, expected: Tensor | tuple[Tensor, ...], fields: Sequence[str] | None, notes: set[str]
) -> Tensor | tuple[Tensor, ...]:
    """Check the type and shape of the student's return value against the reference's; user-facing errors."""
    wanted = _describe_expected(expected, fields)
    if isinstance(expected, Tensor):
        if isinstance(got, (tuple, list)) and not isinstance(got, Tensor):
            raise _Failure(f"returned {_type_name(got)} of {len(got)}; expected {wanted}")
        try:
            t = _to_tensor(got, expected, "returned", notes)
        except _Failure as f:
            raise _Failure(f"{f}; expected {wanted}") from None
        if t.shape != expected.shape:
            raise _Failure(f"returned shape {tuple(t.shape)}; expected {wanted}")
        if expected.dtype == torch.bool and t.dtype != torch.bool:
            raise _Failure(f"returned a tensor of dtype {t.dtype}; expected {wanted} (True/False)")
        return t
    if not isinstance(got, (tuple, list)):
        try:
            kind = _type_name(got) if got is not None else "None (did you forget `return`?)"
        except Exception:  # noqa: BLE001 - describing the value must not crash the checker
            kind = "something else"
        raise _Failure(f"returned {kind}; expected {wanted}")
    if len(got) != len(expected):
        raise _Failure(f"returned {_type_name(got)} of {len(got)} values; expected {wanted}")
    names = fields or [f"output {i}" for i in range(1, len(expected) + 1)]
    out = []
    for name, g, e in zip(names, got, expected, strict=True):
        try:
            t = _to_tensor(g, e, f"returned {name} as", notes)
        except _Failure as f:
            raise _Failure(f"{f}; expected {wanted}") from None
        if t.shape != e.shape:
            raise _Failure(f"returned {name} of shape {tuple(t.shape)}; expected {wanted}")
        out.append(t)
    return tuple(out)


def _as_expected(value: Any) -> tuple[Tensor | tuple[Tensor, ...], Sequence[str] | None]:
    """The reference's result as a tensor or a tuple of tensors, and its field names (NamedTuple)."""
    if isinstance(value, Tensor):
        return value.detach().cpu(), None
    if isinstance(value, (tuple, list)):
        fields = getattr(value, "_fields", None)
        return tuple(torch.as_tensor(v).detach().cpu() for v in value), fields
    return torch.as_tensor(value), None


def _argument_names(student_fn: Callable[..., Any], reference_fn: Callable[..., Any], n: int) -> list[str]:
    """Names for the ``n`` positional arguments, the student's own where their signature says."""
    for fn in (student_fn, reference_fn):
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            continue
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) >= n:
            return positional[:n]
    return [f"argument {i}" for i in range(1, n + 1)]


def _snapshot(value: Any) -> Any:
    """What is needed to tell later whether ``value`` was changed in place (tensors, modules, containers)."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, torch.nn.Module):
        return {k: v.detach().clone() for k, v in value.state_dict().items()}
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return None


def _same(a: Tensor, b: Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    same = a == b
    if a.is_floating_point() or a.is_complex():
        same = same | (a.isnan() & b.isnan())
    return bool(same.all())


def _unchanged(value: Any, snap: Any) -> bool:
    if isinstance(value, Tensor):
        return _same(value.detach(), snap)
    if isinstance(value, torch.nn.Module):
        now = value.state_dict()
        return now.keys() == snap.keys() and all(_same(now[k].detach(), snap[k]) for k in now)
    if isinstance(value, (list, tuple)):
        return len(value) == len(snap) and all(_unchanged(v, s) for v, s in zip(value, snap, strict=True))
    if isinstance(value, dict):
        return value.keys() == snap.keys() and all(_unchanged(value[k], snap[k]) for k in value)
    return True


def _copy_args(case: tuple[Any, ...]) -> tuple[Any, ...]:
    """A deep copy of the case for one call, so that neither function sees what the other did."""
    try:
        return copy.deepcopy(case)
    except Exception:  # noqa: BLE001 - an uncopyable argument (a closure over a generator, ...) is passed as is
        return tuple(copy.deepcopy(a) if isinstance(a, (Tensor, torch.nn.Module)) else a for a in case)


_LOW_PRECISION = (torch.float16, torch.bfloat16, torch.float32)


def _compare(
    got: Tensor, expected: Tensor, atol: float, rtol: float, what: str, input_dtypes: set[torch.dtype]
) -> str | None:
    """None when ``got`` matches ``expected``; otherwise the reason, for the student."""
    if got.is_complex() or expected.is_complex():
        got, expected = torch.view_as_real(got.to(torch.complex128)), torch.view_as_real(expected.to(torch.complex128))
    g = got.double() if got.dtype != torch.bool else got.to(torch.float64)
    e = expected.double() if expected.dtype != torch.bool else expected.to(torch.float64)
    finite_e = bool(torch.isfinite(e).all())
    if not bool(torch.isfinite(g).all()) and finite_e:
        n_bad = int((~torch.isfinite(g)).sum())
        return f"returned {n_bad} NaN/Inf value(s){what}; the reference is finite"
    same_inf = (g == e) & ~torch.isfinite(e)  # -inf where the reference is -inf matches
    diff = torch.where(same_inf, torch.zeros_like(g), (g - e).abs()).nan_to_num(float("inf"))
    bad = diff > atol + rtol * e.abs().nan_to_num(0.0)
    if not bool(bad.any()):
        return None
    largest = float(diff.max())
    if got.dtype in _LOW_PRECISION and expected.dtype not in _LOW_PRECISION:
        eps = torch.finfo(got.dtype).eps
        rounding = 1e3 * eps * e.abs().nan_to_num(0.0).clamp(min=1.0)
        if bool((diff <= atol + rtol * e.abs() + rounding).all()):
            inputs = " (the inputs are float64)" if torch.float64 in input_dtypes else ""
            return (
                f"is {got.dtype} and differs from the float64 reference by {largest:.3g}{what}, "
                f"about {str(got.dtype).removeprefix('torch.')}'s rounding error: compute in float64{inputs}, "
                "e.g. keep the inputs' dtype instead of creating float32 tensors (torch.tensor(..., dtype=x.dtype))"
            )
    return (
        f"differs from the reference{what}: largest absolute difference {largest:.3g} "
        f"(tolerance {atol:g} + {rtol:g}·|expected|)"
    )


def _dtypes(value: Any, out: set[torch.dtype]) -> set[torch.dtype]:
    if isinstance(value, Tensor):
        out.add(value.dtype)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _dtypes(v, out)
    return out


def check_function(
    name: str,
    student_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    cases: Sequence[tuple[Any, ...]],
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    describe: Callable[[tuple[Any, ...]], str] | None = None,
    compare: Callable[[Any], Tensor] | None = None,
    compared: str = "",
    timeout: float | None = DEFAULT_TIMEOUT,
    quiet: bool = False,
) -> ExerciseResult:
    """Call ``student_fn(*case)`` and ``reference_fn(*case)`` for each case and compare the results.

    Reports the first case where the student's function raises, does not return within ``timeout``
    seconds, changes an input in place, returns the wrong type or shape (the shapes of the reference's
    result for that case), NaN, or a value off by more than ``atol + rtol * |expected|``, with the
    largest absolute difference. A tensor or a tuple of tensors is expected, as the reference returns;
    a numpy array (and a Python number for a scalar) is accepted and converted, which the pass message
    says. ``compare``, when given, maps a (type- and shape-checked) result to what is compared, e.g.
    quantities that do not depend on a free choice of sign; ``compared`` names them in the message.
    A stub that raises :class:`ExerciseNotDone` gives a truthy "not implemented yet" result.
    """
    if not callable(student_fn):
        raise TypeError(
            f"student_fn must be a function, got {_type_name(student_fn)}: pass the function itself, "
            f"check_{name}(my_function), not the result of calling it"
        )
    fn_name = getattr(student_fn, "__name__", "your function")
    message = f"✓ {name}: all {len(cases)} test cases match the reference."
    passed, done = True, True
    notes: set[str] = set()
    what = f" in {compared}" if compared else ""
    for i, case in enumerate(cases, 1):
        try:
            where = f"case {i}" + (f" ({describe(case)})" if describe else "")
        except Exception:  # noqa: BLE001 - a description is a courtesy, never a reason to crash
            where = f"case {i}"
        expected, fields = _as_expected(reference_fn(*_copy_args(case)))
        args = _copy_args(case)
        snapshots = [_snapshot(a) for a in args]
        try:
            got = _call_with_timeout(student_fn, args, timeout)
        except ExerciseNotDone as e:
            done, passed = False, False
            message = (
                f"… {name}: not implemented yet: `{e.name}` is still the exercise stub. "
                "Write it, then run this cell again."
            )
            break
        except NotImplementedError as e:
            passed = False
            message = (
                f"✗ {name}: not implemented yet (your function raised NotImplementedError{f': {e}' if str(e) else ''})."
            )
            break
        except _Timeout:
            passed = False
            message = (
                f"✗ {name}: {where} did not return within {timeout:g} s; look for a loop that never ends "
                "(the test cases take milliseconds)."
            )
            break
        except Exception as e:  # noqa: BLE001 - a student's bug: report it, don't crash the notebook
            passed, message = False, f"✗ {name}: {where} raised {type(e).__name__}: {e}"
            break
        changed = [
            n
            for n, a, s in zip(_argument_names(student_fn, reference_fn, len(args)), args, snapshots, strict=True)
            if not _unchanged(a, s)
        ]
        if changed:
            passed = False
            message = (
                f"✗ {name}: {where}: your function changed its input {', '.join(changed)} in place "
                "(e.g. with +=, [...] = or a method ending in _); work on a copy or build a new tensor."
            )
            break
        try:
            converted = _convert(got, expected, fields, notes)
        except _Failure as f:
            passed, message = False, f"✗ {name}: {where} {f}."
            break
        if compare is not None:
            try:
                got_c, expected_c = compare(converted), compare(expected)
            except Exception as e:  # noqa: BLE001
                passed = False
                message = f"✗ {name}: {where}: the checker could not compare your result ({type(e).__name__}: {e})."
                break
            pairs = [(torch.as_tensor(got_c), torch.as_tensor(expected_c))]
        elif isinstance(converted, Tensor):
            pairs = [(converted, expected)]  # type: ignore[list-item]
        else:
            pairs = list(zip(converted, expected, strict=True))  # type: ignore[arg-type]
        names = fields or [f"output {j}" for j in range(1, len(pairs) + 1)]
        problem = None
        for j, (g, e) in enumerate(pairs):
            suffix = what if compare is not None or len(pairs) == 1 else f" in {names[j]}"
            problem = _compare(g, e, atol, rtol, suffix, _dtypes(case, set()))
            if problem:
                break
        if problem:
            passed, message = False, f"✗ {name}: {where} {problem}."
            break
    if passed and "numpy" in notes:
        message = message[:-1] + f" ({fn_name} returns numpy arrays; they were converted to tensors.)"
    result = ExerciseResult(name, passed, message, done)
    if not quiet:
        print(message)
    return result


class needs_exercise(contextlib.AbstractContextManager["needs_exercise"]):  # noqa: N801 - reads as a phrase
    """``with needs_exercise("f"):`` runs its block, or, if an exercise stub it calls is not done yet
    (it raises :class:`ExerciseNotDone`, or ``f`` is not defined), prints so instead of a traceback.

    Student copies wrap the cells that use a student's function in it, so that "Run All" goes on.
    ``show(value)`` displays a value as the last line of a cell would.
    """

    def __init__(self, *names: str) -> None:
        self.names = names

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if isinstance(exc, ExerciseNotDone):
            missing = exc.name
        elif isinstance(exc, NameError) and getattr(exc, "name", None) in self.names:
            missing = exc.name  # type: ignore[attr-defined]
        else:
            return False
        print(
            f"… skipped: exercise `{missing}` is not done yet; this cell needs it. Write it, then run this cell again."
        )
        return True

    @staticmethod
    def show(value: Any) -> None:
        sys.displayhook(value)


__all__ = ["DEFAULT_TIMEOUT", "ExerciseNotDone", "ExerciseResult", "check_function", "needs_exercise"]
