"""Numerical stability at extreme inputs, against high-precision oracles (mpmath, float64, closed forms,
torch.distributions), and property tests of the mathematical invariants the lecture relies on.

Every tensor states its dtype, so the results do not depend on the session's default dtype.
"""

import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import distributions as td

import lecture_vae as lv
from lecture_vae.model import LOGVAR_MAX, LOGVAR_MIN

mpmath.mp.dps = 50
F32, F64 = torch.float32, torch.float64
HYP = settings(max_examples=50, deadline=None)
LOG_2PI = mpmath.log(2 * mpmath.pi)


def mp_log_sigmoid(a):
    return -mpmath.log1p(mpmath.exp(-a))


def mp_logmeanexp(values):
    return mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in values) / len(values))


def close(actual, expected, rtol, atol=0.0):
    """``actual`` (a tensor or float) is finite and within rtol |expected| + atol of the mpmath value."""
    a = float(actual)
    assert math.isfinite(a), a
    assert abs(a - float(expected)) <= rtol * abs(float(expected)) + atol, (a, float(expected))


# --- Bernoulli likelihood: computed from logits -------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("logit", [100.0, -100.0, 1e4, -1e4, 0.0, 20.0, -36.0])
@pytest.mark.parametrize("x", [0.0, 1.0, 0.3])
def test_bernoulli_log_prob_at_extreme_logits_is_finite_and_exact(x, logit, dtype):
    """x log sigmoid(a) + (1 - x) log sigmoid(-a): e.g. -1e4 for x = 0, a = 1e4, never -inf or NaN."""
    out = lv.bernoulli_log_prob(torch.tensor([[x]], dtype=dtype), torch.tensor([[logit]], dtype=dtype))
    a = mpmath.mpf(logit)
    exact = x * mp_log_sigmoid(a) + (1 - x) * mp_log_sigmoid(-a)
    # log-likelihoods are sums over pixels: what matters is the absolute error, here at most one rounding of 1
    # (log(1 + 2e-16) = 0 in float64 at a = -36)
    close(out[0], exact, rtol=4 * torch.finfo(dtype).eps, atol=2 * torch.finfo(dtype).eps)


@pytest.mark.parametrize("logit", [100.0, -100.0, 1e4, -1e4])
def test_bernoulli_gradient_at_extreme_logits_is_x_minus_sigmoid(logit):
    logits = torch.tensor([[logit, logit]], dtype=F32, requires_grad=True)
    x = torch.tensor([[0.0, 1.0]], dtype=F32)
    lv.bernoulli_log_prob(x, logits).sum().backward()
    torch.testing.assert_close(logits.grad, x - torch.sigmoid(logits.detach()))


# --- Gaussian KL and log-density at extreme log-variances ------------------------------------------------


def mp_kl(mu, logvar):
    return mpmath.fsum(
        mpmath.mpf(0.5) * (mpmath.mpf(m) ** 2 + mpmath.exp(v) - 1 - mpmath.mpf(v))
        for m, v in zip(mu, logvar, strict=True)
    )


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("logvar", [30.0, -30.0, 10.0, -15.0])
def test_gaussian_kl_at_extreme_logvar(logvar, dtype):
    mu = [0.5, -2.0, 0.0]
    lv_ = [logvar, logvar, 0.0]
    out = lv.gaussian_kl(torch.tensor([mu], dtype=dtype), torch.tensor([lv_], dtype=dtype))
    close(out[0], mp_kl(mu, lv_), rtol=8 * torch.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("logvar", [1e-3, -1e-3, 1e-5, 1e-7])
def test_gaussian_kl_near_the_prior_has_no_cancellation(logvar, dtype):
    """KL ~ logvar^2 / 4 per dim when logvar ~ 0. exp(v) - 1 - v has an absolute error of eps (1e-7 in
    float32, larger than the KL itself); expm1(v) - v is off by at most a rounding of v, eps |v|."""
    v = torch.tensor([[logvar]], dtype=dtype)
    out = lv.gaussian_kl(torch.zeros_like(v), v)
    exact = mp_kl([0.0], [float(v)])  # of the value actually stored in dtype
    assert out[0] >= 0
    close(out[0], exact, rtol=8 * torch.finfo(dtype).eps, atol=2 * torch.finfo(dtype).eps * abs(logvar))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("logvar", [30.0, -30.0])
def test_gaussian_kl_full_at_extreme_scales(logvar, dtype):
    """A diagonal Cholesky factor exp(logvar / 2) plus small off-diagonal terms, against mpmath."""
    d = math.exp(0.5 * logvar)
    tril = torch.tensor([[[d, 0.0], [0.25 * d, 1.0]]], dtype=dtype)
    mu = torch.tensor([[1.0, -0.5]], dtype=dtype)
    m = mpmath.matrix(tril[0].double().tolist())
    sigma = m * m.T
    exact = 0.5 * (sigma[0, 0] + sigma[1, 1] + 1.0 + 0.25 - 2 - mpmath.log(mpmath.det(sigma)))
    close(lv.gaussian_kl_full(mu, tril)[0], exact, rtol=16 * torch.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_gaussian_kl_full_near_the_prior_is_nonnegative_and_accurate(dtype):
    tril = torch.diag_embed(torch.tensor([[1 + 1e-4, 1 - 1e-4, 1.0]], dtype=dtype))
    out = lv.gaussian_kl_full(torch.zeros(1, 3, dtype=dtype), tril)
    t = [2 * mpmath.log(mpmath.mpf(float(v))) for v in tril[0].diagonal()]
    exact = 0.5 * mpmath.fsum(mpmath.expm1(x) - x for x in t)  # ~ 2e-8
    assert out[0] >= 0
    close(out[0], exact, rtol=1e-3 if dtype == F32 else 1e-9)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("logvar", [30.0, -30.0])
def test_diag_gaussian_log_prob_at_extreme_logvar(logvar, dtype):
    z = torch.tensor([[2.0**-20, 3.0, 0.0]], dtype=dtype)  # exactly representable
    mu = torch.tensor([[0.0, 1.0, 0.0]], dtype=dtype)
    lvar = torch.tensor([[logvar, logvar, 0.0]], dtype=dtype)
    out = lv.diag_gaussian_log_prob(z, mu, lvar)
    exact = mpmath.fsum(
        -0.5 * (LOG_2PI + mpmath.mpf(v) + (mpmath.mpf(a) - mpmath.mpf(b)) ** 2 * mpmath.exp(-mpmath.mpf(v)))
        for a, b, v in zip(z[0].tolist(), mu[0].tolist(), lvar[0].tolist(), strict=True)
    )
    close(out[0], exact, rtol=8 * torch.finfo(dtype).eps)
    ref = td.Independent(td.Normal(mu.double(), (0.5 * lvar.double()).exp()), 1).log_prob(z.double())
    close(out[0], ref[0], rtol=8 * torch.finfo(dtype).eps)


def test_diag_gaussian_log_prob_at_the_mean_with_a_tiny_variance_is_finite():
    """z = mu, logvar = -100 in float32: (z - mu)^2 * exp(100) would be 0 * inf = NaN; the answer is
    50 - log(2 pi) / 2."""
    z = torch.zeros(1, 1, dtype=F32)
    out = lv.diag_gaussian_log_prob(z, z, torch.full((1, 1), -100.0, dtype=F32))
    close(out[0], 50 - 0.5 * LOG_2PI, rtol=1e-6)


# --- log-sum-exp: IWAE and log p(x) estimates with log-weights around -1e4 -------------------------------


class FarAway:
    """log p(x|z) = -1e4 - |z - c|^2 / 2 and q(z|x) = N(0, I), so log w ~ -1e4 and
    log p(x) = -1e4 + log E_p(z) exp(-|z - c|^2 / 2) = -1e4 - (L/2) log 2 - |c|^2 / 4 exactly."""

    x_dim, z_dim = 3, 2

    def __init__(self, dtype):
        self.c = torch.tensor([0.5, -0.25], dtype=dtype)

    def encode(self, x):
        return lv.DiagonalGaussian(torch.zeros(x.shape[0], 2, dtype=x.dtype), torch.zeros(x.shape[0], 2, dtype=x.dtype))

    def log_likelihood(self, x, z):
        return -1e4 - 0.5 * (z - self.c).pow(2).sum(-1) + 0.0 * x.sum(-1)

    def exact(self):
        return -1e4 - math.log(2) - float(self.c.double().pow(2).sum()) / 4


@pytest.mark.parametrize("dtype", [F32, F64])
def test_iwae_bound_with_log_weights_near_minus_1e4_equals_the_mpmath_logmeanexp(dtype):
    model, x = FarAway(dtype), torch.zeros(2, 3, dtype=dtype)
    log_w = lv.log_importance_weights(model, x, 64, generator=torch.Generator().manual_seed(0))
    assert float(log_w.max()) < -9000
    assert torch.isinf(log_w.exp().mean(0).log()).all()  # the naive formula underflows to -inf
    iwae = lv.iwae_bound(model, x, 64, generator=torch.Generator().manual_seed(0))  # the same draws
    for b in range(2):
        close(iwae[b], mp_logmeanexp(log_w[:, b].tolist()), rtol=4 * torch.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_log_marginal_estimate_near_minus_1e4_is_finite_and_matches_the_closed_form(dtype):
    """Many small chunks combined by the running log-sum-exp: finite, and within Monte Carlo error of log p(x)."""
    model, x = FarAway(dtype), torch.zeros(3, 3, dtype=dtype)
    est = lv.log_marginal_estimate(
        model, x, 20_000, batch_size=2, max_elements=3_000, generator=torch.Generator().manual_seed(1)
    )
    assert est.dtype == dtype and est.shape == (3,)
    for b in range(3):
        close(est[b], model.exact(), rtol=0, atol=0.02)  # MC error ~ 0.003 here


def test_iwae_on_a_float32_linear_gaussian_far_from_the_data_matches_float64_log_marginal():
    """The exact posterior as q makes every weight equal p(x): IWAE_k = log p(x) ~ -1e4, in float32."""
    g = torch.Generator().manual_seed(0)
    m64 = lv.LinearGaussian.random(20, 2, sigma=0.5, generator=g)
    x64 = m64.b + 22.0 * torch.linspace(-1, 1, 20, dtype=F64).expand(2, 20)
    m32 = lv.LinearGaussian(m64.W.float(), m64.b.float(), 0.5)
    exact = m64.log_marginal(x64)
    assert (exact < -5e3).all()
    iwae = lv.iwae_bound(m32, x64.float(), 100, generator=g)
    est = lv.log_marginal_estimate(m32, x64.float(), 500, max_elements=200, generator=g)
    torch.testing.assert_close(iwae.double(), exact, rtol=2e-6, atol=0)
    torch.testing.assert_close(est.double(), exact, rtol=2e-6, atol=0)


# --- multivariate normal with ill-conditioned covariances ------------------------------------------------


def ill_conditioned(L, cond, seed, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(L, L, generator=g, dtype=F64))
    eig = torch.logspace(0, -math.log10(cond), L, dtype=F64)
    sigma = q @ torch.diag(eig) @ q.T
    return (0.5 * (sigma + sigma.T)).to(dtype)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("cond", [1e6, 1e10])
def test_mvn_log_prob_with_ill_conditioned_covariance_matches_torch(cond, seed):
    L = 4
    sigma = ill_conditioned(L, cond, seed)
    g = torch.Generator().manual_seed(100 + seed)
    mu = torch.randn(2, L, generator=g, dtype=F64)
    # points at the typical distance from the mean along every eigen-direction
    z = mu + (lv.scale_from_eigh(sigma) @ torch.randn(5, 2, L, 1, generator=g, dtype=F64)).squeeze(-1)
    tril = lv.scale_from_cholesky(sigma).expand(2, L, L)
    ref = td.MultivariateNormal(mu, covariance_matrix=sigma.expand(2, L, L)).log_prob(z)
    out = lv.mvn_log_prob(z, mu, tril)
    torch.testing.assert_close(out, ref, rtol=1e-9 * cond**0.5, atol=0)


@pytest.mark.parametrize(("dtype", "cond"), [(F64, 1e6), (F64, 1e12), (F32, 1e4), (F32, 1e6)])
@pytest.mark.parametrize("factor", [lv.scale_from_cholesky, lv.scale_from_eigh])
def test_factors_of_nearly_singular_pd_matrices_reproduce_sigma(factor, dtype, cond):
    """A A^T = Sigma to a few roundings of ||Sigma||, A finite, for condition numbers up to 1e12 (float64)."""
    for seed in range(3):
        sigma = ill_conditioned(5, cond, seed, dtype)
        a = factor(sigma)
        assert torch.isfinite(a).all()
        err = float((a @ a.mT - sigma).abs().max())
        assert err <= 50 * torch.finfo(dtype).eps * float(sigma.abs().max()), err
        if factor is lv.scale_from_cholesky:
            assert torch.equal(a, a.tril()) and (a.diagonal() > 0).all()


# --- the VAE's log-variance clamp --------------------------------------------------------------------------


@pytest.mark.parametrize("posterior", ["diagonal", "full"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_huge_encoder_outputs_give_a_finite_elbo_and_finite_gradients(posterior, likelihood):
    torch.manual_seed(0)
    vae = lv.VAE(12, 3, hidden=(8,), likelihood=likelihood, posterior=posterior).float()
    last = vae.encoder.net[-1]
    with torch.no_grad():  # pre-clamp log-variances of +-1e3: exp() would overflow to inf in any dtype
        last.weight.mul_(1e2)
        last.bias.copy_(1e3 * (-1.0) ** torch.arange(last.bias.numel()))
    x = torch.rand(4, 12, generator=torch.Generator().manual_seed(0), dtype=F32)
    raw = vae.encoder.net(x)[:, 3:6]
    assert raw.abs().max() > 500 and torch.isinf(lv.gaussian_kl(raw[:, :3] * 0, raw)).any()
    q = vae.encode(x)
    logvar = q.logvar if posterior == "diagonal" else 2 * q.scale_tril.diagonal(dim1=-2, dim2=-1).log()
    assert (logvar >= LOGVAR_MIN - 1e-4).all() and (logvar <= LOGVAR_MAX + 1e-4).all()
    for kl in ("analytic", "mc"):
        vae.zero_grad()
        terms = lv.elbo(vae, x, n_samples=2, kl=kl, generator=torch.Generator().manual_seed(1))
        assert all(torch.isfinite(v).all() for v in terms), terms
        (-terms.elbo.mean()).backward()
        for name, p in vae.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


# --- property tests of the invariants -----------------------------------------------------------------------

floats = st.floats(-30, 30, allow_nan=False, width=32)


@HYP
@given(
    mu=st.lists(floats, min_size=3, max_size=3),
    logvar=st.lists(floats, min_size=3, max_size=3),
    dtype=st.sampled_from([F32, F64]),
)
def test_kl_is_nonnegative_and_zero_only_at_the_prior(mu, logvar, dtype):
    m, v = torch.tensor([mu], dtype=dtype), torch.tensor([logvar], dtype=dtype)
    kl = lv.gaussian_kl(m, v)
    assert kl[0] >= 0
    assert (kl[0] == 0) == (m.abs().max() == 0 and v.abs().max() == 0) or kl[0] < 1e-30
    kl_full = lv.gaussian_kl_full(m, torch.diag_embed((0.5 * v).exp()))
    assert kl_full[0] >= 0
    torch.testing.assert_close(kl_full, kl, rtol=1e-4 if dtype == F32 else 1e-9, atol=1e-6)


@HYP
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(1, 5), scale=st.floats(1e-3, 1e3))
def test_full_kl_is_nonnegative_and_matches_torch(seed, L, scale):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(2, L, L, generator=g, dtype=F64).tril(-1)
    tril = scale * (a + torch.diag_embed(torch.rand(2, L, generator=g, dtype=F64) + 0.1))
    mu = torch.randn(2, L, generator=g, dtype=F64)
    out = lv.gaussian_kl_full(mu, tril)
    assert (out >= 0).all()
    ref = td.kl_divergence(
        td.MultivariateNormal(mu, scale_tril=tril), td.MultivariateNormal(mu * 0, torch.eye(L, dtype=F64))
    )
    torch.testing.assert_close(out, ref.to(F64), rtol=1e-9, atol=1e-9)


@HYP
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(1, 6), logvar_scale=st.floats(0.0, 10.0))
def test_diag_log_prob_matches_torch_distributions(seed, L, logvar_scale):
    g = torch.Generator().manual_seed(seed)
    mu = 3 * torch.randn(2, L, generator=g, dtype=F64)
    logvar = logvar_scale * torch.randn(2, L, generator=g, dtype=F64)
    z = mu + torch.randn(4, 2, L, generator=g, dtype=F64) * (0.5 * logvar).exp() * 2
    ref = td.Independent(td.Normal(mu, (0.5 * logvar).exp()), 1).log_prob(z)
    torch.testing.assert_close(lv.diag_gaussian_log_prob(z, mu, logvar), ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(lv.DiagonalGaussian(mu, logvar).log_prob(z), ref, rtol=1e-10, atol=1e-10)


@HYP
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(1, 5), log_cond=st.floats(0, 6))
def test_mvn_log_prob_matches_torch_distributions(seed, L, log_cond):
    sigma = ill_conditioned(L, 10**log_cond, seed)
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(3, L, generator=g, dtype=F64)
    z = mu + (lv.scale_from_cholesky(sigma) @ torch.randn(2, 3, L, 1, generator=g, dtype=F64)).squeeze(-1)
    ref = td.MultivariateNormal(mu, covariance_matrix=sigma).log_prob(z)
    tril = lv.scale_from_cholesky(sigma).expand(3, L, L)
    torch.testing.assert_close(lv.mvn_log_prob(z, mu, tril), ref, rtol=1e-8, atol=1e-8)


@HYP
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(1, 5), log_cond=st.floats(0, 6))
def test_cholesky_and_eigh_factors_give_the_same_mean_and_covariance(seed, L, log_cond):
    """With the 2L 'sigma points' eps = +-sqrt(L) e_i (mean 0, covariance I exactly), z = mu + A eps has
    mean mu and covariance A A^T: the same Sigma for both factors, though the two A differ."""
    sigma = ill_conditioned(L, 10**log_cond, seed) * 2.0
    mu = torch.randn(1, L, generator=torch.Generator().manual_seed(seed), dtype=F64)
    eye = math.sqrt(L) * torch.eye(L, dtype=F64)
    eps = torch.cat([eye, -eye]).unsqueeze(1)  # (2L, 1, L)
    for factor in (lv.scale_from_cholesky, lv.scale_from_eigh):
        z = lv.reparameterize_full(mu, factor(sigma), eps)[:, 0]  # (2L, L)
        torch.testing.assert_close(z.mean(0), mu[0], rtol=0, atol=1e-12)
        cov = (z - mu).T @ (z - mu) / (2 * L)
        torch.testing.assert_close(cov, sigma, rtol=0, atol=1e-12 * float(sigma.abs().max()))


def closed_form_elbo(model, x, mu, tril):
    """E_q log N(x; W z + b, s^2 I) = -D/2 log(2 pi s^2) - (|x - W mu - b|^2 + tr(W S W^T)) / (2 s^2), S = tril tril^T;
    KL from torch.distributions. All float64."""
    s2 = model.sigma**2
    resid = x - mu @ model.W.T - model.b
    trace = (model.W @ tril).pow(2).sum((-2, -1))
    rec = -0.5 * model.x_dim * math.log(2 * math.pi * s2) - (resid.pow(2).sum(-1) + trace) / (2 * s2)
    kl = td.kl_divergence(
        td.MultivariateNormal(mu, scale_tril=tril),
        td.MultivariateNormal(torch.zeros_like(mu), torch.eye(mu.shape[-1], dtype=F64)),
    )
    return rec, kl


@HYP
@given(
    seed=st.integers(0, 2**32 - 1),
    D=st.integers(1, 6),
    L=st.integers(1, 3),
    sigma=st.floats(0.05, 3.0),
    q_spread=st.floats(0.05, 3.0),
)
def test_elbo_is_below_the_exact_log_marginal(seed, D, L, sigma, q_spread):
    """ELBO(q) <= log p(x) for any Gaussian q on a random LinearGaussian; the gap is KL(q || p(z|x)) (S6, S7)."""
    g = torch.Generator().manual_seed(seed)
    model = lv.LinearGaussian.random(D, L, sigma, generator=g)
    x = model.sample(3, generator=g)
    mu = torch.randn(3, L, generator=g, dtype=F64)
    a = q_spread * torch.randn(3, L, L, generator=g, dtype=F64)
    tril = torch.linalg.cholesky(a @ a.mT + 1e-2 * torch.eye(L, dtype=F64))
    rec, kl = closed_form_elbo(model, x, mu, tril)
    elbo = rec - kl
    log_px = model.log_marginal(x)
    assert (elbo <= log_px + 1e-9 * log_px.abs()).all(), (elbo, log_px)
    mean, cov = model.posterior(x)
    gap = td.kl_divergence(td.MultivariateNormal(mu, scale_tril=tril), td.MultivariateNormal(mean, cov))
    torch.testing.assert_close(log_px - elbo, gap, rtol=1e-6, atol=1e-6)
    # the package: analytic KL exactly, and the sampled reconstruction within 6 standard errors
    q = lv.FullGaussian(mu, tril)
    torch.testing.assert_close(lv.gaussian_kl_full(mu, tril), kl, rtol=1e-9, atol=1e-9)
    z = q.rsample(2000, generator=g)
    ll = model.log_likelihood(x, z)
    se = ll.std(0) / math.sqrt(2000)
    assert ((ll.mean(0) - rec).abs() <= 6 * se + 1e-9).all()
    terms = lv.elbo(model, x, n_samples=8, q_z=q, generator=g)
    torch.testing.assert_close(terms.kl, kl, rtol=1e-9, atol=1e-9)


@HYP
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 50))
def test_iwae_bound_equals_logmeanexp_of_the_log_weights(seed, k):
    """IWAE_k is exactly log mean exp of the k log-weights it drew (same generator, same draws)."""
    g = torch.Generator().manual_seed(seed)
    model = lv.LinearGaussian.random(4, 2, 0.3, generator=g)
    x = model.sample(2, generator=g) + 5.0
    q = lv.DiagonalGaussian(torch.zeros(2, 2, dtype=F64), torch.zeros(2, 2, dtype=F64))
    log_w = lv.log_importance_weights(model, x, k, generator=torch.Generator().manual_seed(seed), q_z=q)
    iwae = lv.iwae_bound(model, x, k, generator=torch.Generator().manual_seed(seed), q_z=q)
    for b in range(2):
        close(iwae[b], mp_logmeanexp(log_w[:, b].tolist()), rtol=1e-13, atol=1e-12)


# --- extreme variances in float32: finite and right, or a clear error naming the range ----------------


def test_diag_log_prob_at_the_mean_with_logvar_minus_200_is_finite_in_float32():
    """z = mu, logvar = -200: exp(-logvar / 2) overflows float32, yet the term (z - mu)^2 / sigma^2 is 0."""
    z = torch.zeros(1, 3, dtype=F32)
    logvar = torch.full((1, 3), -200.0, dtype=F32)
    out = lv.diag_gaussian_log_prob(z, z, logvar)
    close(out[0], -0.5 * 3 * (LOG_2PI - 200), rtol=1e-6)
    logvar.requires_grad_(True)  # and the gradient -1/2 per dimension, not NaN
    (g,) = torch.autograd.grad(lv.diag_gaussian_log_prob(z, z, logvar).sum(), logvar)
    torch.testing.assert_close(g, torch.full_like(g, -0.5))


def test_reparameterize_with_an_overflowing_sigma_names_logvar_and_the_range():
    """logvar = 200 in float32: exp(100) is inf, so z would be inf or (with eps = 0) NaN."""
    mu, eps = torch.zeros(2, 3, dtype=F32), torch.zeros(2, 3, dtype=F32)
    with pytest.raises(ValueError, match=r"logvar must be below 177\.4 in torch\.float32.*got max 200"):
        lv.reparameterize(mu, torch.full((2, 3), 200.0, dtype=F32), eps)
    z = lv.reparameterize(mu.double(), torch.full((2, 3), 200.0, dtype=F64), eps.double())  # fine in float64
    assert torch.equal(z, torch.zeros(2, 3, dtype=F64))


# --- shapes that would silently pair samples with rows ------------------------------------------------


@pytest.mark.parametrize("bound", ["elbo", "iwae"])
def test_a_q_without_rows_is_refused_not_averaged_over_the_batch(bound):
    """q_z with mu (L,) against x (B, D): its draws (S, L) would pair sample i with row i and the result
    would be one number for the whole batch. It must be refused, naming q_z and the expected shape."""
    g = torch.Generator().manual_seed(0)
    model = lv.LinearGaussian.random(4, 2, generator=g)
    x = model.sample(3, generator=g)
    q_z = lv.DiagonalGaussian(torch.zeros(2, dtype=F64), torch.zeros(2, dtype=F64))
    call = {
        "elbo": lambda: lv.elbo(model, x, q_z=q_z, n_samples=3),
        "iwae": lambda: lv.iwae_bound(model, x, 3, q_z=q_z),
    }[bound]
    with pytest.raises(ValueError, match=r"q_z must have mu of shape \(3, 2\).*got mu of shape \(2,\)"):
        call()
    rows = lv.DiagonalGaussian(torch.zeros(1, 2, dtype=F64), torch.zeros(1, 2, dtype=F64))  # one row broadcasts
    assert lv.elbo(model, x, q_z=rows, generator=g).elbo.shape == (3,)


# --- covariance checks per matrix, on each matrix's own scale -----------------------------------------


@pytest.mark.parametrize("factor", [lv.scale_from_cholesky, lv.scale_from_eigh])
def test_symmetry_is_judged_per_matrix_not_against_the_largest_in_the_batch(factor):
    """A unit-scale matrix with an asymmetry of 1e-2 next to a matrix of scale 1e4: refused."""
    small = torch.tensor([[1.0, 0.01], [0.0, 1.0]], dtype=F64)
    large = 1e4 * torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match=r"sigma must be symmetric.* in matrix \(0,\).*0\.01"):
        factor(torch.stack([small, large]))
    ok = torch.stack([0.5 * (small + small.T), large])
    a = factor(ok)
    torch.testing.assert_close(a @ a.mT, ok)


def test_a_tiny_covariance_is_judged_on_its_own_scale():
    """Scale 1e-8: an asymmetry of 10% of its entries is refused, an exactly symmetric one is factored."""
    with pytest.raises(ValueError, match="sigma must be symmetric"):
        lv.scale_from_cholesky(1e-8 * torch.tensor([[2.0, 0.1], [0.0, 1.0]], dtype=F64))
    sigma = 1e-8 * torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=F64)
    a = lv.scale_from_cholesky(sigma)
    torch.testing.assert_close(a @ a.T, sigma)


# --- dtypes, estimators, seeds -----------------------------------------------------------------------


@pytest.mark.parametrize(("mu_dtype", "scale_dtype", "eps_dtype"), [(F32, F64, F32), (F64, F64, F32), (F32, F32, F64)])
def test_reparameterize_full_refuses_mixed_float_dtypes(mu_dtype, scale_dtype, eps_dtype):
    mu, scale, eps = (
        torch.zeros(2, 3, dtype=mu_dtype),
        torch.eye(3, dtype=scale_dtype),
        torch.ones(2, 3, dtype=eps_dtype),
    )
    with pytest.raises(TypeError, match="must have the same dtype") as err:
        lv.reparameterize_full(mu, scale, eps)
    assert "float32" in str(err.value) and "float64" in str(err.value)


@pytest.mark.parametrize(
    "f",
    [
        lambda z: z.detach().sum(-1),
        lambda z: torch.tensor(z.sum(-1).tolist()),
        lambda z: torch.round(z).sum(-1).detach(),
        lambda z: torch.ones(z.shape[0], requires_grad=True) * 2.0,  # in autograd, but not a function of z
    ],
)
def test_pathwise_grad_of_a_non_differentiable_f_is_one_clear_error(f):
    mu, logvar = torch.zeros(2, dtype=F64), torch.zeros(2, dtype=F64)
    with pytest.raises(ValueError, match="f must be differentiable in z.*score_function_grad"):
        lv.pathwise_grad(f, mu, logvar, 4, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("seed", [1.5, None, "0", -1, 2**32, 2**64, True])
def test_seed_everything_names_seed_and_its_range(seed):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 4294967295\]"):
        lv.seed_everything(seed)


def test_seed_everything_accepts_the_ends_of_the_range():
    for seed in (0, 2**32 - 1):
        assert lv.seed_everything(seed).initial_seed() == seed


def test_non_finite_input_raises_a_typed_non_finite_error():
    bad = torch.tensor([[0.0, math.nan]], dtype=F64)
    with pytest.raises(lv.NonFiniteError, match="mu must be finite, got 1 NaN/Inf"):
        lv.gaussian_kl(bad, torch.zeros(1, 2, dtype=F64))
    assert issubclass(lv.NonFiniteError, ValueError)
