"""fit(free_bits=lambda): the loss's KL term is sum_l max(lambda, mean over the batch of KL_l) (Kingma et al. 2016).

The oracle is torch.distributions: the per-dimension KL of Normal(mu, sigma) from Normal(0, 1), its batch
mean clamped at lambda, differentiated by autograd, compared with the gradient fit actually applies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from lecture_vae import VAE
from lecture_vae.training.data import load
from lecture_vae.training.trainer import fit, load_checkpoint

X = load("digits", "train").images[:64]  # one full batch: fit takes exactly one step per epoch


def _model(seed: int = 0, posterior: str = "diagonal") -> VAE:
    torch.manual_seed(seed)
    return VAE(64, 4, hidden=(16,), posterior=posterior)


def _first_gradient(monkeypatch: pytest.MonkeyPatch, model: VAE, **kwargs: object) -> list[torch.Tensor]:
    """The gradient of fit's loss at its first step, read off a stand-in optimizer that does not move."""
    seen: list[list[torch.Tensor]] = []

    class Recorder(torch.optim.SGD):
        def __init__(self, params: object, lr: float, **_: object) -> None:
            super().__init__(params, lr=lr)

        def step(self, closure: object = None) -> None:
            seen.append([p.grad.clone() for group in self.param_groups for p in group["params"]])

    monkeypatch.setattr(torch.optim, "Adam", Recorder)
    fit(model, X, epochs=1, batch_size=len(X), seed=3, progress=False, **kwargs)
    return seen[0]


def _oracle_kl_gradient(model: VAE, lam: float) -> list[torch.Tensor]:
    """d/dparams of sum_l max(lam, mean_b KL(N(mu_bl, sigma_bl) || N(0, 1))), via torch.distributions."""
    model.zero_grad()
    q = model.encode(X)
    kl = kl_divergence(Normal(q.mu, (0.5 * q.logvar).exp()), Normal(0.0, 1.0)).mean(0)  # (L,)
    torch.where(kl > lam, kl, torch.full_like(kl, lam)).sum().backward()
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


def test_gradient_is_reconstruction_plus_clamped_kl(monkeypatch: pytest.MonkeyPatch) -> None:
    with torch.no_grad():
        q = _model().encode(X)
        kl = kl_divergence(Normal(q.mu, (0.5 * q.logvar).exp()), Normal(0.0, 1.0)).mean(0)
    lam = float(kl.sort().values[1:3].mean())  # between the 2nd and 3rd smallest: two dimensions clamped, two not
    assert (kl < lam).sum() == 2
    with_fb = _first_gradient(monkeypatch, _model(), free_bits=lam)
    without_kl = _first_gradient(monkeypatch, _model(), beta=0.0)  # same seed: same batch and the same eps
    expected = _oracle_kl_gradient(_model(), lam)
    for got, rec_only, kl_part in zip(with_fb, without_kl, expected, strict=True):
        torch.testing.assert_close(got - rec_only, kl_part, rtol=1e-4, atol=1e-6)
    assert any(float(k.abs().max()) > 1e-3 for k in expected)  # the KL part is not trivially zero
    # the plain KL (free_bits=0) differs: its gradient also pushes the two clamped dimensions
    plain = _first_gradient(monkeypatch, _model())
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(plain, with_fb, strict=True))


def test_free_bits_above_every_kl_is_training_without_kl() -> None:
    """max(lambda, KL_l) = lambda has no gradient: the run equals beta = 0, the recorded KL is the plain one."""
    a, b = _model(), _model()
    h_a = fit(a, X, epochs=3, batch_size=16, free_bits=1e6, seed=1, progress=False)
    h_b = fit(b, X, epochs=3, batch_size=16, beta=0.0, seed=1, progress=False)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert h_a.train_kl == pytest.approx(h_b.train_kl, rel=1e-4)
    assert max(h_a.train_kl) < 1e3  # the recorded KL is KL itself, not the clamped 4 * 1e6


def test_free_bits_is_saved_and_checked_on_resume(tmp_path: Path) -> None:
    ck = tmp_path / "run.pt"
    fit(_model(), X, epochs=1, free_bits=0.25, checkpoint=ck, progress=False)
    assert load_checkpoint(ck).fit_args["free_bits"] == 0.25
    with pytest.warns(UserWarning, match="free_bits: checkpoint 0.25, now 0.5"):
        fit(_model(), X, epochs=2, free_bits=0.5, checkpoint=ck, resume=True, progress=False)


def test_bad_free_bits_are_named() -> None:
    with pytest.raises(ValueError, match="free_bits must be >= 0, got -0.1"):
        fit(_model(), X, epochs=1, free_bits=-0.1, progress=False)
    with pytest.raises(TypeError, match="free_bits must be a finite number"):
        fit(_model(), X, epochs=1, free_bits="0.5", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="free_bits needs a diagonal posterior"):
        fit(_model(posterior="full"), X, epochs=1, free_bits=0.5, progress=False)
