"""The command line: a tiny training run writes a complete run folder, evaluate reports log p(x) >= ELBO,
bad arguments exit 2 and operational failures exit 1, each with one line and no partial output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lecture_vae.training import cli
from lecture_vae.training.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "2", "--hidden", "16", "--z-dim", "2", "--threads", "1", "--device", "cpu"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    threads = torch.get_num_threads()
    assert cli.main(["train", "--out", str(out), *TINY]) == 0
    torch.set_num_threads(threads)
    return out


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "lecture_vae", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_train_writes_a_complete_run_folder(run_dir: Path):
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"checkpoint.pt", "metrics.json", "loss_curves.png", "reconstructions.png", "samples.png",
                     "latent.png"}  # fmt: skip
    assert not list(run_dir.parent.glob(".*partial"))
    for name in names - {"checkpoint.pt", "metrics.json"}:
        assert (run_dir / name).read_bytes()[:8] == PNG, name
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["epochs"] == 2 and m["history"]["epoch"] == [1, 2] and len(m["history"]["val_elbo"]) == 2
    assert m["config"]["hidden"] == [16] and m["config"]["dataset"] == "digits" and m["model"]["z_dim"] == 2
    final = m["final"]
    assert -200 < final["test_elbo"] < 0
    assert final["test_elbo"] == pytest.approx(final["test_reconstruction"] - final["test_kl"])
    assert m["wall_clock_seconds"] > 0 and m["device"] == "cpu" and m["torch_version"] == torch.__version__
    assert load_checkpoint(run_dir / "checkpoint.pt").epoch == 2


def test_evaluate_prints_elbo_and_a_larger_log_likelihood(run_dir: Path, capsys: pytest.CaptureFixture[str]):
    assert (
        cli.main(["evaluate", str(run_dir), "--k", "200", "--limit", "100", "--threads", "1", "--device", "cpu"]) == 0
    )
    out = capsys.readouterr().out
    numbers = {k: float(re.search(rf"{k}.*?(-?\d+\.\d+) nats", out).group(1)) for k in ("ELBO", "IWAE")}
    result = json.loads((run_dir / "evaluation-k200-first100.json").read_text())
    assert result["n_images"] == 100 and result["k"] == 200 and result["seconds"] > 0
    assert numbers["ELBO"] == pytest.approx(result["elbo"], abs=0.01)
    assert numbers["IWAE"] == pytest.approx(result["log_marginal"], abs=0.01)
    assert result["log_marginal"] >= result["elbo"] - 0.1  # IWAE_k >= ELBO (Burda et al. 2015)


def test_existing_run_is_kept_unless_resumed(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    (out / "evaluation.json").write_text("{}")
    before = (out / "checkpoint.pt").read_bytes()
    assert cli.main(["train", "--out", str(out), *TINY]) == 1
    assert "--resume" in _one_error_line(capsys.readouterr().err)
    assert (out / "checkpoint.pt").read_bytes() == before
    # a diverging run that would overwrite it leaves the good run untouched
    assert cli.main(["train", "--out", str(out), "--overwrite", *TINY, "--lr", "1e8"]) == 1
    assert "diverged" in _one_error_line(capsys.readouterr().err)
    assert (out / "checkpoint.pt").read_bytes() == before and not list(tmp_path.glob(".*partial"))
    # resuming continues the same run up to --epochs; the stale evaluation is dropped
    assert cli.main(["train", "--out", str(out), "--resume", "--epochs", "3", "--threads", "1", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["history"]["epoch"] == [1, 2, 3] and m["resumed_from_epoch"] == 2
    assert m["config"]["hidden"] == [16] and not (out / "evaluation.json").exists()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["train"],
        ["train", "--out", "x", "--epochs", "0"],
        ["train", "--out", "x", "--lr", "nan"],
        ["train", "--out", "x", "--dataset", "cifar"],
        ["train", "--out", "x", "--hidden"],
        ["evaluate"],
        ["evaluate", "x", "--k", "-3"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "error:" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"]])
def test_help_at_every_level(argv: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


def test_operational_failures_exit_1_with_one_line(run_dir: Path, tmp_path: Path, capsys):
    cases = [
        (["train", "--out", str(run_dir / "metrics.json" / "run"), *TINY], "cannot write the run folder"),
        (["train", "--out", str(run_dir / "metrics.json"), *TINY], "not a folder"),
        (["evaluate", str(tmp_path)], "does not exist"),
    ]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    cases.append((["evaluate", str(tmp_path / "bad")], "checkpoint"))
    if not torch.cuda.is_available():
        cases.append((["train", "--out", str(tmp_path / "gpu"), *TINY, "--device", "cuda"], "cuda"))
    for argv, reason in cases:
        assert cli.main(argv) == 1, argv
        line = _one_error_line(capsys.readouterr().err)
        assert line.startswith("error:") and reason in line, line
    assert not (tmp_path / "gpu").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    tmp_path.chmod(0o555)
    try:
        assert cli.main(["train", "--out", str(tmp_path / "run"), *TINY]) == 1
    finally:
        tmp_path.chmod(0o755)
    assert "cannot write" in _one_error_line(capsys.readouterr().err)


def test_subprocess_missing_dataset_offline(tmp_path: Path):
    out = tmp_path / "runs" / "mnist"
    args = ["train", "--dataset", "mnist", "--data-root", str(tmp_path / "empty"), "--out", str(out), "--epochs", "1"]
    proc = _run(*args, LECTURE_VAE_OFFLINE="1")
    assert proc.returncode == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith("error: mnist data not found")
    assert not (tmp_path / "runs").exists()
    assert _run("train", "--epochs", "many").returncode == 2


def test_recipe_fills_defaults_and_flags_override():
    from lecture_vae.training.recipes import DEFAULTS, RECIPES

    assert {"digits-2d", "mnist-example"} <= set(RECIPES)
    for name, recipe in RECIPES.items():
        assert set(recipe) <= set(DEFAULTS), name  # every setting of a recipe is one train understands
    args = cli.build_parser().parse_args(["train", "--out", "x", "--recipe", "mnist-example", "--epochs", "3"])
    config = cli._config(args, None)
    assert config["hidden"] == [400] and config["z_dim"] == 20 and config["batch_size"] == 128
    assert config["epochs"] == 3 and config["recipe"] == "mnist-example" and config["lr"] == 1e-3


def test_interrupted_run_keeps_its_last_epoch_for_resume(tmp_path: Path, monkeypatch, capsys):
    import lecture_vae.training.trainer

    real_fit = lecture_vae.training.trainer.fit

    def fit_then_ctrl_c(*args, **kwargs):
        real_fit(*args, **{**kwargs, "epochs": 1})
        raise KeyboardInterrupt

    monkeypatch.setattr(lecture_vae.training.trainer, "fit", fit_then_ctrl_c)
    out = tmp_path / "run"
    assert cli.main(["train", "--out", str(out), *TINY]) == 130
    assert "--resume" in _one_error_line(capsys.readouterr().err)
    assert not out.exists() and (tmp_path / ".run.partial" / "checkpoint.pt").is_file()
    monkeypatch.setattr(lecture_vae.training.trainer, "fit", real_fit)
    assert cli.main(["train", "--out", str(out), "--resume", "--epochs", "2", "--threads", "1", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["resumed_from_epoch"] == 1 and m["history"]["epoch"] == [1, 2] and m["config"]["hidden"] == [16]
    assert not (tmp_path / ".run.partial").exists()
