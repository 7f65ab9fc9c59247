"""The paper-grade MNIST run: the shipped checkpoint reproduces its recorded figures, the ``fit`` callback
and test-set curve behave (also across a resume), the recipe and the CLI record the curve, and notebook
09's checkers accept correct answers and reject the usual mistakes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import lecture_vae.exercises as ex
from lecture_vae import VAE
from lecture_vae.exercises import nb09
from lecture_vae.training import cli
from lecture_vae.training.checkpoint import load_checkpoint
from lecture_vae.training.data import DatasetNotFoundError, load
from lecture_vae.training.paper import (
    CHECKPOINT,
    CURVE_FILE,
    SLICE_IMAGES,
    SLICE_K,
    TestCurve,
    protocol_test_set,
    slice_estimate,
)
from lecture_vae.training.recipes import recipe_config
from lecture_vae.training.trainer import fit

RECORD = CHECKPOINT.with_suffix(".json")


@pytest.fixture(scope="module")
def shipped() -> tuple[VAE, dict]:
    if not CHECKPOINT.is_file():
        pytest.fail(f"the shipped checkpoint {CHECKPOINT} is missing")
    return load_checkpoint(CHECKPOINT).model.eval(), json.loads(RECORD.read_text())


@pytest.fixture(scope="module")
def mnist_test() -> torch.Tensor:
    try:
        return protocol_test_set(0).images
    except DatasetNotFoundError as err:
        pytest.skip(f"MNIST not found (set LECTURE_VAE_DATA to a folder holding MNIST/raw/): {err}")


def test_shipped_checkpoint_is_plain_half_precision_and_loads_as_float32(shipped):
    model, record = shipped
    raw = torch.load(CHECKPOINT, weights_only=True)  # tensors and plain types only: nothing runs on load
    assert {v.dtype for v in raw["model_state"].values()} == {torch.float16}
    assert raw["optimizer_state"] is None  # only what inference needs, a few MB
    assert CHECKPOINT.stat().st_size < 4e6
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.config.hidden == (512, 512) and model.z_dim == 64 and model.config.activation == "elu"
    assert record["weights_dtype"] == "float16" and record["epochs"] == raw["epoch"]


def test_record_states_its_figures_consistently(shipped):
    _, record = shipped
    recipe = recipe_config("mnist-paper")
    assert record["recipe"] == "mnist-paper" and record["epochs"] == recipe["epochs"]
    assert record["k5000_images"] == 10_000
    assert record["test_elbo"] < record["test_log_px_k5000"] < 0  # ELBO <= log p(x) estimate
    # rounding the weights to float16 moves the k=5000 figure by under 0.05 nats
    assert abs(record["test_log_px_k5000"] - record["float32_test_log_px_k5000"]) < 0.05
    assert record["training_seconds"] < 3600  # trained within the hour


@pytest.mark.mnist
def test_k100_estimate_on_the_first_test_images_matches_the_record(shipped, mnist_test):
    model, record = shipped
    x = mnist_test[:SLICE_IMAGES]
    assert record[f"test_log_px_k{SLICE_K}_first{SLICE_IMAGES}"] == pytest.approx(slice_estimate(model, x), abs=0.5)


@pytest.mark.mnist
def test_protocol_test_set_is_one_fixed_draw(mnist_test):
    grey = load("mnist", "test", download=False).images
    assert set(mnist_test.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(protocol_test_set(0).images, mnist_test)  # the same draw on every call
    assert abs(mnist_test.mean().item() - grey.mean().item()) < 2e-3  # x ~ Bernoulli(grey level)


def test_fit_calls_the_callback_after_each_epoch():
    calls = []
    x = torch.rand(64, 6)
    model = VAE(6, 2, hidden=(8,))
    fit(model, x, epochs=3, batch_size=32, progress=False, callback=lambda e, m, h: calls.append((e, m, len(h))))
    assert [(e, len_h) for e, _, len_h in calls] == [(1, 1), (2, 2), (3, 3)]
    assert all(m is model for _, m, _ in calls)


def test_curve_scores_every_n_epochs_and_the_last(tmp_path: Path):
    train, test = load("digits", "train"), load("digits", "test")
    model = VAE(64, 2, hidden=(16,))
    curve = TestCurve(test, every=2, epochs=5, path=tmp_path / CURVE_FILE)
    history = fit(model, train, epochs=5, batch_size=256, progress=False, callback=curve)
    assert [p["epoch"] for p in curve.points] == [2, 4, 5]
    last = curve.points[-1]
    assert last["train_minutes"] == pytest.approx(sum(history.seconds) / 60)
    assert last["test_elbo"] < last["test_log_px_k100_first1000"] < 0
    assert json.loads((tmp_path / CURVE_FILE).read_text()) == {"every": 2, "points": curve.points}
    # a resumed run keeps the points up to the epoch it resumes from and scores with the same `every`
    config = {"curve_every": 0, "epochs": 8, "seed": 0}
    resumed = TestCurve.for_run(config, test, tmp_path, tmp_path / "out", start=4)
    assert resumed.every == 2 and [p["epoch"] for p in resumed.points] == [2, 4]
    assert TestCurve.for_run(config, test, tmp_path / "none", tmp_path / "out", start=0) is None


def test_paper_recipe_settings():
    config = recipe_config("mnist-paper")
    assert config["hidden"] == [512, 512] and config["z_dim"] == 64 and config["activation"] == "elu"
    assert (config["batch_size"], config["lr"], config["lr_schedule"], config["kl_warmup"]) == (256, 2e-3, "cosine", 10)
    assert config["binarize"] == "dynamic" and config["curve_every"] > 0 and config["epochs"] >= 150


def test_cli_records_the_curve_and_the_schedule(tmp_path: Path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--out", str(out), "--dataset", "digits", "--epochs", "3", "--hidden", "16"]
    assert cli.main([*argv, "--curve-every", "2", "--lr-schedule", "cosine", "--binarize", "dynamic"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [p["epoch"] for p in metrics["test_curve"]] == [2, 3]
    assert metrics["history"]["lr"] == pytest.approx([1e-3, 0.75e-3, 0.25e-3])  # lr (1 + cos(pi e / 3)) / 2
    assert (out / CURVE_FILE).is_file()
    # train and evaluate score the same fixed binarization of the test set
    assert metrics["final"]["test_elbo"] == pytest.approx(metrics["test_curve"][-1]["test_elbo"])
    capsys.readouterr()
    assert cli.main(["evaluate", str(out), "--k", "5"]) == 0
    printed = capsys.readouterr().out
    assert "binarized once" in printed and "time" in printed
    evaluation = json.loads((out / "evaluation-k5.json").read_text())
    assert evaluation["elbo"] == pytest.approx(metrics["final"]["test_elbo"])


def test_nb09_checkers_are_found_by_name():
    assert ex.check_bits_per_dim is nb09.check_bits_per_dim
    assert ex.check_standard_error is nb09.check_standard_error


def test_bits_per_dim_checker():
    assert nb09.check_bits_per_dim(lambda log_px, d: -log_px / d / math.log(2))
    assert nb09.check_bits_per_dim(lambda log_px, d: -torch.log2(torch.exp(log_px / d)))
    bugs = {
        "natural log": lambda log_px, d: -log_px / d,
        "sign": lambda log_px, d: log_px / (d * math.log(2)),
        "log10": lambda log_px, d: -log_px / (d * math.log(10)),
        "per image": lambda log_px, d: -log_px / math.log(2),
    }
    for name, bug in bugs.items():
        assert not nb09.check_bits_per_dim(bug), name


def test_standard_error_checker():
    assert nb09.check_standard_error(lambda v: v.std() / v.numel() ** 0.5)
    assert nb09.check_standard_error(lambda v: torch.sqrt(((v - v.mean()) ** 2).sum() / (len(v) - 1) / len(v)))
    bugs = {
        "std": lambda v: v.std(),
        "variance / N": lambda v: v.var() / len(v),
        "no sqrt": lambda v: v.std() / len(v),
    }
    for name, bug in bugs.items():
        assert not nb09.check_standard_error(bug), name
