"""The run folder never loses a user's work: a staged checkpoint survives every failure, an interrupted run
is not silently discarded, evaluations are kept per setting, a replacement is all or nothing, and two
trainings of one folder cannot interleave. Also the one-line messages of the command line's rarer failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from filelock import FileLock

import lecture_vae
import lecture_vae.training.rundir as rundir
import lecture_vae.training.trainer as trainer
from lecture_vae.training import cli, paper
from lecture_vae.training.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "2", "--hidden", "16", "--z-dim", "3", "--threads", "1", "--device", "cpu"]
RESUME = ["--resume", "--threads", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "run"
    threads = torch.get_num_threads()
    assert cli.main(["train", "--out", str(out), *TINY]) == 0
    torch.set_num_threads(threads)
    return out


def _line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _copy(src: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(src, dest)
    return dest


# 1. the staged checkpoint survives every failure; a resume whose epochs are reached finishes the run


def test_ctrl_c_in_the_final_evaluation_keeps_the_run_and_resume_finishes_it(tmp_path, monkeypatch, capsys):
    out, stage = tmp_path / "run", tmp_path / ".run.partial"

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    real = trainer.evaluate
    monkeypatch.setattr(trainer, "evaluate", ctrl_c)
    assert cli.main(["train", "--out", str(out), *TINY]) == 130
    assert "--resume" in _line(capsys.readouterr().err)
    staged = (stage / "checkpoint.pt").read_bytes()
    assert load_checkpoint(stage / "checkpoint.pt").epoch == 2 and not out.exists()
    monkeypatch.setattr(trainer, "evaluate", real)
    assert cli.main(["train", "--out", str(out), *RESUME]) == 0
    assert "no training" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["epochs"] == 2 and m["resumed_from_epoch"] == 2 and m["config"]["hidden"] == [16]
    assert (out / "checkpoint.pt").read_bytes() == staged  # not one more step of training
    assert (out / "samples.png").is_file() and not stage.exists()


def test_a_failure_after_the_first_epoch_keeps_the_staged_checkpoint(tmp_path, monkeypatch, capsys):
    out, stage = tmp_path / "run", tmp_path / ".run.partial"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rundir, "write_figures", disk_full)
    assert cli.main(["train", "--out", str(out), *TINY]) == 1
    line = _line(capsys.readouterr().err)
    assert "No space left" in line and f"--out {out} --resume" in line and str(stage) in line
    assert load_checkpoint(stage / "checkpoint.pt").epoch == 2


def test_a_resumed_run_that_diverges_names_a_checkpoint_that_exists(finished, tmp_path, monkeypatch, capsys):
    out = _copy(finished, tmp_path / "run")
    before = _files(out)
    real_fit = trainer.fit

    def blow_up_in_epoch_4(*args, **kwargs):  # a learning rate that explodes after one resumed epoch
        return real_fit(*args, **{**kwargs, "lr_schedule": lambda e: 1.0 if e < 3 else 1e12})

    monkeypatch.setattr(trainer, "fit", blow_up_in_epoch_4)
    assert cli.main(["train", "--out", str(out), *RESUME, "--epochs", "5"]) == 1
    line = _line(capsys.readouterr().err)
    named = re.search(r"\(epoch 3\) is in (\S+?);", line)
    assert "diverged at epoch 4" in line and named and "--resume" in line, line
    assert load_checkpoint(named.group(1)).epoch == 3  # the file the message points at is there
    assert _files(out) == before
    # diverging before its first new epoch, it names RUN_DIR's own checkpoint (the staged copy is gone)
    monkeypatch.undo()
    (tmp_path / ".run.partial" / "checkpoint.pt").unlink()
    assert cli.main(["train", "--out", str(out), *RESUME, "--epochs", "4", "--lr", "1e8"]) == 1
    line = _line(capsys.readouterr().err)
    assert f"(epoch 2) is in {out / 'checkpoint.pt'};" in line and "diverged at epoch 3" in line, line
    assert _files(out) == before


def test_a_resume_that_fails_before_its_first_epoch_leaves_nothing_behind(finished, tmp_path, monkeypatch, capsys):
    out = _copy(finished, tmp_path / "run")

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(trainer, "fit", broken)
    assert cli.main(["train", "--out", str(out), *RESUME, "--epochs", "3"]) == 1
    assert "--resume" not in _line(capsys.readouterr().err)  # nothing new to continue
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# 2. an interrupted run is not thrown away by a plain re-run


def test_rerun_over_an_interrupted_run_refuses_unless_overwrite(tmp_path, monkeypatch, capsys):
    real_fit = trainer.fit

    def fit_then_ctrl_c(*args, **kwargs):
        real_fit(*args, **{**kwargs, "epochs": 1})
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "fit", fit_then_ctrl_c)
    out, stage = tmp_path / "run", tmp_path / ".run.partial"
    assert cli.main(["train", "--out", str(out), *TINY]) == 130
    monkeypatch.setattr(trainer, "fit", real_fit)
    capsys.readouterr()
    staged = (stage / "checkpoint.pt").read_bytes()
    assert cli.main(["train", "--out", str(out), *TINY]) == 1
    line = _line(capsys.readouterr().err)
    assert "interrupted run (1 epochs" in line and "--resume" in line and "--overwrite" in line
    assert (stage / "checkpoint.pt").read_bytes() == staged
    assert cli.main(["evaluate", str(out)]) == 1  # no finished run yet: say where the interrupted one is
    assert "finish it with train --out" in _line(capsys.readouterr().err)
    assert cli.main(["train", "--out", str(out), *RESUME, "--epochs", "1"]) == 0  # 1 epoch done: only finishes it
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
    capsys.readouterr()
    assert cli.main(["train", "--out", str(out), *TINY, "--overwrite"]) == 0
    assert json.loads((out / "metrics.json").read_text())["resumed_from_epoch"] == 0


# 4. evaluate keeps every setting's result and prints before it writes


def test_evaluations_with_other_settings_are_kept_side_by_side(finished, tmp_path, capsys):
    out = _copy(finished, tmp_path / "run")
    common = ["--threads", "1", "--device", "cpu"]
    assert cli.main(["evaluate", str(out), "--k", "50", *common]) == 0
    long = json.loads((out / "evaluation-k50.json").read_text())
    assert cli.main(["evaluate", str(out), "--k", "2", "--limit", "20", "--seed", "3", *common]) == 0
    assert json.loads((out / "evaluation-k50.json").read_text()) == long
    quick = json.loads((out / "evaluation-k2-first20-seed3.json").read_text())
    assert (long["k"], long["n_images"], quick["k"], quick["n_images"], quick["seed"]) == (50, 297, 2, 20, 3)
    assert "wrote " + str(out / "evaluation-k2-first20-seed3.json") in capsys.readouterr().out


def test_evaluate_prints_its_numbers_even_when_the_folder_is_read_only(finished, monkeypatch, capsys):
    def read_only(path, obj):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rundir, "write_json", read_only)
    assert cli.main(["evaluate", str(finished), "--k", "5", "--limit", "30", "--threads", "1", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert re.search(r"log p\(x\), IWAE k=5\s+-?\d+\.\d+ nats", captured.out)
    line = _line(captured.err)
    assert "the numbers above are complete" in line and "Permission denied" in line


# 5. --overwrite is all or nothing


class _FailingOs:
    """``os`` whose second rename/replace fails (the move into place breaks halfway)."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(os, name)

    def _move(self, real, src, dst):
        self.calls += 1
        if self.calls == 2:
            raise OSError(5, "Input/output error", str(dst))
        return real(src, dst)

    def rename(self, src, dst):
        return self._move(os.rename, src, dst)

    def replace(self, src, dst):
        return self._move(os.replace, src, dst)


def test_overwrite_that_fails_halfway_leaves_the_old_run_whole(finished, tmp_path, monkeypatch, capsys):
    out = _copy(finished, tmp_path / "run")
    (out / "notes.txt").write_text("mine")
    before = _files(out)
    monkeypatch.setattr(rundir, "os", _FailingOs())
    assert cli.main(["train", "--out", str(out), *TINY, "--seed", "1", "--overwrite"]) == 1
    assert "Input/output error" in _line(capsys.readouterr().err)
    assert _files(out) == before  # not the new checkpoint beside the old metrics
    monkeypatch.undo()
    torch.set_num_threads(1)
    # the new run is kept staged and goes into place on --resume; files no run writes stay
    assert cli.main(["train", "--out", str(out), *RESUME]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["seed"] == 1 and (out / "notes.txt").read_text() == "mine"
    assert not list(tmp_path.glob(".run.*"))


def test_a_replacement_cut_short_is_undone_by_the_next_run(finished, tmp_path, monkeypatch, capsys):
    out, stage, backup = tmp_path / "run", tmp_path / ".run.partial", tmp_path / ".run.replaced"
    monkeypatch.setattr(trainer, "evaluate", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert cli.main(["train", "--out", str(out), *TINY, "--seed", "1"]) == 130  # a new run, staged
    monkeypatch.undo()
    capsys.readouterr()
    new = _files(stage)
    # the state of a commit killed halfway: the old run aside, one new file already in place
    _copy(finished, backup)
    out.mkdir()
    os.rename(stage / "checkpoint.pt", out / "checkpoint.pt")
    assert cli.main(["train", "--out", str(out), *TINY]) == 1
    assert "interrupted run (2 epochs" in _line(capsys.readouterr().err)
    assert _files(out) == _files(finished) and _files(stage) == new and not backup.exists()
    torch.set_num_threads(1)
    assert cli.main(["train", "--out", str(out), *RESUME]) == 0
    assert json.loads((out / "metrics.json").read_text())["config"]["seed"] == 1


# 6. two trainings of one folder


def test_a_second_train_of_the_same_folder_fails_at_once(tmp_path, capsys):
    out = tmp_path / "run"
    with FileLock(tmp_path / ".run.lock", timeout=0):  # what a running `train --out run` holds
        assert cli.main(["train", "--out", str(out), *TINY]) == 1
        line = _line(capsys.readouterr().err)
        assert line.startswith("error: another train is writing") and str(out) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock"]  # the other run's lock, nothing else
    assert cli.main(["train", "--out", str(out), *TINY]) == 0  # the lock is free again and removed after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# clear lines instead of tracebacks


@pytest.mark.parametrize("drop", ["config", "model_state", "history", "epoch", "generator_state", "optimizer_state"])
def test_cli_on_a_damaged_checkpoint_says_so(finished, tmp_path, capsys, drop):
    out = _copy(finished, tmp_path / "run")
    d = torch.load(out / "checkpoint.pt", weights_only=True)
    del d[drop]
    torch.save(d, out / "checkpoint.pt")
    for argv in (["evaluate", str(out), "--k", "2"], ["train", "--out", str(out), *RESUME, "--epochs", "3"]):
        assert cli.main(argv) == 1
        line = _line(capsys.readouterr().err)
        assert line.startswith("error: checkpoint") and f"lacks '{drop}'" in line, line


@pytest.mark.parametrize(
    "change", [{"config": [1, 2]}, {"config": "x"}, {"version": "1"}, {"config_extra": 1}], ids=str
)
def test_cli_on_a_malformed_checkpoint_says_so(finished, tmp_path, capsys, change):
    out = _copy(finished, tmp_path / "run")
    d = torch.load(out / "checkpoint.pt", weights_only=True)
    if "config_extra" in change:
        d["config"]["bogus"] = 1
    else:
        d.update(change)
    torch.save(d, out / "checkpoint.pt")
    assert cli.main(["evaluate", str(out), "--k", "2"]) == 1
    assert _line(capsys.readouterr().err).startswith("error: checkpoint")


def test_huge_seed_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--out", "x", "--seed", str(2**64)])
    assert exc.value.code == 2
    assert "--seed: must be <= 9223372036854775807" in _line(capsys.readouterr().err)


def test_early_ctrl_c_says_interrupted(tmp_path, monkeypatch, capsys):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt  # no message, as Python raises it on Ctrl-C

    monkeypatch.setattr(cli, "_load", ctrl_c)
    assert cli.main(["train", "--out", str(tmp_path / "run"), *TINY]) == 130
    assert _line(capsys.readouterr().err) == "error: interrupted"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["train", "--out", "x", "--ov"], ["train", "--out", "x", "--epo", "3"],
                                  ["evaluate", "x", "--lim", "5"]])  # fmt: skip
def test_abbreviated_flags_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "unrecognized arguments" in _line(capsys.readouterr().err)


def test_resume_warns_about_a_changed_recipe_or_learning_rate(finished, tmp_path, capsys):
    out = _copy(finished, tmp_path / "run")
    argv = ["train", "--out", str(out), *RESUME, "--epochs", "3", "--lr", "0.002", "--recipe", "digits-2d"]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "warning: --recipe digits-2d is ignored with --resume" in err
    assert "warning: --lr 0.002 differs from the run being resumed (0.001)" in err
    m = json.loads((out / "metrics.json").read_text())
    assert m["history"]["lr"] == pytest.approx([1e-3, 1e-3, 2e-3]) and m["config"]["hidden"] == [16]


def test_version_flag():
    proc = subprocess.run(
        [sys.executable, "-m", "lecture_vae", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"lecture_vae {lecture_vae.__version__}"


def test_shipped_checkpoint_is_package_data_found_through_importlib_resources(tmp_path):
    import importlib.resources

    assert paper.CHECKPOINT == importlib.resources.files("lecture_vae.training") / "checkpoints" / "mnist-paper.pt"
    model, record = paper.load_shipped()
    # a package inside a zip file has no real paths: load_shipped works from its resources all the same
    with zipfile.ZipFile(tmp_path / "pkg.zip", "w") as z:
        for name in ("mnist-paper.pt", "mnist-paper.json"):
            z.writestr(f"checkpoints/{name}", (Path(str(paper.CHECKPOINT)).parent / name).read_bytes())
    zipped, zipped_record = paper.load_shipped(zipfile.Path(tmp_path / "pkg.zip") / "checkpoints" / "mnist-paper.pt")
    assert zipped_record == record
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), zipped.parameters(), strict=True))
