"""ELBO (S6-S7), the importance-weighted bound and log p(x) estimates on a model with exact log p(x)."""

import math

import pytest
import torch

import lecture_vae as lv

pytestmark = pytest.mark.usefixtures("float64")  # exact checks in float64 (tests/conftest.py)


@pytest.fixture
def setup():
    g = torch.Generator().manual_seed(3)
    model = lv.LinearGaussian.random(4, 2, sigma=0.5, generator=g)
    x = model.sample(3, generator=g)
    mean, cov = model.posterior(x)
    return model, x, imperfect_q(model, x), g


def imperfect_q(model, x):
    """A deliberately imperfect q: diagonal, mean shifted by 0.8 sd, variance 2x: wider
    than the posterior, so the importance weights have finite variance (Owen 2013, ch. 9)."""
    mean, cov = model.posterior(x)
    var = cov.diagonal(dim1=-2, dim2=-1)
    return lv.DiagonalGaussian(mean + 0.8 * var.sqrt(), (2.0 * var).log())


def mean_and_se(fn, reps):
    vals = torch.stack([fn() for _ in range(reps)])
    return vals.mean(0), vals.std(0) / math.sqrt(reps)


def test_elbo_terms_shapes_and_identity(setup):
    model, x, q, g = setup
    t = lv.elbo(model, x, n_samples=4, generator=g, q_z=q)
    assert isinstance(t, lv.ELBOTerms)
    assert t.reconstruction.shape == t.kl.shape == t.elbo.shape == (3,)
    torch.testing.assert_close(t.elbo, t.reconstruction - t.kl)
    torch.testing.assert_close(t.kl, lv.gaussian_kl(q.mu, q.logvar))


def test_mc_kl_converges_to_analytic(setup):
    model, x, q, g = setup
    mc = lv.elbo(model, x, n_samples=400_000, kl="mc", generator=g, q_z=q)
    torch.testing.assert_close(mc.kl, q.kl(), atol=0.01, rtol=0)


def test_sampled_elbo_is_unbiased_for_the_analytic_one(setup):
    model, x, q, g = setup
    exact = model.analytic_elbo(x, q).elbo
    m, se = mean_and_se(lambda: lv.elbo(model, x, n_samples=1000, generator=g, q_z=q).elbo, 50)
    assert ((m - exact).abs() < 5 * se).all()


def test_iwae_sandwich_and_monotone_in_k(setup):
    """ELBO = IWAE_1 <= IWAE_5 <= IWAE_25 <= log p(x) in expectation (Burda et al. 2015, Thm 1)."""
    model, x, q, g = setup
    log_px = model.log_marginal(x)
    elbo = model.analytic_elbo(x, q).elbo
    reps = 4000  # independent replicas of the batch in one call
    xr, qr = x.repeat(reps, 1), lv.DiagonalGaussian(q.mu.repeat(reps, 1), q.logvar.repeat(reps, 1))
    means, ses = {}, {}
    for k in (1, 5, 25):
        vals = lv.iwae_bound(model, xr, k, generator=g, q_z=qr).view(reps, len(x))
        means[k], ses[k] = vals.mean(0), vals.std(0) / math.sqrt(reps)
    torch.testing.assert_close(means[1], elbo, atol=4 * float(ses[1].max()), rtol=0)  # IWAE_1 is the ELBO
    # each step up is larger than four standard errors of the estimated means
    assert (means[5] - elbo > 4 * ses[5]).all()
    assert (means[25] - means[5] > 4 * (ses[5] ** 2 + ses[25] ** 2).sqrt()).all()
    assert (log_px - means[25] > 4 * ses[25]).all()
    # and it converges: with k = 20000 it is within 0.05 nats of log p(x)
    big = lv.iwae_bound(model, x, 20_000, generator=g, q_z=q)
    torch.testing.assert_close(big, log_px, atol=0.05, rtol=0)
    assert (log_px - elbo > 0.5).all()  # so the test has something to show


def test_log_marginal_estimate_matches_exact_and_is_chunk_invariant(setup):
    model, x, q, g = setup

    class Imperfect:
        """The same model, but encoding with the imperfect q."""

        x_dim, z_dim = model.x_dim, model.z_dim
        log_likelihood = staticmethod(model.log_likelihood)

        def encode(self, xb):
            return imperfect_q(model, xb)

    est = lv.log_marginal_estimate(Imperfect(), x, 50_000, batch_size=3, max_elements=10_000, generator=g)
    torch.testing.assert_close(est, model.log_marginal(x), atol=0.05, rtol=0)
    a = lv.log_marginal_estimate(
        Imperfect(), x, 64, batch_size=3, max_elements=10**9, generator=torch.Generator().manual_seed(0)
    )
    b = lv.iwae_bound(Imperfect(), x, 64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)  # one chunk: the same draws as the IWAE bound


def test_iwae_is_stable_for_very_negative_log_weights():
    g = torch.Generator().manual_seed(0)
    model = lv.LinearGaussian.random(50, 2, sigma=0.01, generator=g)  # log p(x|z) ~ -1e5 away from the mode
    x = model.sample(2, generator=g)
    q = lv.DiagonalGaussian(torch.zeros(2, 2), torch.zeros(2, 2))
    out = lv.iwae_bound(model, x, 100, generator=g, q_z=q)
    assert torch.isfinite(out).all() and (out < -1000).all()


def test_elbo_gradients_reach_the_encoder():
    torch.manual_seed(0)
    vae = lv.VAE(16, 2, (8,)).double()
    x = torch.rand(5, 16)
    lv.elbo(vae, x).elbo.mean().backward()
    for name, p in vae.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
