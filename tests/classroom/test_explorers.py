"""The logic behind the widgets, against independent oracles: closed-form Gaussian algebra and
torch.distributions on the linear model, scipy's adaptive quadrature on the nonlinear ones."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from lecture_vae import VAE
from lecture_vae.classroom import explorers
from lecture_vae.toys import NonlinearGaussian
from lecture_vae.tractable import LinearGaussian

MODELS = explorers.bayes_models()
LINEAR = [k for k, m in MODELS.items() if isinstance(m, LinearGaussian)]
NONLINEAR = [k for k, m in MODELS.items() if not isinstance(m, LinearGaussian)]


def _exact_posterior(model: LinearGaussian, x: torch.Tensor) -> tuple[float, float]:
    """Completing the square: precision 1 + |w|^2 / s^2, mean w.(x - b) / (s^2 precision)."""
    w = model.W[:, 0]
    precision = 1.0 + float(w @ w) / model.sigma**2
    return float(w @ (x - model.b)) / model.sigma**2 / precision, 1.0 / precision


def _normal(mean: float, std: float) -> Normal:
    return Normal(torch.tensor(mean, dtype=torch.float64), torch.tensor(std, dtype=torch.float64))


def _x(model) -> torch.Tensor:
    return torch.tensor([1.3, -0.4][: model.x_dim], dtype=torch.float64)


@pytest.mark.parametrize("name", LINEAR)
def test_linear_gap_is_zero_at_the_exact_posterior(name):
    model = MODELS[name]
    mean, var = _exact_posterior(model, _x(model))
    r = explorers.elbo_gap(model, _x(model), mean, 0.5 * math.log(var))
    assert abs(r.gap) < 1e-6
    assert explorers.best_gaussian_q(model, _x(model)) == pytest.approx((mean, 0.5 * math.log(var)), abs=1e-12)


@pytest.mark.parametrize("name", LINEAR)
@pytest.mark.parametrize(("q_mu", "q_logscale"), [(0.0, 0.0), (-1.2, -1.5), (2.0, 0.7)])
def test_linear_terms_match_closed_forms(name, q_mu, q_logscale):
    model = MODELS[name]
    x = _x(model)
    r = explorers.elbo_gap(model, x, q_mu, q_logscale)
    mean, var = _exact_posterior(model, x)
    s = math.exp(q_logscale)
    kl_post = float(kl_divergence(_normal(q_mu, s), _normal(mean, math.sqrt(var))))
    log_px = MultivariateNormal(
        model.b, model.W @ model.W.T + model.sigma**2 * torch.eye(model.x_dim, dtype=torch.float64)
    ).log_prob(x)
    w = model.W[:, 0]
    # E_q log N(x; w z + b, s^2 I) = log N(x; w q_mu + b, s^2 I) - s_q^2 |w|^2 / (2 s^2)
    rec = Normal(w * q_mu + model.b, model.sigma).log_prob(x).sum() - s**2 * float(w @ w) / (2 * model.sigma**2)
    assert r.log_px == pytest.approx(float(log_px), abs=1e-10)
    assert r.reconstruction == pytest.approx(float(rec), abs=1e-10)
    assert r.kl_prior == pytest.approx(float(kl_divergence(_normal(q_mu, s), _normal(0.0, 1.0))), abs=1e-12)
    assert r.gap == pytest.approx(kl_post, abs=1e-9)
    assert r.elbo == pytest.approx(r.reconstruction - r.kl_prior)


def _quad_oracle(model, x: list[float], q_mu: float, q_logscale: float) -> tuple[float, float]:
    """log p(x) and KL(q || p(z|x)) by scipy.integrate.quad, independent of the package's grids."""
    xt = torch.tensor([x], dtype=torch.float64)

    def log_joint(z: float) -> float:
        return float(model.log_joint(xt, torch.tensor([[[z]]], dtype=torch.float64))[0, 0])

    px, _ = integrate.quad(lambda z: math.exp(log_joint(z)), -12, 12, points=np.linspace(-6, 6, 25), limit=500)
    s = math.exp(q_logscale)

    def integrand(z: float) -> float:
        log_q = _normal(q_mu, s).log_prob(torch.tensor(z, dtype=torch.float64)).item()
        return math.exp(log_q) * (log_q - log_joint(z))

    kl, _ = integrate.quad(integrand, q_mu - 12 * s, q_mu + 12 * s, points=[q_mu], limit=500, epsabs=1e-12)
    return math.log(px), kl + math.log(px)


@pytest.mark.parametrize("name", NONLINEAR)
@pytest.mark.parametrize(("q_mu", "q_logscale"), [(0.0, 0.0), (1.3, -1.0), (-2.0, 0.5), (0.5, -2.5)])
def test_nonlinear_gap_matches_quadrature_kl(name, q_mu, q_logscale):
    model = MODELS[name]
    x = [1.5, 0.5][: model.x_dim]
    log_px, kl = _quad_oracle(model, x, q_mu, q_logscale)
    r = explorers.elbo_gap(model, x, q_mu, q_logscale)
    assert r.log_px == pytest.approx(log_px, abs=1e-6)
    assert r.gap == pytest.approx(kl, abs=1e-6, rel=1e-8)


@pytest.mark.parametrize("name", list(MODELS))
def test_elbo_never_exceeds_log_px_on_a_slider_grid(name):
    model = MODELS[name]
    for x1, q_mu, q_logscale in itertools.product([-2.5, 0.0, 3.0], [-3.0, -0.5, 2.0], [-4.0, -1.0, 1.0]):
        r = explorers.elbo_gap(model, [x1, 0.5][: model.x_dim], q_mu, q_logscale, n=801)
        assert r.elbo <= r.log_px + 1e-9, (x1, q_mu, q_logscale, r.gap)


@pytest.mark.parametrize("name", list(MODELS))
def test_densities_are_normalized_on_the_grid(name):
    model = MODELS[name]
    r = explorers.elbo_gap(model, [1.0, 0.0][: model.x_dim], 0.3, -0.5)
    dz = float(r.z[1] - r.z[0])
    for log_density in (r.log_prior, r.log_posterior, r.log_q):
        assert float(log_density.exp().sum()) * dz == pytest.approx(1.0, abs=1e-6)


def test_best_gaussian_on_a_bimodal_posterior_keeps_a_gap_and_is_a_local_optimum():
    model = NonlinearGaussian(lambda z: z**2, 1, 1, 0.5)  # x = 2: modes near z = +-sqrt(2)
    q_mu, q_logscale = explorers.best_gaussian_q(model, [2.0])
    best = explorers.elbo_gap(model, [2.0], q_mu, q_logscale)
    assert 1.0 < abs(q_mu) < 1.6
    assert 0.5 < best.gap < math.log(2) + 0.05  # one of two mirror modes: about log 2 is lost
    for dm, ds in [(0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)]:
        assert explorers.elbo_gap(model, [2.0], q_mu + dm, q_logscale + ds).elbo < best.elbo


def test_elbo_gap_rejects_bad_input():
    with pytest.raises(ValueError, match="z_dim=1"):
        explorers.elbo_gap(LinearGaussian.random(2, 2), [0.0, 0.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="x must have last dimension 2"):
        explorers.elbo_gap(MODELS[LINEAR[1]], [0.0, 0.0, 1.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="q_mu must be finite"):
        explorers.elbo_gap(MODELS[LINEAR[0]], [0.0], float("nan"), 0.0)


# --- reparameterization (S8) ---------------------------------------------------------------------


@pytest.mark.parametrize(("s1", "s2", "rho"), [(1.5, 0.7, 0.6), (0.3, 2.0, -0.9), (1.0, 1.0, 0.0), (2.5, 0.2, 0.95)])
def test_both_factors_reproduce_sigma_and_push_the_same_eps(s1, s2, rho):
    eps = explorers.standard_eps(500, seed=3)
    r = explorers.reparam_samples([0.5, -1.0], s1, s2, rho, eps)
    sigma = torch.tensor([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]], dtype=torch.float64)
    torch.testing.assert_close(r.sigma, sigma)
    for a, z in ((r.scale_chol, r.z_chol), (r.scale_eigh, r.z_eigh)):
        torch.testing.assert_close(a @ a.T, sigma)
        torch.testing.assert_close(z, torch.tensor([0.5, -1.0], dtype=torch.float64) + eps @ a.T)
    assert torch.equal(r.scale_chol, r.scale_chol.tril())
    rotation = torch.linalg.solve(r.scale_chol, r.scale_eigh)  # A_eigh = A_chol R, R orthogonal
    torch.testing.assert_close(rotation @ rotation.T, torch.eye(2, dtype=torch.float64))
    assert torch.equal(r.eps, eps)


def test_sample_covariance_approaches_sigma_and_points_differ_between_factors():
    r = explorers.reparam_samples([1.0, 2.0], 1.5, 0.7, 0.6, explorers.standard_eps(200_000, seed=0))
    for z in (r.z_chol, r.z_eigh):
        torch.testing.assert_close(z.mean(0), torch.tensor([1.0, 2.0], dtype=torch.float64), atol=0.01, rtol=0)
        torch.testing.assert_close(torch.cov(z.T), r.sigma, atol=0.02, rtol=0)
    assert float((r.z_chol - r.z_eigh).norm(dim=1).median()) > 0.3  # same eps, different place


@pytest.mark.parametrize("rho", [1.0, -1.0, 1.5, float("nan")])
def test_bad_correlation_is_a_clear_error(rho):
    with pytest.raises(ValueError, match="rho must be a correlation strictly between -1 and 1"):
        explorers.reparam_samples([0.0, 0.0], 1.0, 1.0, rho, explorers.standard_eps(5))


def test_bad_scale_is_a_clear_error():
    with pytest.raises(ValueError, match="sigma2 must be a positive standard deviation"):
        explorers.covariance_2d(1.0, 0.0, 0.0)


# --- latent explorer (S5) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(16, 2, (8,))


def test_decode_point_is_the_decoder_mean(vae):
    z = torch.tensor([[0.7, -1.2]])
    torch.testing.assert_close(explorers.decode_point(vae, [0.7, -1.2]), vae.decoder.mean(z)[0].detach())
    assert explorers.decode_point(vae, [0.0, 0.0]).shape == (16,)


def test_interpolation_ends_at_the_decoded_posterior_means(vae):
    x = torch.rand(2, 16, generator=torch.Generator().manual_seed(1))
    path = explorers.interpolate(vae, x[0], x[1], torch.linspace(0, 1, 5))
    with torch.no_grad():
        mu = vae.encode(x).mu
        torch.testing.assert_close(path.images[0], vae.decoder.mean(mu[0]))
        torch.testing.assert_close(path.images[-1], vae.decoder.mean(mu[1]))
        torch.testing.assert_close(path.z[2], 0.5 * (mu[0] + mu[1]))
    assert path.z.shape == (5, 2) and path.images.shape == (5, 16)
    torch.testing.assert_close(explorers.posterior_means(vae, x, batch_size=1), mu)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        explorers.interpolate(vae, x[0], x[1], 1.5)
