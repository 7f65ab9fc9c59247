"""Notebook 07's checkers accept correct solutions (written with the package and with plain torch)
and reject the usual mistakes: a per-pixel mean, a flipped or incomplete KL, an unstable log-sigmoid; a model
whose draw or layers differ from the package's VAE; a training loop that does not learn, averages wrongly or
cannot be repeated from its seed."""

from __future__ import annotations

import copy

import pytest
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


# Build it yourself: MyVAE (exercise 1) and the training loop (exercise 3)


class SlicingVAE(torch.nn.Module):  # a correct model in another style: plain layers, mu and logvar by slicing
    def __init__(self, x_dim, z_dim, hidden):
        super().__init__()
        self.z_dim = z_dim
        self.encoder = torch.nn.Sequential(
            torch.nn.Linear(x_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2 * z_dim)
        )
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(z_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, x_dim)
        )

    def encode(self, x):
        h = self.encoder(x)
        return h[:, : self.z_dim], h[:, self.z_dim :]

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x, eps):
        mu, logvar = self.encode(x)
        std = torch.distributions.Normal(mu, (0.5 * logvar).exp()).stddev
        return self.decode(mu + std * eps), mu, logvar


def test_checkers_of_the_build_it_yourself_exercises_are_found_by_name():
    assert ex.check_my_vae is nb07.check_my_vae
    assert ex.check_training_loop is nb07.check_training_loop


def test_reference_my_vae_is_the_package_vae_layer_for_layer():
    torch.manual_seed(3)
    mine, vae = nb07.MyVAE(7, 2, 5), lv.VAE(7, 2, hidden=(5,))
    mine.encoder.load_state_dict(vae.encoder.net.state_dict())
    mine.decoder.load_state_dict(vae.decoder.net.state_dict())
    x, eps = torch.rand(4, 7), torch.randn(4, 2)
    q_z = vae.encode(x)
    x_logits, mu, logvar = mine(x, eps)
    torch.testing.assert_close(mu, q_z.mu)
    torch.testing.assert_close(logvar, q_z.logvar)
    q = torch.distributions.Normal(q_z.mu, (0.5 * q_z.logvar).exp())
    torch.testing.assert_close(x_logits, vae.decode(q.mean + q.stddev * eps))  # the reparameterized draw, S8


def test_my_vae_accepts_correct_models_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    assert nb07.check_my_vae(nb07.MyVAE)
    assert nb07.check_my_vae(SlicingVAE)
    assert torch.equal(torch.get_rng_state(), state)


def test_my_vae_rejects_common_bugs(capsys):
    class LogvarAsStd(nb07.MyVAE):  # z = mu + exp(logvar) * eps: the standard deviation is exp(logvar / 2)
        def forward(self, x, eps):
            mu, logvar = self.encode(x)
            return self.decode(mu + logvar.exp() * eps), mu, logvar

    class NoNoise(nb07.MyVAE):  # z = mu: an autoencoder
        def forward(self, x, eps):
            mu, logvar = self.encode(x)
            return self.decode(mu), mu, logvar

    class SwappedHalves(nb07.MyVAE):  # logvar first, then mu
        def encode(self, x):
            logvar, mu = self.encoder(x).chunk(2, dim=-1)
            return mu, logvar

    class ProbabilitiesNotLogits(nb07.MyVAE):
        def decode(self, z):
            return torch.sigmoid(self.decoder(z))

    class TwoHeads(torch.nn.Module):  # the pytorch/examples layout: not layer for layer the package's VAE
        def __init__(self, x_dim, z_dim, hidden):
            super().__init__()
            self.z_dim = z_dim
            self.fc1, self.fc21, self.fc22 = (
                torch.nn.Linear(x_dim, hidden),
                torch.nn.Linear(hidden, z_dim),
                torch.nn.Linear(hidden, z_dim),
            )

    for bug in (LogvarAsStd, NoNoise, SwappedHalves, ProbabilitiesNotLogits, TwoHeads):
        assert not nb07.check_my_vae(bug), bug.__name__
    assert "must be, in order" in capsys.readouterr().out


def test_my_vae_reports_not_implemented(capsys):
    class Stub(torch.nn.Module):
        def __init__(self, x_dim, z_dim, hidden):
            raise NotImplementedError("Exercise: write __init__")

    assert not nb07.check_my_vae(Stub)
    assert "not implemented" in capsys.readouterr().out


def _sliced_loop(model, x, epochs, batch_size, lr, seed):  # correct, without a DataLoader
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            xb = x[idx]
            x_logits, mu, logvar = model(xb, torch.randn(len(xb), model.z_dim, generator=g))
            loss = F.binary_cross_entropy_with_logits(x_logits, xb, reduction="sum") / len(xb) + _kl(mu, logvar).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        losses.append(total / len(x))
    return losses


def _buggy_loop(bug):
    """``_sliced_loop`` with one mistake."""

    def loop(model, x, epochs, batch_size, lr, seed):
        g = torch.Generator().manual_seed(0 if bug == "ignores seed" else seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        if bug == "trains a copy":
            optimizer = torch.optim.Adam(copy.deepcopy(model).parameters(), lr=lr)
        losses = []
        for _ in range(epochs):
            batch_losses = []
            for idx in torch.randperm(len(x), generator=g).split(batch_size):
                xb = x[idx]
                eps = torch.randn(len(xb), model.z_dim, generator=None if bug == "global rng" else g)
                loss = nb07.reference_negative_elbo_loss(xb, *model(xb, eps))
                if bug == "pixel mean":
                    loss = loss / x.shape[1]
                if bug != "no zero_grad":
                    optimizer.zero_grad()
                (-loss if bug == "ascent" else loss).backward()
                if bug != "no step":
                    optimizer.step()
                batch_losses.append(loss.item() * (1 if bug == "sum of batch means" else len(xb)))
            losses.append(sum(batch_losses) / (1 if bug == "sum of batch means" else len(x)))
        return losses[:-1] if bug == "one loss short" else losses

    loop.__name__ = bug
    return loop


def test_training_loop_accepts_correct_loops_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    assert nb07.check_training_loop(nb07.reference_training_loop)
    assert nb07.check_training_loop(_sliced_loop)
    assert torch.equal(torch.get_rng_state(), state)


def test_reference_loop_loss_is_the_mean_negative_elbo_of_the_epoch():
    class Recording(nb07.MyVAE):  # keeps every batch and eps the loop feeds it
        def forward(self, x, eps):
            self.seen.append((x, eps))
            return super().forward(x, eps)

    torch.manual_seed(0)
    model, x = Recording(6, 2, 4), torch.rand(10, 6)
    model.seen = []
    (loss,) = nb07.reference_training_loop(model, x, 1, 4, 0.0, seed=3)  # lr = 0: the weights stay put
    assert sorted(len(xb) for xb, _ in model.seen) == [2, 4, 4]
    total = 0.0
    with torch.no_grad():
        for xb, eps in model.seen:
            mu, logvar = model.encode(xb)
            q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
            p_x = torch.distributions.Bernoulli(logits=model.decode(q.mean + q.stddev * eps), validate_args=False)
            kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1)
            total += float(-(p_x.log_prob(xb).sum(-1) - kl).sum())
    assert loss == pytest.approx(total / 10, rel=1e-5)


def test_training_loop_rejects_common_bugs(capsys):
    bugs = [
        "no step",
        "ascent",
        "no zero_grad",
        "trains a copy",
        "pixel mean",
        "sum of batch means",
        "one loss short",
        "global rng",
        "ignores seed",
    ]
    for bug in bugs:
        assert not nb07.check_training_loop(_buggy_loop(bug)), bug
    out = capsys.readouterr().out
    assert "different losses" in out and "seeds 0 and 1" in out and "epoch's mean loss" in out


def test_training_loop_reports_not_implemented(capsys):
    def stub(model, x, epochs, batch_size, lr, seed):
        raise NotImplementedError("Exercise: write train_my_vae")

    assert not nb07.check_training_loop(stub)
    assert "not implemented" in capsys.readouterr().out
