"""Toy densities and decoders (S1-S4) checked against independent oracles: torch.distributions,
quadrature, closed-form moments, brute-force sums and complex arithmetic."""

import math

import pytest
import torch
from torch import distributions as td

import lecture_vae as lv
from lecture_vae import toys


@pytest.fixture
def mixture():
    return toys.GaussianMixture1D.default()


@pytest.fixture
def g():
    return torch.Generator().manual_seed(7)


def _torch_mixture(p):
    return td.MixtureSameFamily(td.Categorical(probs=p.weights), td.Normal(p.means, p.stds))


# --- GaussianMixture1D ----------------------------------------------------------------------------


def test_mixture_log_prob_matches_torch_distributions(mixture, g):
    x = torch.cat([mixture.sample(50, generator=g), torch.tensor([-30.0, 45.0], dtype=torch.float64)])
    torch.testing.assert_close(mixture.log_prob(x), _torch_mixture(mixture).log_prob(x))
    # any leading shape
    assert mixture.log_prob(x.reshape(2, 26)).shape == (2, 26)


def test_mixture_density_integrates_to_one(mixture):
    x = torch.linspace(-25.0, 25.0, 200_001, dtype=torch.float64)  # trapezoid rule, not the class's own grid
    assert abs(float(torch.trapezoid(mixture.log_prob(x).exp(), x)) - 1.0) < 1e-9


def test_mixture_closed_form_moments_match_torch(mixture):
    torch.testing.assert_close(mixture.mean(), _torch_mixture(mixture).mean)
    torch.testing.assert_close(mixture.variance(), _torch_mixture(mixture).variance)


def test_mixture_sampler_matches_moments_and_cdf(mixture, g):
    n = 200_000
    x = mixture.sample(n, generator=g)
    assert x.shape == (n,) and x.dtype == torch.float64
    se_mean = math.sqrt(float(mixture.variance()) / n)
    assert abs(float(x.mean() - mixture.mean())) < 4 * se_mean
    assert abs(float(x.var() / mixture.variance()) - 1) < 0.02
    # empirical CDF against the closed-form CDF sum_k w_k Phi((t - m_k) / s_k) (Kolmogorov distance)
    t = torch.linspace(-5.0, 6.0, 111, dtype=torch.float64)
    cdf = (mixture.weights * td.Normal(mixture.means, mixture.stds).cdf(t[:, None])).sum(-1)
    ecdf = (x[None, :] <= t[:, None]).double().mean(1)
    assert float((cdf - ecdf).abs().max()) < 1.63 / math.sqrt(n) * 1.5  # ~1% KS critical value, with margin


def test_mixture_entropy_matches_monte_carlo_and_closed_form(mixture, g):
    x = mixture.sample(400_000, generator=g)
    log_p = mixture.log_prob(x)
    assert abs(float(mixture.entropy() + log_p.mean())) < 4 * float(log_p.std()) / math.sqrt(len(x))
    one = toys.GaussianMixture1D(*(torch.tensor([v], dtype=torch.float64) for v in (1.0, 0.3, 1.7)))
    torch.testing.assert_close(one.entropy(), torch.tensor(0.5 * math.log(2 * math.pi * math.e * 1.7**2)).double())


def test_mixture_rejects_bad_parameters():
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    with pytest.raises(ValueError, match="weights"):
        toys.GaussianMixture1D(t(0.5, 0.6), t(0.0, 1.0), t(1.0, 1.0))
    with pytest.raises(ValueError, match="stds"):
        toys.GaussianMixture1D(t(0.5, 0.5), t(0.0, 1.0), t(1.0, -1.0))
    with pytest.raises(ValueError, match="same shape"):
        toys.GaussianMixture1D(t(0.5, 0.5), t(0.0, 1.0, 2.0), t(1.0, 1.0))


# --- kernel density estimate -------------------------------------------------------------------


def test_kde_matches_brute_force_sum(mixture, g):
    data = mixture.sample(13, generator=g)
    x = torch.tensor([-2.5, 0.0, 0.77, 4.0], dtype=torch.float64)
    for h in (0.05, 0.4, 3.0):
        brute = []
        for xm in x.tolist():
            dens = sum(math.exp(-0.5 * ((xm - xn) / h) ** 2) / (h * math.sqrt(2 * math.pi)) for xn in data.tolist())
            brute.append(math.log(dens / len(data)))
        torch.testing.assert_close(toys.kde_log_prob(x, data, h), torch.tensor(brute, dtype=torch.float64))


def test_kde_is_an_equal_weight_mixture_and_integrates_to_one(mixture, g):
    data = mixture.sample(20, generator=g)
    h = 0.3
    x = torch.linspace(-12.0, 12.0, 120_001, dtype=torch.float64)
    oracle = td.MixtureSameFamily(td.Categorical(logits=torch.zeros(20)), td.Normal(data, torch.full_like(data, h)))
    torch.testing.assert_close(toys.kde_log_prob(x[::1000], data, h), oracle.log_prob(x[::1000]))
    assert abs(float(torch.trapezoid(toys.kde_log_prob(x, data, h).exp(), x)) - 1.0) < 1e-9


def test_kde_memorizes_its_data_and_stays_finite_far_away(mixture, g):
    """S1: on its own data the KDE's log-likelihood is at least the self-kernel term log(1/(N h sqrt(2 pi)))."""
    data = mixture.sample(10, generator=g)
    h = 1e-4
    self_term = -math.log(10 * h * math.sqrt(2 * math.pi))
    assert bool((toys.kde_log_prob(data, data, h) >= self_term - 1e-9).all())
    far = toys.kde_log_prob(torch.tensor([100.0], dtype=torch.float64), data, h)
    assert bool(torch.isfinite(far).all()) and float(far) < -1e8


def test_kde_rejects_bad_arguments():
    d = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="bandwidth"):
        toys.kde_log_prob(d, d, 0.0)
    with pytest.raises(ValueError, match="1-D"):
        toys.kde_log_prob(d[:, None], d, 1.0)


# --- nonlinear decoders ---------------------------------------------------------------------------


def test_square_mean_is_the_complex_square_and_even(g):
    z = torch.randn(50, 2, generator=g, dtype=torch.float64)
    w = torch.complex(z[:, 0], z[:, 1]) ** 2
    torch.testing.assert_close(toys.square_mean(z), torch.stack([w.real, w.imag], -1))
    torch.testing.assert_close(toys.square_mean(-z), toys.square_mean(z))


def test_spiral_mean_has_the_stated_radius_and_angle(g):
    z = torch.linspace(-1.2, 1.2, 9, dtype=torch.float64)[:, None]  # angles 2.5 z stay inside (-pi, pi)
    f = toys.spiral_mean(z)
    torch.testing.assert_close(f.norm(dim=-1), torch.exp(0.25 * z[:, 0]))
    torch.testing.assert_close(torch.atan2(f[:, 1], f[:, 0]), 2.5 * z[:, 0])


@pytest.mark.parametrize("model", [toys.NonlinearGaussian.spiral(0.2), toys.NonlinearGaussian.square(0.3)])
def test_nonlinear_log_likelihood_matches_torch_normal(model, g):
    x, _ = model.sample(4, generator=g)
    z = torch.randn(6, 4, model.z_dim, generator=g, dtype=torch.float64)
    ref = td.Normal(model.decode(z), model.sigma).log_prob(x).sum(-1)
    torch.testing.assert_close(model.log_likelihood(x, z), ref)
    torch.testing.assert_close(model.log_joint(x, z), ref + td.Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_nonlinear_sampler_is_ancestral(g):
    model = toys.NonlinearGaussian.square(0.3)
    x, z = model.sample(100_000, generator=g)
    assert x.shape == (100_000, 2) and z.shape == (100_000, 2)
    resid = x - model.decode(z)
    assert abs(float(resid.std()) / 0.3 - 1) < 0.01 and float(resid.mean().abs()) < 0.01
    assert abs(float(z.var()) - 1) < 0.02


def test_spiral_grid_marginal_matches_large_naive_monte_carlo(g):
    """S2: for L = 1 quadrature is exact enough to be the reference; a million prior draws agree."""
    model = toys.NonlinearGaussian.spiral(0.1)
    x, _ = model.sample(3, generator=g)
    quad = lv.grid_log_marginal(lv.log_joint_fn(model, x), [(-8.0, 8.0)], 4000)
    prior = lv.StandardNormal(3, 1, dtype=torch.float64)
    log_w = torch.cat([lv.log_importance_weights(model, x, 200_000, generator=g, q_z=prior) for _ in range(5)])
    naive = torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])
    torch.testing.assert_close(naive, quad, atol=0.03, rtol=0)


def test_square_posterior_is_symmetric():
    model = toys.NonlinearGaussian.square(0.3)
    x = torch.tensor([[0.5, 1.2]], dtype=torch.float64)
    post = lv.grid_posterior(lv.log_joint_fn(model, x), [(-3.0, 3.0), (-3.0, 3.0)], 60)
    lp = post.log_prob[:, 0].reshape(60, 60)
    torch.testing.assert_close(lp, lp.flip(0).flip(1))  # the grid is symmetric about 0: z -> -z


def test_nonlinear_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        toys.NonlinearGaussian(toys.square_mean, 2, 2, 0.0)


# --- summaries --------------------------------------------------------------------------------------


def test_moment_match_recovers_the_exact_linear_gaussian_posterior(g):
    model = lv.LinearGaussian.random(4, 2, 0.8, generator=g)
    x = model.sample(1, generator=g)
    post = lv.grid_posterior(lv.log_joint_fn(model, x), [(-6.0, 6.0), (-6.0, 6.0)], 200)
    mom = toys.moment_match(post.grid.z, post.log_prob[:, 0])
    mean, cov = model.posterior(x)
    torch.testing.assert_close(mom.mean, mean[0], atol=1e-7, rtol=0)
    torch.testing.assert_close(mom.cov, cov[0], atol=1e-7, rtol=0)


def test_moment_match_equals_weighted_torch_cov_and_ignores_offsets(g):
    z = torch.randn(500, 3, generator=g, dtype=torch.float64)
    lp = torch.randn(500, generator=g, dtype=torch.float64)
    w = torch.softmax(lp, 0)
    mom = toys.moment_match(z, lp)
    torch.testing.assert_close(mom.mean, (w[:, None] * z).sum(0))
    torch.testing.assert_close(mom.cov, torch.cov(z.T, correction=0, aweights=w))
    torch.testing.assert_close(toys.moment_match(z, lp - 1000.0).cov, mom.cov)
    with pytest.raises(ValueError, match="log_prob"):
        toys.moment_match(z, lp[:10])


def test_effective_sample_size_matches_direct_formula(g):
    log_w = 3 * torch.randn(40, 5, generator=g, dtype=torch.float64)
    w = log_w.exp()
    torch.testing.assert_close(toys.effective_sample_size(log_w), w.sum(0) ** 2 / w.pow(2).sum(0))
    torch.testing.assert_close(toys.effective_sample_size(log_w - 800.0), toys.effective_sample_size(log_w))
    torch.testing.assert_close(toys.effective_sample_size(torch.zeros(40, 2)), torch.full((2,), 40.0))
    one = torch.full((40,), -1e4).index_fill(0, torch.tensor([3]), 0.0)
    torch.testing.assert_close(toys.effective_sample_size(one), torch.tensor(1.0))
