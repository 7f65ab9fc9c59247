"""check_function reports each kind of student mistake clearly, and checkers are found by name."""

from __future__ import annotations

import pytest
import torch

from lecture_vae import exercises
from lecture_vae.exercises import ExerciseResult, check_function

CASES = [(torch.tensor([1.0, -2.0, 3.0]),), (torch.zeros(2, 3),)]


def reference(x: torch.Tensor) -> torch.Tensor:
    return x.exp() - 1.0


def test_identical_function_passes(capsys: pytest.CaptureFixture[str]):
    result = check_function("expm1", torch.expm1, reference, CASES)
    assert isinstance(result, ExerciseResult) and result and result.passed
    assert capsys.readouterr().out.strip() == "✓ expm1: all 2 test cases match the reference."
    assert repr(result) == result.message


def test_shape_mismatch_is_reported():
    result = check_function("expm1", lambda x: reference(x).sum(-1, keepdim=True), reference, CASES, quiet=True)
    assert not result
    assert result.message == "✗ expm1: case 1 has shape (1,), expected (3,)."


def test_wrong_values_report_the_largest_difference():
    result = check_function("expm1", lambda x: x.exp(), reference, CASES, quiet=True)
    assert not result
    assert "case 1 differs from the reference: largest absolute difference 1" in result.message


def test_nan_is_reported_as_nan():
    result = check_function("expm1", lambda x: reference(x) * float("nan"), reference, CASES, quiet=True)
    assert not result
    assert result.message == "✗ expm1: case 1 returned 3 NaN/Inf value(s); the reference is finite."


def test_exception_is_reported_not_raised():
    def broken(x):
        raise ValueError("boom")

    result = check_function("expm1", broken, reference, CASES, describe=lambda c: f"x of shape {tuple(c[0].shape)}")
    assert not result
    assert result.message == "✗ expm1: case 1 (x of shape (3,)) raised ValueError: boom"


def test_not_implemented_is_reported_clearly(capsys: pytest.CaptureFixture[str]):
    def stub(x):
        raise NotImplementedError("Exercise: write expm1")

    assert not check_function("expm1", stub, reference, CASES)
    assert "not implemented yet" in capsys.readouterr().out


def test_missing_return_and_non_callable():
    result = check_function("expm1", lambda x: None, reference, CASES, quiet=True)
    assert not result and "returned None" in result.message
    with pytest.raises(TypeError, match="student_fn must be a function"):
        check_function("expm1", 3.0, reference, CASES)  # type: ignore[arg-type]


def test_checkers_are_found_lazily_across_notebook_modules():
    names = exercises.available()
    assert "check_kl_normal_1d" in names and "check_factor_rotation" in names
    modules = {getattr(exercises, n).__module__ for n in names}
    assert len(modules) >= 2  # the lookup spans several nbNN modules
    checker = exercises.check_kl_normal_1d
    assert checker.__module__ == "lecture_vae.exercises.nb10"


def test_unknown_checker_lists_the_available_ones():
    with pytest.raises(AttributeError, match="no attribute 'check_no_such_thing'; checkers: .*check_kl_normal_1d"):
        exercises.check_no_such_thing  # noqa: B018
    with pytest.raises(AttributeError):
        exercises.not_a_checker  # noqa: B018
