"""beta_sweep: one initialization, one trained copy per KL weight, each summarized as evaluation does."""

from __future__ import annotations

import pytest
import torch

import lecture_vae as lv
from lecture_vae import evaluation
from lecture_vae.training import beta_sweep, load


def test_beta_sweep_trains_one_model_per_beta_from_one_init():
    train, val = load("digits", "train").subset(slice(200)), load("digits", "val").subset(slice(100))
    calls = []

    def make_model():
        calls.append(1)
        torch.manual_seed(0)
        return lv.VAE(64, 3, hidden=(16,))

    points = beta_sweep(make_model, train, val, [0.5, 4.0], epochs=2, progress=False, batch_size=50)
    assert len(calls) == 1  # one initialization, deep-copied for every beta
    assert [p.beta for p in points] == [0.5, 4.0]
    assert points[0].model is not points[1].model
    for p in points:
        assert len(p.history) == 2 and len(p.history.val_elbo) == 2
        s = evaluation.posterior_summary(p.model, val.images)
        torch.testing.assert_close(p.summary.kl, s.kl)
        assert p.summary.n_active == s.n_active
    w0, w1 = (p.model.encoder.net[0].weight for p in points)
    assert not torch.equal(w0, w1)  # different betas trained the copies differently


def test_beta_sweep_rejects_bad_betas():
    val = torch.rand(10, 64)
    with pytest.raises(ValueError, match="at least one"):
        beta_sweep(lambda: lv.VAE(64, 2, hidden=(4,)), val, val, [], epochs=1)
    with pytest.raises(ValueError, match=">= 0"):
        beta_sweep(lambda: lv.VAE(64, 2, hidden=(4,)), val, val, [-1.0], epochs=1, progress=False)
