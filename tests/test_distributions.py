"""Log-densities and KL divergences against torch.distributions (the independent oracle)."""

import math

import pytest
import torch
from torch import distributions as td

import lecture_vae as lv

pytestmark = pytest.mark.usefixtures("float64")  # exact checks in float64 (tests/conftest.py)


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def random_scale_tril(B, L, g):
    a = torch.randn(B, L, L, generator=g)
    sigma = a @ a.mT + 0.3 * torch.eye(L)
    return torch.linalg.cholesky(sigma)


def test_gaussian_kl_matches_torch(g):
    mu, logvar = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    q = td.Independent(td.Normal(mu, (0.5 * logvar).exp()), 1)
    p = td.Independent(td.Normal(torch.zeros(5), torch.ones(5)), 1)
    torch.testing.assert_close(lv.gaussian_kl(mu, logvar), td.kl_divergence(q, p))


def test_gaussian_kl_is_zero_only_at_prior():
    assert lv.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0
    assert (lv.gaussian_kl(torch.full((2, 3), 0.1), torch.zeros(2, 3)) > 0).all()


def test_gaussian_kl_full_matches_torch(g):
    mu, tril = torch.randn(6, 4, generator=g), random_scale_tril(6, 4, g)
    q = td.MultivariateNormal(mu, scale_tril=tril)
    p = td.MultivariateNormal(torch.zeros(4), torch.eye(4))
    torch.testing.assert_close(lv.gaussian_kl_full(mu, tril), td.kl_divergence(q, p))


def test_full_kl_reduces_to_diagonal(g):
    mu, logvar = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    tril = torch.diag_embed((0.5 * logvar).exp())
    torch.testing.assert_close(lv.gaussian_kl_full(mu, tril), lv.gaussian_kl(mu, logvar))


def test_diag_gaussian_log_prob_matches_torch_with_broadcast(g):
    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    z = torch.randn(11, 5, 3, generator=g)  # K samples of a batch of 5
    ref = td.Independent(td.Normal(mu, (0.5 * logvar).exp()), 1).log_prob(z)
    out = lv.diag_gaussian_log_prob(z, mu, logvar)
    assert out.shape == (11, 5)
    torch.testing.assert_close(out, ref)


def test_gaussian_log_prob_scalar_and_per_pixel_logvar(g):
    x, mean = torch.rand(4, 6, generator=g), torch.randn(4, 6, generator=g)
    ref = td.Independent(td.Normal(mean, math.exp(0.5 * -1.2)), 1).log_prob(x)
    torch.testing.assert_close(lv.gaussian_log_prob(x, mean, -1.2), ref)
    per_pixel = torch.randn(6, generator=g)
    ref2 = td.Independent(td.Normal(mean, (0.5 * per_pixel).exp()), 1).log_prob(x)
    torch.testing.assert_close(lv.gaussian_log_prob(x, mean, per_pixel), ref2)


def test_mvn_log_prob_matches_torch(g):
    mu, tril = torch.randn(5, 3, generator=g), random_scale_tril(5, 3, g)
    z = torch.randn(9, 5, 3, generator=g)
    ref = td.MultivariateNormal(mu, scale_tril=tril).log_prob(z)
    torch.testing.assert_close(lv.mvn_log_prob(z, mu, tril), ref)


def test_bernoulli_log_prob_matches_torch_on_binary_and_grey(g):
    logits = 3 * torch.randn(4, 10, generator=g)
    x_bin = (torch.rand(4, 10, generator=g) < 0.5).double()
    torch.testing.assert_close(
        lv.bernoulli_log_prob(x_bin, logits), td.Independent(td.Bernoulli(logits=logits), 1).log_prob(x_bin)
    )
    x_grey = torch.rand(4, 10, generator=g)  # continuous relaxation: x log p + (1 - x) log(1 - p)
    p = torch.sigmoid(logits)
    ref = (x_grey * p.log() + (1 - x_grey) * (1 - p).log()).sum(-1)
    torch.testing.assert_close(lv.bernoulli_log_prob(x_grey, logits), ref)


def test_standard_normal_log_prob(g):
    z = torch.randn(3, 7, 2, generator=g)
    ref = td.Independent(td.Normal(torch.zeros(2), torch.ones(2)), 1).log_prob(z)
    torch.testing.assert_close(lv.standard_normal_log_prob(z), ref)


@pytest.mark.parametrize("kind", ["diagonal", "full", "prior"])
def test_posterior_objects_sample_the_right_distribution(kind, g):
    L = 3
    if kind == "diagonal":
        q = lv.DiagonalGaussian(torch.tensor([[1.0, -2.0, 0.5]]), torch.tensor([[0.0, -1.0, 1.0]]))
        cov = torch.diag(q.logvar[0].exp())
    elif kind == "full":
        q = lv.FullGaussian(torch.tensor([[1.0, -2.0, 0.5]]), random_scale_tril(1, L, g))
        cov = q.scale_tril[0] @ q.scale_tril[0].T
    else:
        q = lv.StandardNormal(1, L, dtype=torch.float64)
        cov = torch.eye(L)
    z = q.rsample(200_000, generator=g)[:, 0]
    assert z.shape == (200_000, L)
    # standard error of a mean is sd/sqrt(n) ~ 0.005: 0.03 is six of them
    torch.testing.assert_close(z.mean(0), q.mu[0], atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), cov, atol=0.05, rtol=0.02)
    # kl() agrees with a Monte Carlo estimate of E_q[log q - log p]
    zq = q.rsample(100_000, generator=g)
    mc = (q.log_prob(zq) - lv.standard_normal_log_prob(zq)).mean(0)
    torch.testing.assert_close(q.kl(), mc, atol=0.03, rtol=0)


def test_diagonal_scale_tril_property(g):
    q = lv.DiagonalGaussian(torch.zeros(2, 3), torch.randn(2, 3, generator=g))
    z = torch.randn(4, 2, 3, generator=g)
    torch.testing.assert_close(q.log_prob(z), lv.mvn_log_prob(z, q.mu, q.scale_tril))
