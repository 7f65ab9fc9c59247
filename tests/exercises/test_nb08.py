"""Notebook 08's checkers accept correct solutions and reject the usual mistakes: the IWAE bound
without log-sum-exp or without -log K, active units measured without centring or over the wrong axis."""

from __future__ import annotations

import math

import pytest
import torch

import lecture_vae as lv
import lecture_vae.exercises as ex
from lecture_vae import evaluation
from lecture_vae.exercises import nb08


def test_checkers_are_found_by_name():
    assert ex.check_iwae_bound is nb08.check_iwae_bound
    assert ex.check_active_units is nb08.check_active_units


def test_reference_iwae_matches_the_package_bound():
    g = torch.Generator().manual_seed(0)
    model = lv.LinearGaussian.random(4, 2, generator=g)
    x = model.sample(3, generator=g)
    mean, cov = model.posterior(x)
    q = lv.DiagonalGaussian(mean, cov.diagonal(dim1=-2, dim2=-1).log())
    log_w = lv.log_importance_weights(model, x, 20, generator=torch.Generator().manual_seed(1), q_z=q)
    iwae = lv.iwae_bound(model, x, 20, generator=torch.Generator().manual_seed(1), q_z=q)
    torch.testing.assert_close(nb08.reference_iwae_bound(log_w), iwae)


def test_iwae_bound_accepts_correct_solutions():
    def stable(log_w):
        m = log_w.max(0).values
        return m + (log_w - m).exp().mean(0).log()

    assert nb08.check_iwae_bound(lambda log_w: torch.logsumexp(log_w, 0) - math.log(log_w.shape[0]))
    assert nb08.check_iwae_bound(stable)


def test_iwae_bound_rejects_common_bugs():
    bugs = {
        "elbo": lambda log_w: log_w.mean(0),
        "no log-sum-exp": lambda log_w: log_w.exp().mean(0).log(),
        "no -log K": lambda log_w: torch.logsumexp(log_w, 0),
        "wrong axis": lambda log_w: torch.logsumexp(log_w, 1) - math.log(log_w.shape[1]),
        "max only": lambda log_w: log_w.max(0).values,
    }
    for name, bug in bugs.items():
        assert not nb08.check_iwae_bound(bug), name


def test_active_units_accepts_correct_solutions():
    assert nb08.check_active_units(evaluation.active_units)
    assert nb08.check_active_units(lambda mu, t: ((mu - mu.mean(0)) ** 2).mean(0) > t)  # divisor N
    assert nb08.check_active_units(lambda mu, t: torch.from_numpy(mu.numpy().var(0, ddof=1) > t))


def test_active_units_rejects_common_bugs():
    bugs = {
        "not centred": lambda mu, t: mu.pow(2).mean(0) > t,
        "wrong axis": lambda mu, t: mu.var(1) > t,
        "std, not variance": lambda mu, t: mu.std(0) > t,
        "a count, not a mask": lambda mu, t: (mu.var(0) > t).sum(),
        "inverted": lambda mu, t: mu.var(0) < t,
    }
    for name, bug in bugs.items():
        assert not nb08.check_active_units(bug), name


def test_free_bits_kl_matches_the_trainer_formula_and_rejects_the_usual_mistakes():
    assert ex.check_free_bits_kl is nb08.check_free_bits_kl
    assert nb08.check_free_bits_kl(lambda kl, lam: torch.clamp(kl.mean(0), min=lam).sum())
    kl = torch.tensor([[0.0, 0.5], [1.0, 0.0]])
    assert float(nb08.reference_free_bits_kl(kl, 0.4)) == pytest.approx(0.9)  # by hand: max(0.4, 0.5) + max(0.4, 0.25)
    # clamping every example before the batch mean, or averaging over dimensions, is caught
    assert not nb08.check_free_bits_kl(lambda kl, lam: kl.clamp(min=lam).mean(0).sum())
    assert not nb08.check_free_bits_kl(lambda kl, lam: kl.mean(0).clamp(min=lam).mean())
    assert not nb08.check_free_bits_kl(lambda kl, lam: kl.mean(0).sum())
