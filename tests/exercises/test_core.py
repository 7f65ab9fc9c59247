"""check_function reports each kind of student mistake clearly and never crashes on a student's function;
the checkers are imported explicitly, one public path each, with one naming convention."""

from __future__ import annotations

import importlib
import pkgutil
import threading
import time
from typing import NamedTuple

import numpy as np
import pytest
import torch

from lecture_vae import exercises
from lecture_vae.exercises import ExerciseNotDone, ExerciseResult, check_function, needs_exercise

CASES = [(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64),), (torch.zeros(2, 3, dtype=torch.float64),)]


class Range(NamedTuple):
    min: torch.Tensor
    max: torch.Tensor


def reference(x: torch.Tensor) -> torch.Tensor:
    return x.exp() - 1.0


def test_identical_function_passes(capsys: pytest.CaptureFixture[str]):
    result = check_function("expm1", torch.expm1, reference, CASES)
    assert isinstance(result, ExerciseResult) and result and result.passed and result.done
    assert capsys.readouterr().out.strip() == "✓ expm1: all 2 test cases match the reference."
    assert repr(result) == result.message


def test_shape_mismatch_is_reported_in_the_users_shapes():
    result = check_function("expm1", lambda x: reference(x).sum(-1, keepdim=True), reference, CASES, quiet=True)
    assert not result
    assert result.message == "✗ expm1: case 1 returned shape (1,); expected a tensor of shape (3,)."
    scalar = check_function("total", lambda x: x.sum(-1, keepdim=True), lambda x: x.sum(), CASES, quiet=True)
    assert scalar.message == "✗ total: case 1 returned shape (1,); expected a tensor of shape () (a scalar)."


def test_wrong_values_report_the_largest_difference():
    result = check_function("expm1", lambda x: x.exp(), reference, CASES, quiet=True)
    assert not result
    assert "case 1 differs from the reference: largest absolute difference 1 " in result.message


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


@pytest.mark.parametrize(
    ("returned", "said"),
    [
        (lambda x: (reference(x), x), "returned a tuple of 2; expected a tensor of shape (3,)."),
        (lambda x: [reference(x)], "returned a list of 1; expected a tensor of shape (3,)."),
        (lambda x: str(reference(x)), "returned a str; expected a tensor of shape (3,)."),
        (lambda x: {"y": reference(x)}, "returned a dict; expected a tensor of shape (3,)."),
        (lambda x: float(reference(x).sum()), "returned a float; expected a tensor of shape (3,)."),
        (lambda x: None, "returned None; did you forget `return`?; expected a tensor of shape (3,)."),
    ],
    ids=["tuple", "list", "str", "dict", "float", "None"],
)
def test_wrong_return_types_get_a_message_not_a_crash(returned, said):
    result = check_function("expm1", returned, reference, CASES, quiet=True)
    assert not result and result.done
    assert result.message == f"✗ expm1: case 1 {said}"


def test_tuple_results_are_checked_by_field_in_the_users_shapes():
    def moments(x):
        return Range(x.min(), x.max())

    assert check_function("range", lambda x: (x.min(), x.max()), moments, CASES, quiet=True)
    assert check_function("range", lambda x: [x.min(), x.max()], moments, CASES, quiet=True)
    wrong_shape = check_function("range", lambda x: (x.min(), x.max(0).values), moments, CASES[1:], quiet=True)
    assert wrong_shape.message == (
        "✗ range: case 1 returned max of shape (3,); expected a tuple of 2 tensors (min of shape (), max of shape ())."
    )
    one = check_function("range", lambda x: x.max(), moments, CASES, quiet=True)
    assert one.message.endswith("returned a tensor; expected a tuple of 2 tensors (min of shape (), max of shape ()).")
    off = check_function("range", lambda x: (x.min(), x.max() + 1), moments, CASES, quiet=True)
    assert "differs from the reference in max" in off.message


def test_numpy_results_are_accepted_and_the_message_says_so():
    result = check_function("expm1", lambda x: reference(x).numpy(), reference, CASES, quiet=True)
    assert result.passed
    assert "returns numpy arrays; they were converted to tensors" in result.message
    wrong = check_function("expm1", lambda x: np.exp(x.numpy()), reference, CASES, quiet=True)
    assert not wrong and "differs from the reference" in wrong.message


def test_bool_results_must_be_bool():
    result = check_function("positive", lambda x: (x > 0).float(), lambda x: x > 0, CASES, quiet=True)
    assert result.message == (
        "✗ positive: case 1 returned a tensor of dtype torch.float32; "
        "expected a bool tensor of shape (3,) (True/False)."
    )


def test_float32_rounding_says_compute_in_float64():
    result = check_function("expm1", lambda x: reference(x.float()), reference, CASES, atol=1e-12, rtol=1e-12)
    assert not result
    assert "is torch.float32 and differs from the float64 reference by" in result.message
    assert "compute in float64 (the inputs are float64)" in result.message
    # a real bug in float32 is still a plain mismatch, not a precision hint
    bug = check_function("expm1", lambda x: x.float().exp(), reference, CASES, atol=1e-12, rtol=1e-12, quiet=True)
    assert "largest absolute difference" in bug.message and "float64" not in bug.message


def test_changed_inputs_are_reported_and_the_cases_stay_intact():
    cases = [(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64),)]

    def zeroes_its_input(values):
        out = reference(values)
        values.zero_()
        return out

    result = check_function("expm1", zeroes_its_input, reference, cases, quiet=True)
    assert not result
    assert "your function changed its input values in place" in result.message
    assert cases[0][0].tolist() == [1.0, -2.0, 3.0]

    model = torch.nn.Linear(2, 1).double()

    def trains_the_model(m, x):
        with torch.no_grad():
            m.weight.add_(1.0)
        return x.sum()

    result = check_function("total", trains_the_model, lambda m, x: x.sum(), [(model, CASES[0][0])], quiet=True)
    assert "changed its input m in place" in result.message


def test_a_function_that_never_returns_is_stopped():
    def forever(x):
        while True:
            pass

    result = check_function("expm1", forever, reference, CASES, timeout=0.2, quiet=True)
    assert not result
    assert result.message.startswith("✗ expm1: case 1 did not return within 0.2 s")
    assert check_function("expm1", torch.expm1, reference, CASES, quiet=True)  # the alarm is gone


def test_timeout_off_the_main_thread_uses_a_worker_thread():
    box = {}

    def slow(x):
        time.sleep(1.0)
        return reference(x)

    def run():
        box["result"] = check_function("expm1", slow, reference, CASES, timeout=0.1, quiet=True)

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    assert "did not return within 0.1 s" in box["result"].message
    assert check_function("expm1", torch.expm1, reference, CASES, timeout=5, quiet=True)


def test_the_stub_of_a_student_copy_is_not_done_and_does_not_stop_the_notebook(capsys: pytest.CaptureFixture[str]):
    def expm1(x):
        raise ExerciseNotDone("expm1")

    result = check_function("expm1", expm1, reference, CASES)
    assert result and not result.passed and not result.done  # `assert check(...)` goes on; a grader reads passed
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "`expm1` is still the exercise stub" in out


def test_a_plain_not_implemented_error_fails(capsys: pytest.CaptureFixture[str]):
    def stub(x):
        raise NotImplementedError("later")

    result = check_function("expm1", stub, reference, CASES)
    assert not result and result.done
    assert "not implemented yet (your function raised NotImplementedError: later)" in capsys.readouterr().out


def test_non_callable_is_a_usage_error():
    with pytest.raises(TypeError, match="student_fn must be a function, got a float"):
        check_function("expm1", 3.0, reference, CASES)  # type: ignore[arg-type]


def test_needs_exercise_skips_only_unfinished_exercises(capsys: pytest.CaptureFixture[str]):
    with needs_exercise("f"):
        raise ExerciseNotDone("f")
    with needs_exercise("g"):
        g  # noqa: B018, F821 - a name the stub cell did not define
    out = capsys.readouterr().out
    assert "exercise `f` is not done yet" in out and "exercise `g` is not done yet" in out
    with pytest.raises(NameError), needs_exercise("g"):
        h  # noqa: B018, F821
    with pytest.raises(ValueError, match="a real bug"), needs_exercise("f"):
        raise ValueError("a real bug")


def _checker_modules():
    return [
        importlib.import_module(f"lecture_vae.exercises.{m.name}")
        for m in pkgutil.iter_modules(exercises.__path__)
        if m.name.startswith("nb")
    ]


def test_checkers_are_imported_explicitly_once_each():
    assert "__getattr__" not in vars(exercises)
    modules = _checker_modules()
    assert len(modules) == 10
    names = []
    for module in modules:
        checks = [n for n in module.__all__ if n.startswith("check_")]
        assert checks, module.__name__
        for n in checks:
            assert getattr(exercises, n) is getattr(module, n), n  # the package re-exports the nbNN function
            assert getattr(module, n).__module__ == module.__name__, n  # defined there, not re-exported
        names += checks
    assert exercises.available() == sorted(names)
    assert len(set(names)) == len(names)
    assert exercises.check_kl_normal_1d.__module__ == "lecture_vae.exercises.nb10"
    with pytest.raises(AttributeError):
        exercises.check_no_such_thing  # noqa: B018


def test_every_checker_has_a_reference_named_after_it():
    for module in _checker_modules():
        public = set(module.__all__)
        for n in (n for n in public if n.startswith("check_")):
            reference_name = "reference_" + n.removeprefix("check_")
            assert reference_name in public and callable(getattr(module, reference_name)), (module.__name__, n)
        stray = {n for n in public if not n.startswith(("check_", "reference_")) and not n[0].isupper()}
        assert not stray, (module.__name__, stray)


def test_timeout_works_inside_a_jupyter_kernel():
    """A kernel runs cells on its main thread: the alarm stops the function and the next cell runs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell(
                "import torch\nfrom lecture_vae.exercises import check_function\n\n"
                "def spin(x):\n    while True:\n        pass\n\n"
                "result = check_function('spin', spin, lambda x: x, [(torch.ones(2),)], timeout=0.5)"
            ),
            new_code_cell("print('next cell', bool(result))"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    assert texts[0].startswith("✗ spin: case 1 did not return within 0.5 s")
    assert texts[1] == "next cell False\n"
    assert nbformat.validate(nb) is None
