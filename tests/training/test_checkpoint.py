"""Checkpoints: exact round trip, atomic writes that survive SIGKILL, refusal of code-carrying pickles."""

from __future__ import annotations

import os
import pathlib
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from lecture_vae import VAE
from lecture_vae.training.checkpoint import FORMAT, History, load_checkpoint, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _trained_state(seed: int = 0) -> tuple[VAE, torch.optim.Adam, torch.Generator]:
    """A small VAE after two Adam steps, so the optimizer has non-trivial state."""
    torch.manual_seed(seed)
    model = VAE(16, 3, hidden=(8,), likelihood="gaussian", posterior="full")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    for _ in range(2):
        x = torch.rand(5, 16, generator=g)
        loss = -model.log_likelihood(x, model.encode(x).rsample(generator=g)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, opt, g


def test_round_trip_restores_everything(tmp_path: Path) -> None:
    model, opt, g = _trained_state()
    history = History(epoch=[1, 2], train_elbo=[-3.5, -2.25], seconds=[0.1, 0.2])
    path = save_checkpoint(
        tmp_path / "sub" / "ck.pt",
        model,
        optimizer_state=opt.state_dict(),
        epoch=2,
        history=history,
        generator_state=g.get_state(),
        fit_args={"lr": 1e-2},
    )
    ck = load_checkpoint(path)
    assert ck.epoch == 2 and ck.fit_args == {"lr": 1e-2} and ck.path == path
    assert ck.config == model.config_dict()
    assert ck.history == history and ck.history.to_dict() == history.to_dict()
    assert torch.equal(ck.generator_state, g.get_state())
    rebuilt = dict(ck.model.named_parameters())
    for name, p in model.named_parameters():
        assert torch.equal(rebuilt[name], p), name
    # the optimizer state continues exactly: one more step from either gives the same parameters
    opt2 = torch.optim.Adam(ck.model.parameters(), lr=1e-2)
    opt2.load_state_dict(ck.optimizer_state)
    for m, o in ((model, opt), (ck.model, opt2)):
        o.zero_grad()
        sum(p.pow(2).sum() for p in m.parameters()).backward()
        o.step()
    for (name, p), q in zip(model.named_parameters(), ck.model.parameters(), strict=True):
        assert torch.equal(p, q), name


def test_load_into_given_model_and_config_mismatch(tmp_path: Path) -> None:
    model, _, _ = _trained_state()
    path = save_checkpoint(tmp_path / "ck.pt", model)
    target = VAE(16, 3, hidden=(8,), likelihood="gaussian", posterior="full")
    ck = load_checkpoint(path, model=target)
    assert ck.model is target
    assert torch.equal(target.decoder.x_logvar, model.decoder.x_logvar)

    wrong = VAE(16, 2, hidden=(8,), likelihood="bernoulli", posterior="full")
    with pytest.raises(ValueError, match="does not match") as err:
        load_checkpoint(path, model=wrong)
    msg = str(err.value)
    assert "z_dim: checkpoint 3, model 2" in msg
    assert "likelihood: checkpoint 'gaussian', model 'bernoulli'" in msg
    assert "hidden" not in msg and str(path) in msg


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    bare = tmp_path / "bare.pt"
    torch.save(VAE(4, 2).state_dict(), bare)  # a plain state_dict is safe but not a checkpoint
    with pytest.raises(ValueError, match="not a lecture_vae checkpoint.*load_state_dict"):
        load_checkpoint(bare)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a torch file" * 10)
    with pytest.raises(ValueError, match="junk.pt is not a readable checkpoint"):
        load_checkpoint(junk)


def test_checkpoint_gets_the_usual_file_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "run.pt", VAE(4, 2))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


class _Touch:
    """A pickle payload that creates a file when unpickled (stands in for arbitrary code)."""

    def __init__(self, marker: Path, use_os_system: bool) -> None:
        self.marker, self.use_os_system = marker, use_os_system

    def __reduce__(self):  # noqa: ANN204
        if self.use_os_system:
            return (os.system, (f"touch {self.marker}",))
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
@pytest.mark.parametrize("use_os_system", [False, True])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, writer: str, use_os_system: bool) -> None:
    marker = tmp_path / "pwned"
    payload = {"format": FORMAT, "version": 1, "config": {}, "model_state": _Touch(marker, use_os_system)}
    path = tmp_path / "evil.pt"
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=2)
    with pytest.raises(ValueError, match="not a plain lecture_vae checkpoint") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    assert not marker.exists(), "the pickled payload ran"
    if use_os_system and os.name != "posix":
        return
    # the oracle: an unsafe load really would have run the payload
    if writer == "torch.save":
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as f:
            pickle.load(f)  # noqa: S301
    assert marker.exists()


_WRITER = textwrap.dedent(
    """
    import sys, torch
    from lecture_vae import VAE
    from lecture_vae.training.checkpoint import save_checkpoint
    model = VAE(784, 8, hidden=(1024, 1024))  # about 15 MB of weights
    w = model.encoder.net[0].weight
    for i in range(1, 100_000):
        with torch.no_grad():
            w.fill_(float(i))
        save_checkpoint(sys.argv[1], model, epoch=i)
        print(i, flush=True)
    """
)


def test_atomic_write_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "ck.pt"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()  # blocks until one checkpoint is complete
        assert first.strip() == "1", f"writer failed to start: {first!r}"
        delay = random.uniform(0.0, 0.6)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = [int(line) for line in [first, *proc.stdout.read().split()] if line.strip()]
    ck = load_checkpoint(path)  # never a partial file
    w = ck.model.encoder.net[0].weight
    # the file holds the last completed save, or the one whose rename raced the kill
    assert ck.epoch in (done[-1], done[-1] + 1), (ck.epoch, done[-1], delay)
    assert bool((w == float(ck.epoch)).all()), "weights and epoch come from different saves"
    # a killed writer can leave its temp file behind; the next save removes it
    save_checkpoint(path, ck.model, epoch=ck.epoch)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt", "writer.py"]


def test_history_dict_round_trip() -> None:
    h = History()
    h.append(epoch=1, train_elbo=-1.0, seconds=0.5)
    assert len(h) == 1
    assert History.from_dict(h.to_dict()) == h
    with pytest.raises(ValueError, match="unknown key.*'elbo'"):
        History.from_dict({"elbo": [1.0]})


def test_unloadable_values_are_refused_at_save_time(tmp_path: Path) -> None:
    import numpy as np

    model = VAE(4, 2, note=np.float64(1.5))  # would save, but weights_only loading would refuse it
    with pytest.raises(TypeError, match=r"checkpoint\['config'\]\['extra'\]\['note'\] is a numpy.float64"):
        save_checkpoint(tmp_path / "ck.pt", model)
    assert list(tmp_path.iterdir()) == []


def _payload(model: VAE) -> dict:
    return {
        "format": FORMAT,
        "version": 1,
        "config": model.config_dict(),
        "model_state": model.state_dict(),
        "optimizer_state": None,
        "epoch": 3,
        "history": History().to_dict(),
        "generator_state": None,
        "fit_args": {},
    }


@pytest.mark.parametrize(
    "change, pattern",
    [
        *[
            ({k: None}, f"lacks '{k}'")
            for k in ("config", "model_state", "history", "epoch", "generator_state", "optimizer_state")
        ],  # fmt: skip
        ({"config": [4, 2]}, "'config' must be a dict"),
        ({"config": "extra"}, "'config' must be a dict"),
        ({"config": {"bogus": 1}}, "config that does not describe a VAE.*bogus"),
        ({"version": "1"}, "'version' must be an int, got '1'"),
        ({"epoch": "3"}, "'epoch' must be an int >= 0, got str"),
        ({"history": {"elbo": [1.0]}}, "malformed history.*unknown key"),
        ({"model_state": {}}, "weights that do not fit its config.*Missing key"),
        ({"generator_state": [1, 2]}, "'generator_state' must be a tensor"),
    ],
)
def test_damaged_checkpoint_is_one_value_error(tmp_path: Path, change: dict, pattern: str) -> None:
    model = VAE(4, 2, hidden=(8,))
    d = _payload(model)
    for key, value in change.items():
        if value is None and pattern.startswith("lacks"):
            del d[key]
        elif key == "config" and isinstance(value, dict):
            d["config"] = {**d["config"], **value}
        else:
            d[key] = value
    path = tmp_path / "ck.pt"
    torch.save(d, path)
    with pytest.raises(ValueError, match=pattern) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_nan_weights_are_named_as_such(tmp_path: Path) -> None:
    model = VAE(4, 2, hidden=(8,))
    with torch.no_grad():
        model.encoder.net[0].weight[0, 0] = float("nan")
    path = save_checkpoint(tmp_path / "ck.pt", model)
    with pytest.raises(ValueError, match=r"holds NaN/Inf weights \(encoder\.net\.0\.weight\)") as err:
        load_checkpoint(path)
    assert "mu must be finite" not in str(err.value)


def test_refused_pickle_message_is_short_and_plain(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "model_state": _Touch(tmp_path / "pwned", True)}, path)
    with pytest.raises(ValueError, match="not a plain lecture_vae checkpoint") as err:
        load_checkpoint(path)
    msg = str(err.value)
    assert len(msg) < 350 and "\x1b" not in msg and "\n" not in msg, msg
    assert "system" in msg  # names what was refused
