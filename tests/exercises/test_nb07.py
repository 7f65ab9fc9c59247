"""Notebook 07's checkers accept correct solutions (written with the package and with plain torch)
and reject the usual mistakes: a per-pixel mean, a flipped or incomplete KL, an unstable log-sigmoid."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import lecture_vae as lv
import lecture_vae.exercises as ex
from lecture_vae.exercises import nb07


def _kl(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def test_checkers_are_found_by_name():
    assert ex.check_negative_elbo_loss is nb07.check_negative_elbo_loss
    assert ex.check_latent_interpolation is nb07.check_latent_interpolation


def test_negative_elbo_loss_accepts_correct_solutions():
    def with_package(x, x_logits, mu, logvar):
        return -(lv.bernoulli_log_prob(x, x_logits) - lv.gaussian_kl(mu, logvar)).mean()

    def with_torch(x, x_logits, mu, logvar):  # summed BCE per image, mean over the batch
        bce = F.binary_cross_entropy_with_logits(x_logits, x, reduction="sum") / x.shape[0]
        return bce + _kl(mu, logvar).mean()

    assert nb07.check_negative_elbo_loss(with_package)
    assert nb07.check_negative_elbo_loss(with_torch)


def test_negative_elbo_loss_agrees_with_the_elbo_of_a_model():
    torch.manual_seed(0)
    model, x = lv.VAE(6, 2, hidden=(5,)), torch.rand(4, 6)
    q_z = model.encode(x)
    terms = lv.elbo(model, x, generator=torch.Generator().manual_seed(1))
    z = q_z.rsample(1, generator=torch.Generator().manual_seed(1))[0]  # the draw elbo() made
    loss = nb07.reference_negative_elbo_loss(x, model.decode(z), q_z.mu, q_z.logvar)
    torch.testing.assert_close(loss, -terms.elbo.mean())


def test_negative_elbo_loss_rejects_common_bugs():
    def pixel_mean(x, x_logits, mu, logvar):  # F.binary_cross_entropy_with_logits' default reduction
        return F.binary_cross_entropy_with_logits(x_logits, x) + _kl(mu, logvar).mean()

    def kl_sign(x, x_logits, mu, logvar):
        return -(lv.bernoulli_log_prob(x, x_logits) + _kl(mu, logvar)).mean()

    def kl_without_minus_one(x, x_logits, mu, logvar):
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar).sum(-1)
        return -(lv.bernoulli_log_prob(x, x_logits) - kl).mean()

    def logvar_as_variance(x, x_logits, mu, logvar):
        kl = 0.5 * (mu.pow(2) + logvar - 1 - logvar.abs().log()).sum(-1)
        return -(lv.bernoulli_log_prob(x, x_logits) - kl).mean()

    def batch_sum(x, x_logits, mu, logvar):
        return -(lv.bernoulli_log_prob(x, x_logits) - _kl(mu, logvar)).sum()

    def unstable_log_sigmoid(x, x_logits, mu, logvar):
        p = torch.sigmoid(x_logits)
        log_px = (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
        return -(log_px - _kl(mu, logvar)).mean()

    for bug in (pixel_mean, kl_sign, kl_without_minus_one, logvar_as_variance, batch_sum, unstable_log_sigmoid):
        assert not nb07.check_negative_elbo_loss(bug), bug.__name__


def test_negative_elbo_loss_reports_not_implemented(capsys):
    def stub(x, x_logits, mu, logvar):
        raise NotImplementedError

    assert not nb07.check_negative_elbo_loss(stub)
    assert "not implemented" in capsys.readouterr().out


def test_latent_interpolation_accepts_a_correct_solution():
    def solution(model, x_a, x_b, n):
        with torch.no_grad():
            mu = model.encode(torch.stack([x_a, x_b])).mu
            z = torch.stack([mu[0] + t * (mu[1] - mu[0]) for t in torch.linspace(0, 1, n)])
            return torch.sigmoid(model.decode(z))

    assert nb07.check_latent_interpolation(solution)


def test_latent_interpolation_rejects_common_bugs():
    def logits(model, x_a, x_b, n):  # forgot the sigmoid: decode gives x_logits
        mu = model.encode(torch.stack([x_a, x_b])).mu
        t = torch.linspace(0, 1, n).unsqueeze(-1)
        return model.decode((1 - t) * mu[0] + t * mu[1])

    def sampled(model, x_a, x_b, n):  # a random z instead of the posterior mean
        q = model.encode(torch.stack([x_a, x_b]))
        z = q.rsample(generator=torch.Generator().manual_seed(0))
        t = torch.linspace(0, 1, n).unsqueeze(-1)
        return torch.sigmoid(model.decode((1 - t) * z[0] + t * z[1]))

    def pixel_space(model, x_a, x_b, n):  # interpolating images, not codes
        t = torch.linspace(0, 1, n).unsqueeze(-1)
        return (1 - t) * x_a + t * x_b

    def open_end(model, x_a, x_b, n):  # t stops short of 1
        mu = model.encode(torch.stack([x_a, x_b])).mu
        t = (torch.arange(n) / n).unsqueeze(-1)
        return torch.sigmoid(model.decode((1 - t) * mu[0] + t * mu[1]))

    for bug in (logits, sampled, pixel_space, open_end):
        assert not nb07.check_latent_interpolation(bug), bug.__name__
