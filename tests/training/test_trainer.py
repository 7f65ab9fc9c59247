"""fit on the 8x8 digits: learning, exact resume, reproducibility, divergence, KL warm-up, validation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lecture_vae import VAE, DiagonalGaussian, elbo
from lecture_vae.bounds import ELBOTerms
from lecture_vae.training.data import load
from lecture_vae.training.trainer import (
    EVAL_SEED_OFFSET,
    History,
    TrainingDiverged,
    evaluate,
    fit,
    load_checkpoint,
)

TRAIN, VAL = load("digits", "train"), load("digits", "val")
STEPS = math.ceil(len(TRAIN) / 128)  # 11 batches of the 1,300 training digits


def _model(seed: int = 0, z_dim: int = 2) -> VAE:
    torch.manual_seed(seed)
    return VAE(64, z_dim, hidden=(32,))


def _same_parameters(a: VAE, b: VAE) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _numbers(h: History) -> dict[str, list]:
    d = h.to_dict()
    del d["seconds"]  # wall-clock time is the one thing that may differ
    return d


def test_elbo_rises_and_history_is_complete() -> None:
    model = _model()
    before = evaluate(model, VAL)
    h = fit(model, TRAIN, VAL, epochs=6, lr=3e-3, progress=False)
    after = evaluate(model, VAL)
    assert after.elbo > before.elbo + 8, (before, after)  # nats per image
    assert h.train_elbo[-1] > h.train_elbo[0] + 5
    assert len(h) == 6 and h.epoch == [1, 2, 3, 4, 5, 6]
    for name, values in h.to_dict().items():
        assert len(values) == 6, name
        assert all(math.isfinite(v) for v in values), name
    assert all(s > 0 for s in h.seconds) and h.beta == [1.0] * 6 and h.lr == [3e-3] * 6
    for e, r, k in zip(h.val_elbo, h.val_reconstruction, h.val_kl, strict=True):
        assert e == pytest.approx(r - k)
    assert h.val_elbo[-1] == pytest.approx(after.elbo)  # fit's validation is evaluate()


def test_validation_is_the_mean_elbo_with_a_fixed_generator() -> None:
    model = _model()
    m1, m2 = evaluate(model, VAL, seed=3), evaluate(model, VAL, seed=3)
    assert m1 == m2
    terms = elbo(model, VAL.images, generator=torch.Generator().manual_seed(3 + EVAL_SEED_OFFSET))
    assert m1.elbo == pytest.approx(float(terms.elbo.mean().detach()), abs=1e-4)
    assert m1.kl == pytest.approx(float(terms.kl.mean().detach()), abs=1e-5)
    h = fit(model, TRAIN.images[:256], epochs=1, progress=False)  # a plain tensor works too
    assert h.val_elbo == [] and len(h) == 1


def test_same_seed_same_run_other_seed_other_run() -> None:
    a, b, c = _model(), _model(), _model()
    ha = fit(a, TRAIN, VAL, epochs=2, seed=1, progress=False)
    hb = fit(b, TRAIN, VAL, epochs=2, seed=1, progress=False)
    hc = fit(c, TRAIN, VAL, epochs=2, seed=2, progress=False)
    assert _same_parameters(a, b) and _numbers(ha) == _numbers(hb)
    assert not _same_parameters(a, c) and _numbers(ha) != _numbers(hc)


def test_resume_is_exact(tmp_path: Path) -> None:
    train = load("digits", "train", binarize="dynamic")  # the generator also drives binarization
    ck = tmp_path / "run.pt"
    straight = _model()
    h_straight = fit(straight, train, VAL, epochs=4, kl_warmup=3, seed=5, progress=False)
    first = _model()
    h_first = fit(first, train, VAL, epochs=2, kl_warmup=3, seed=5, checkpoint=ck, progress=False)
    assert load_checkpoint(ck).epoch == 2 and len(h_first) == 2
    resumed = _model(seed=123)  # other initial weights: everything must come from the checkpoint
    h_resumed = fit(resumed, train, VAL, epochs=4, kl_warmup=3, seed=5, checkpoint=ck, resume=True, progress=False)
    assert _same_parameters(resumed, straight)
    assert _numbers(h_resumed) == _numbers(h_straight)
    saved = load_checkpoint(ck)
    assert saved.epoch == 4 and _numbers(saved.history) == _numbers(h_straight)
    # a finished run resumed again trains no further
    again = _model(seed=7)
    assert len(fit(again, train, epochs=4, kl_warmup=3, seed=5, checkpoint=ck, resume=True, progress=False)) == 4
    assert _same_parameters(again, straight)
    with pytest.warns(UserWarning, match="seed: checkpoint 5, now 0; kl_warmup: checkpoint 3, now 0"):
        fit(again, train, epochs=4, checkpoint=ck, resume=True, progress=False)


def test_resume_without_a_file_starts_fresh(tmp_path: Path) -> None:
    a, b = _model(), _model()
    fit(a, TRAIN, epochs=1, checkpoint=tmp_path / "new.pt", resume=True, progress=False)
    fit(b, TRAIN, epochs=1, progress=False)
    assert _same_parameters(a, b)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        fit(a, TRAIN, epochs=1, resume=True, progress=False)


def test_huge_learning_rate_raises_training_diverged() -> None:
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step \d+/11.*learning rate 1e\+06 is likely too high") as err:
        fit(_model(), TRAIN, epochs=2, lr=1e6, progress=False)
    assert isinstance(err.value, RuntimeError)
    assert "not finite" in str(err.value) and "checkpoint=<path>" in str(err.value)


def test_nan_in_epoch_two_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    ck = tmp_path / "run.pt"
    model = _model()
    calls = []

    def poison(module: torch.nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return out * float("nan") if len(calls) == STEPS + 3 else out  # epoch 2, step 3

    model.decoder.register_forward_hook(poison)
    expected = r"epoch 2, step 3/11: the loss is not finite \(its reconstruction term"
    with pytest.raises(TrainingDiverged, match=expected) as err:
        fit(model, TRAIN, epochs=3, checkpoint=ck, progress=False)
    assert f"epoch 1) is in {ck}" in str(err.value)
    reference = _model()
    fit(reference, TRAIN, epochs=1, progress=False)
    saved = load_checkpoint(ck)
    assert saved.epoch == 1 and len(saved.history) == 1
    assert _same_parameters(saved.model, reference)
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the bad step was never applied


def test_nan_gradient_names_the_parameter() -> None:
    model = _model()
    calls = []

    def poison(grad: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return grad * float("nan") if len(calls) == 2 else grad

    model.decoder.net[0].weight.register_hook(poison)
    with pytest.raises(
        TrainingDiverged, match=r"epoch 1, step 2/11: the gradient is not finite \(NaN/Inf in decoder\.net\.0\.w"
    ):
        fit(model, TRAIN, epochs=1, lr=1e-3, progress=False)


def test_infinite_kl_is_reported() -> None:
    model = _model()
    calls = []

    def blow_up(module: torch.nn.Module, inputs: tuple, q_z: DiagonalGaussian) -> DiagonalGaussian:
        calls.append(1)
        return DiagonalGaussian(q_z.mu * 1e30, q_z.logvar) if len(calls) == 4 else q_z  # mu^2 overflows

    model.encoder.register_forward_hook(blow_up)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step 4/11: the loss is not finite \(its KL term is inf\)"):
        fit(model, TRAIN, epochs=1, progress=False)


def test_kl_warmup_ramps_beta_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gradient of the loss with respect to the mean KL is exactly beta_t: record it at every step."""
    seen: list[float] = []

    def recording_elbo(model: VAE, x: torch.Tensor, **kwargs: object) -> ELBOTerms:
        terms = elbo(model, x, **kwargs)
        if torch.is_grad_enabled():
            kl = terms.kl.clone()
            kl.register_hook(lambda g: seen.append(float(g.sum())))  # d loss / d mean(kl) = beta_t
            return ELBOTerms(terms.reconstruction, kl, terms.reconstruction - kl)
        return terms

    monkeypatch.setattr(VAE, "elbo_unchecked", recording_elbo)  # what fit's training steps call
    h = fit(_model(), TRAIN, epochs=4, beta=0.5, kl_warmup=2, progress=False)
    expected = [0.5 * min(1.0, t / (2 * STEPS)) for t in range(1, 4 * STEPS + 1)]
    assert seen == pytest.approx(expected, rel=1e-5)
    assert h.beta == pytest.approx([0.25, 0.5, 0.5, 0.5])
    # a lower KL weight early on lets the posterior move further from the prior
    h0 = fit(_model(), TRAIN, epochs=1, beta=0.5, progress=False)
    h2 = fit(_model(), TRAIN, epochs=1, beta=0.5, kl_warmup=2, progress=False)
    assert h2.train_kl[0] > h0.train_kl[0]


def test_lr_schedules() -> None:
    h = fit(_model(), TRAIN.images[:128], epochs=4, lr=1e-2, lr_schedule="cosine", progress=False)
    assert h.lr == pytest.approx([1e-2 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])
    h = fit(_model(), TRAIN.images[:128], epochs=2, lr=1e-2, lr_schedule=lambda e: 0.1**e, progress=False)
    assert h.lr == pytest.approx([1e-2, 1e-3])
    with pytest.raises(ValueError, match="lr_schedule must be.*'linear'"):
        fit(_model(), TRAIN, epochs=1, lr_schedule="linear", progress=False)


def test_bad_arguments_are_named() -> None:
    model = _model()
    with pytest.raises(ValueError, match=r"train must have last dimension 64, got shape \(5, 784\)"):
        fit(model, torch.rand(5, 784), epochs=1, progress=False)
    with pytest.raises(TypeError, match="train must be an ImageData"):
        fit(model, [[0.0] * 64], epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"val must lie in \[0, 1\]"):
        fit(model, TRAIN, VAL.images * 16, epochs=1, progress=False)
    with pytest.raises(ValueError, match="lr must be > 0, got -0.1"):
        fit(model, TRAIN, epochs=1, lr=-0.1, progress=False)
    with pytest.raises(TypeError, match="epochs must be a positive int"):
        fit(model, TRAIN, epochs=2.5, progress=False)


def test_progress_bar_shows_the_elbo(capsys: pytest.CaptureFixture[str]) -> None:
    fit(_model(), TRAIN, VAL, epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "train elbo" in err and "val elbo" in err
    fit(_model(), TRAIN, epochs=1, progress=False)
    assert capsys.readouterr().err == ""


def test_optimizer_state_is_used(tmp_path: Path) -> None:
    """Continuing with the stored Adam state differs from a cold restart of the optimizer."""
    model = _model()
    fit(model, TRAIN, epochs=1, checkpoint=tmp_path / "a.pt", progress=False)
    saved = load_checkpoint(tmp_path / "a.pt")
    warm, cold = load_checkpoint(tmp_path / "a.pt").model, load_checkpoint(tmp_path / "a.pt").model
    fit(warm, TRAIN, epochs=1, optimizer_state=saved.optimizer_state, progress=False)
    fit(cold, TRAIN, epochs=1, progress=False)
    assert not _same_parameters(warm, cold)


def test_negative_learning_rate_factor_is_refused() -> None:
    """A negative factor would turn Adam's descent into ascent: the loss would climb."""
    with pytest.raises(ValueError, match=r"lr_schedule\(1\) must return a finite factor >= 0.*got -0.5"):
        fit(_model(), TRAIN.images[:128], epochs=3, lr_schedule=lambda e: 1.0 if e == 0 else -0.5, progress=False)
    with pytest.raises(ValueError, match=r"lr_schedule\(0\) must return a finite factor >= 0.*got nan"):
        fit(_model(), TRAIN.images[:128], epochs=1, lr_schedule=lambda e: float("nan"), progress=False)
    h = fit(_model(), TRAIN.images[:128], epochs=2, lr=1e-2, lr_schedule=lambda e: 0.0 if e else 1.0, progress=False)
    assert h.lr == [1e-2, 0.0]  # 0 (a pause) is allowed


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"device 'cuda' was asked for, but torch.cuda.is_available\(\) is False"):
        fit(_model(), TRAIN, epochs=1, device="cuda", progress=False)
    with pytest.raises(ValueError, match="device must name a torch device.*'gpu'"):
        fit(_model(), TRAIN, epochs=1, device="gpu", progress=False)


def test_model_without_parameters_is_refused() -> None:
    empty = torch.nn.Module()
    with pytest.raises(ValueError, match="model has no parameters"):
        fit(empty, TRAIN, epochs=1, progress=False)
    with pytest.raises(ValueError, match="model has no parameters"):
        evaluate(empty, TRAIN)
    with pytest.raises(TypeError, match="model must be a lecture_vae VAE"):
        evaluate("vae", TRAIN)


def test_evaluate_checks_its_counts() -> None:
    with pytest.raises(ValueError, match="batch_size must be"):
        evaluate(_model(), VAL, batch_size=0)
    with pytest.raises(ValueError, match="n_samples must be"):
        evaluate(_model(), VAL, n_samples=0)


def test_bad_optimizer_state_is_named() -> None:
    with pytest.raises(ValueError, match=r"optimizer_state must be an Adam state_dict.*got a dict with keys \[\]"):
        fit(_model(), TRAIN, epochs=1, optimizer_state={}, progress=False)
    other = torch.optim.Adam(torch.nn.Linear(3, 3).parameters()).state_dict()  # another model's parameters
    with pytest.raises(ValueError, match="optimizer_state must be an Adam state_dict.*loading it failed"):
        fit(_model(), TRAIN, epochs=1, optimizer_state=other, progress=False)


@pytest.mark.parametrize("seed", [2**64, -1, 2**63])
def test_out_of_range_seed_is_named(seed: int) -> None:
    with pytest.raises(ValueError, match=rf"seed must lie in \[0, 2\*\*63 - 1\], got {seed}"):
        fit(_model(), TRAIN, epochs=1, seed=seed, progress=False)
    with pytest.raises(ValueError, match="seed must lie in"):
        evaluate(_model(), VAL, seed=seed)


def test_huge_beta_is_named_as_the_cause() -> None:
    with pytest.raises(TrainingDiverged, match=r"KL weight beta=1e\+308 is far too large") as err:
        fit(_model(), TRAIN, epochs=1, beta=1e308, progress=False)
    assert "learning rate" not in str(err.value)
