"""The tractable models (S2-S4, S6): exact answers checked against quadrature, Monte Carlo and torch."""

import math

import pytest
import torch
from torch import distributions as td

import lecture_vae as lv

pytestmark = pytest.mark.usefixtures("float64")  # exact checks in float64 (tests/conftest.py)


@pytest.fixture
def g():
    return torch.Generator().manual_seed(2)


@pytest.fixture(params=[1, 2])
def model(request, g):
    return lv.LinearGaussian.random(3, request.param, sigma=0.6, generator=g)


def test_log_marginal_matches_torch_mvn(model, g):
    x = model.sample(5, generator=g)
    ref = td.MultivariateNormal(model.b, model.W @ model.W.T + 0.36 * torch.eye(3)).log_prob(x)
    torch.testing.assert_close(model.log_marginal(x), ref)


def test_log_marginal_matches_quadrature(model, g):
    x = model.sample(4, generator=g)
    lims = [(-7.0, 7.0)] * model.z_dim
    quad = lv.grid_log_marginal(lv.log_joint_fn(model, x), lims, 400 if model.z_dim == 1 else 250)
    torch.testing.assert_close(quad, model.log_marginal(x), atol=1e-6, rtol=0)


def test_log_marginal_matches_large_monte_carlo(model, g):
    """Naive estimator log mean_k p(x|z_k), z_k ~ p(z), with a million prior samples."""
    x = model.sample(3, generator=g)
    prior = lv.StandardNormal(3, model.z_dim, dtype=torch.float64)
    log_w = torch.cat([lv.log_importance_weights(model, x, 100_000, generator=g, q_z=prior) for _ in range(3)])
    naive = torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])
    # 300k draws: the estimator's error is below 0.03 nats here; a wrong term would cost whole nats
    torch.testing.assert_close(naive, model.log_marginal(x), atol=0.05, rtol=0)


def test_bayes_rule_holds_for_every_z(model, g):
    """S4: log p(x) = log p(x|z) + log p(z) - log p(z|x), whatever z is."""
    x = model.sample(4, generator=g)
    z = 3 * torch.randn(50, 4, model.z_dim, generator=g)
    rhs = model.log_joint(x, z) - model.log_posterior(z, x)
    torch.testing.assert_close(rhs, model.log_marginal(x).expand(50, 4))


def test_posterior_matches_grid_moments(g):
    model = lv.LinearGaussian.random(4, 2, sigma=0.8, generator=g)
    x = model.sample(2, generator=g)
    post = lv.grid_posterior(lv.log_joint_fn(model, x), [(-6, 6), (-6, 6)], 300)
    w = post.log_prob.exp() * math.exp(post.grid.log_cell)  # (N, B) quadrature weights
    torch.testing.assert_close(w.sum(0), torch.ones(2), atol=1e-8, rtol=0)
    mean, cov = model.posterior(x)
    grid_mean = w.T @ post.grid.z  # (B, L)
    torch.testing.assert_close(grid_mean, mean, atol=1e-6, rtol=0)
    for i in range(2):
        d = post.grid.z - grid_mean[i]
        torch.testing.assert_close((w[:, i, None] * d).T @ d, cov[i], atol=1e-6, rtol=0)


def test_analytic_elbo_gap_is_kl_to_the_posterior(g):
    """S7: log p(x) - ELBO = KL(q || p(z|x)) for any Gaussian q, to 1e-4 (analytic terms)."""
    model = lv.LinearGaussian.random(5, 3, sigma=0.5, generator=g)
    x = model.sample(6, generator=g)
    a = torch.randn(6, 3, 3, generator=g)
    q = lv.FullGaussian(torch.randn(6, 3, generator=g), torch.linalg.cholesky(a @ a.mT + 0.1 * torch.eye(3)))
    terms = model.analytic_elbo(x, q)
    mean, cov = model.posterior(x)
    kl = td.kl_divergence(td.MultivariateNormal(q.mu, scale_tril=q.scale_tril), td.MultivariateNormal(mean, cov))
    assert (terms.elbo <= model.log_marginal(x)).all()
    torch.testing.assert_close(model.log_marginal(x) - terms.elbo, kl, atol=1e-4, rtol=0)
    # the sampled ELBO converges to the analytic one
    mc = lv.elbo(model, x, n_samples=200_000, generator=g, q_z=q)
    torch.testing.assert_close(mc.reconstruction, terms.reconstruction, atol=0.05, rtol=0.002)
    torch.testing.assert_close(mc.kl, terms.kl)


def test_exact_posterior_closes_the_gap(g):
    model = lv.LinearGaussian.random(4, 2, sigma=0.7, generator=g)
    x = model.sample(3, generator=g)
    q = model.encode(x)
    torch.testing.assert_close(model.analytic_elbo(x, q).elbo, model.log_marginal(x))
    # with the exact posterior every importance weight equals p(x): any k, any chunking is exact
    est = lv.log_marginal_estimate(model, x, 37, batch_size=2, max_elements=20, generator=g)
    torch.testing.assert_close(est, model.log_marginal(x))
    mc = lv.elbo(model, x, n_samples=3, kl="mc", generator=g)
    torch.testing.assert_close(mc.elbo, model.log_marginal(x))


def test_grid_rejects_bad_limits():
    with pytest.raises(ValueError, match="lims"):
        lv.make_grid([(1.0, -1.0)], 10)
    with pytest.raises(ValueError, match="lims"):
        lv.make_grid([(0.0, 1.0)] * 4, 10)
    with pytest.raises(ValueError, match="sigma"):
        lv.LinearGaussian(torch.ones(2, 1), torch.zeros(2), -1.0)
