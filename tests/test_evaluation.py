"""Evaluation helpers against independent oracles: torch.distributions KLs, known variances of
constructed encodings, the exact log p(x) of a linear-Gaussian model, and KL optimality by autograd."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

import lecture_vae as lv
from lecture_vae import evaluation


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- per-dimension KL ------------------------------------------------------------------------


def test_kl_per_dimension_matches_torch_and_sums_to_gaussian_kl():
    g = _gen(1)
    mu = torch.randn(5, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(5, 3, generator=g, dtype=torch.float64)
    per_dim = evaluation.kl_per_dimension(mu, logvar)
    assert per_dim.shape == (5, 3)
    oracle = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros_like(mu), torch.ones_like(mu)))
    torch.testing.assert_close(per_dim, oracle)
    torch.testing.assert_close(per_dim.sum(-1), lv.gaussian_kl(mu, logvar))
    assert bool((per_dim >= 0).all())


def test_kl_per_dimension_is_zero_exactly_at_the_prior():
    zeros = torch.zeros(4, 2)
    assert bool((evaluation.kl_per_dimension(zeros, zeros) == 0).all())


def test_kl_per_dimension_rejects_bad_shapes():
    with pytest.raises(ValueError, match="broadcast"):
        evaluation.kl_per_dimension(torch.zeros(4, 2), torch.zeros(4, 3))


# --- active units ----------------------------------------------------------------------------

SD = torch.tensor([1.0, 0.3, 0.05, 0.0])  # variances 1, 0.09, 0.0025, 0 around constant offsets


def _encodings(n: int = 20_000) -> torch.Tensor:
    offset = torch.tensor([0.0, 2.0, -1.0, 0.7])  # a constant shift does not make a unit active
    return offset + SD * torch.randn(n, 4, generator=_gen(2), dtype=torch.float64)


def test_unit_activity_recovers_known_variances():
    mu = _encodings()
    activity = evaluation.unit_activity(mu)
    torch.testing.assert_close(activity, torch.from_numpy(mu.numpy().var(0, ddof=1)))  # NumPy's variance
    # sample variance of N normals: relative standard error sqrt(2 / N) = 1%, so 5% is 5 standard errors
    torch.testing.assert_close(activity[:3], SD[:3].double() ** 2, rtol=0.05, atol=0.0)
    assert float(activity[3]) == 0.0


def test_active_units_uses_the_burda_threshold():
    mu = _encodings()
    assert evaluation.active_units(mu).tolist() == [True, True, False, False]  # 0.0025 < 0.01
    assert evaluation.active_units(mu, threshold=0.001).tolist() == [True, True, True, False]
    assert evaluation.ACTIVE_THRESHOLD == 0.01


@pytest.mark.parametrize(
    ("mu", "threshold", "match"),
    [(torch.zeros(1, 3), 0.01, "N >= 2"), (torch.zeros(5), 0.01, "at least 2"), (torch.zeros(5, 2), -1.0, ">= 0")],
)
def test_active_units_rejects_bad_input(mu, threshold, match):
    with pytest.raises(ValueError, match=match):
        evaluation.active_units(mu, threshold)


# --- encoding a data set and summarizing the posterior ----------------------------------------


class _FixedEncoder:
    """A stand-in model whose posterior means are columns of x scaled by SD: known activities."""

    x_dim, z_dim = 4, 4

    def encode(self, x: torch.Tensor) -> lv.DiagonalGaussian:
        return lv.DiagonalGaussian(x * SD.to(x.dtype), torch.full_like(x, -1.0))


def test_posterior_summary_on_constructed_encodings():
    x = torch.randn(20_000, 4, generator=_gen(3), dtype=torch.float64)
    s = evaluation.posterior_summary(_FixedEncoder(), x, batch_size=999)
    mu, logvar = x * SD.double(), torch.full_like(x, -1.0)
    torch.testing.assert_close(s.kl.sum(), lv.gaussian_kl(mu, logvar).mean())
    torch.testing.assert_close(s.kl, evaluation.kl_per_dimension(mu, logvar).mean(0))
    torch.testing.assert_close(s.activity, mu.var(0))
    assert s.active.tolist() == [True, True, False, False] and s.n_active == 2


@pytest.mark.parametrize("posterior", ["diagonal", "full"])
def test_encode_all_in_batches_equals_one_encode(posterior):
    torch.manual_seed(0)
    model = lv.VAE(6, 3, hidden=(8,), posterior=posterior)
    x = torch.rand(50, 6, generator=_gen(4))
    batched = evaluation.encode_all(model, x, batch_size=7)
    with torch.no_grad():
        whole = model.encode(x)
    assert type(batched) is type(whole)
    torch.testing.assert_close(batched.mu, whole.mu)
    other = "logvar" if posterior == "diagonal" else "scale_tril"
    torch.testing.assert_close(getattr(batched, other), getattr(whole, other))


def test_posterior_summary_needs_a_diagonal_posterior():
    model = lv.VAE(6, 3, hidden=(8,), posterior="full")
    with pytest.raises(TypeError, match="diagonal"):
        evaluation.posterior_summary(model, torch.rand(10, 6))


# --- IWAE_K against K ------------------------------------------------------------------------


@pytest.fixture
def linear_gaussian():
    g = _gen(5)
    model = lv.LinearGaussian.random(5, 2, sigma=0.6, generator=g)
    x = model.sample(8, generator=g)
    return model, x, g


def test_iwae_curve_is_exact_with_the_exact_posterior(linear_gaussian):
    model, x, g = linear_gaussian
    curve = evaluation.iwae_curve(model, x, [1, 4, 64], n_repeats=3, generator=g, max_elements=100)
    assert curve.k == [1, 4, 64] and curve.mean.shape == curve.stderr.shape == (3,)
    # with q = p(z|x) every weight equals p(x): each IWAE_K is log p(x), whatever the chunking
    torch.testing.assert_close(curve.mean, model.log_marginal(x).mean().expand(3))
    assert float(curve.stderr.max()) < 1e-10


def test_iwae_curve_rises_towards_log_px_with_an_imperfect_q(linear_gaussian):
    model, x, g = linear_gaussian
    mean, cov = model.posterior(x)
    q = lv.DiagonalGaussian(mean + 0.4, (2.0 * cov.diagonal(dim1=-2, dim2=-1)).log())  # shifted, too wide
    curve = evaluation.iwae_curve(model, x, [1, 10, 100, 1000], n_repeats=10, generator=g, q_z=q)
    log_px = float(model.log_marginal(x).mean())
    elbo = float(lv.elbo(model, x, n_samples=50_000, generator=g, q_z=q).elbo.mean())
    m, se = curve.mean.tolist(), curve.stderr.tolist()
    assert abs(m[0] - elbo) < 4 * se[0]  # K = 1 is the ELBO
    for i in range(3):  # rises with K, up to Monte Carlo error once it is close to log p(x)
        assert m[i + 1] > m[i] - 3 * (se[i] + se[i + 1])
    assert m[1] > elbo + 4 * se[1]  # K = 10 is already clearly above the ELBO
    assert m[-1] < log_px + 4 * se[-1]  # never above log p(x) ...
    assert log_px - m[-1] < 0.05 * (log_px - elbo)  # ... and closes over 95% of the ELBO's gap


def test_iwae_curve_accepts_the_prior_as_q(linear_gaussian):
    model, x, g = linear_gaussian
    prior = lv.StandardNormal(x.shape[0], model.z_dim, dtype=x.dtype)
    chunked = evaluation.iwae_curve(model, x, [50], n_repeats=1, generator=_gen(7), q_z=prior, max_elements=300)
    whole = evaluation.iwae_curve(model, x, [50], n_repeats=1, generator=_gen(7), q_z=prior)
    assert chunked.mean.shape == (1,) and bool(torch.isfinite(chunked.mean).all())
    torch.testing.assert_close(chunked.mean, whole.mean, atol=1.0, rtol=0)  # same estimator, different draws
    assert float(whole.mean[0]) < float(model.log_marginal(x).mean()) + 0.5


def test_iwae_curve_rejects_bad_k(linear_gaussian):
    model, x, _ = linear_gaussian
    with pytest.raises(ValueError, match="at least one"):
        evaluation.iwae_curve(model, x, [])
    with pytest.raises(ValueError, match=">= 1"):
        evaluation.iwae_curve(model, x, [0, 5])


# --- best diagonal q for a Gaussian posterior ---------------------------------------------------


def _kl_to(mean: torch.Tensor, cov: torch.Tensor):
    p = MultivariateNormal(mean, covariance_matrix=cov)
    return lambda m, logvar: kl_divergence(MultivariateNormal(m, covariance_matrix=torch.diag_embed(logvar.exp())), p)


def test_mean_field_gaussian_minimizes_reverse_kl():
    g = _gen(6)
    a = torch.randn(3, 3, generator=g, dtype=torch.float64)
    cov = a @ a.T + 0.3 * torch.eye(3, dtype=torch.float64)  # correlated
    mean = torch.randn(2, 3, generator=g, dtype=torch.float64)
    q = evaluation.mean_field_gaussian(mean, cov)
    assert q.mu.shape == q.logvar.shape == (2, 3)
    torch.testing.assert_close(q.mu, mean)
    kl = _kl_to(mean, cov)
    m, logvar = q.mu.clone().requires_grad_(True), q.logvar.clone().requires_grad_(True)
    grad_m, grad_lv = torch.autograd.grad(kl(m, logvar).sum(), (m, logvar))  # stationary point ...
    torch.testing.assert_close(grad_m, torch.zeros_like(grad_m), atol=1e-10, rtol=0)
    torch.testing.assert_close(grad_lv, torch.zeros_like(grad_lv), atol=1e-10, rtol=0)
    best = kl(q.mu, q.logvar)
    for i in range(3):  # ... and a minimum: every perturbation of a variance raises the KL
        for step in (-0.1, 0.1):
            nudged = q.logvar.clone()
            nudged[:, i] += step
            assert bool((kl(q.mu, nudged) > best).all())
    # the diagonal q is narrower than the marginals of the correlated p
    assert bool((q.logvar.exp() < cov.diagonal()).all())


def test_mean_field_gaussian_is_exact_for_a_diagonal_posterior():
    var = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64)
    q = evaluation.mean_field_gaussian(torch.zeros(4, 3, dtype=torch.float64), torch.diag(var).expand(4, 3, 3))
    torch.testing.assert_close(q.logvar, var.log().expand(4, 3))


def test_latent_traversal_decodes_each_point_and_ignores_unused_dimensions():
    torch.manual_seed(0)
    model = lv.VAE(6, 3, hidden=(5,))
    z = torch.randn(3)
    values = [-2.0, 0.0, 0.5, 3.0]
    got = evaluation.latent_traversal(model, z, 1, values)
    for row, v in zip(got, values, strict=True):  # oracle: decode the modified point by hand
        point = z.clone()
        point[1] = v
        torch.testing.assert_close(row, torch.sigmoid(model.decode(point)).detach())
    with torch.no_grad():
        model.decoder.net[0].weight[:, 2] = 0.0  # the decoder no longer reads z_2: walking it changes nothing
    flat = evaluation.latent_traversal(model, z, 2, values)
    assert torch.equal(flat, flat[:1].expand_as(flat))
    assert not torch.equal(got, got[:1].expand_as(got))


@pytest.mark.parametrize(
    ("z", "dim", "values", "match"),
    [
        (torch.zeros(2, 3), 0, [0.0], r"z must have exactly 1 dimensions"),
        (torch.zeros(3), 3, [0.0], r"dim must be an int in \[0, 3\)"),
        (torch.zeros(3), 0, [], "values must not be empty"),
    ],
)
def test_latent_traversal_rejects_bad_input(z, dim, values, match):
    with pytest.raises(ValueError, match=match):
        evaluation.latent_traversal(lv.VAE(6, 3, hidden=(5,)), z, dim, values)
