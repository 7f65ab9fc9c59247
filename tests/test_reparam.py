"""The reparameterization trick (S8): factors, samples and the two gradient estimators."""

import pytest
import torch

import lecture_vae as lv

pytestmark = pytest.mark.usefixtures("float64")  # exact checks in float64 (tests/conftest.py)


@pytest.fixture
def g():
    return torch.Generator().manual_seed(1)


def random_cov(B, L, g):
    a = torch.randn(B, L, L, generator=g)
    return a @ a.mT + 0.2 * torch.eye(L)


def test_reparameterize_is_mu_plus_sigma_eps(g):
    mu, logvar, eps = (torch.randn(4, 3, generator=g) for _ in range(3))
    torch.testing.assert_close(lv.reparameterize(mu, logvar, eps), mu + (0.5 * logvar).exp() * eps)
    z = lv.reparameterize(mu, logvar, torch.randn(5, 4, 3, generator=g))
    assert z.shape == (5, 4, 3)


def test_reparameterize_generator_is_reproducible():
    mu, logvar = torch.zeros(2, 3), torch.zeros(2, 3)
    a = lv.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    b = lv.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_reparameterize_gradients_flow_to_mu_and_logvar(g):
    mu = torch.randn(3, generator=g).requires_grad_()
    logvar = torch.randn(3, generator=g).requires_grad_()
    eps = torch.randn(3, generator=g)
    lv.reparameterize(mu, logvar, eps).sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(3))
    torch.testing.assert_close(logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps)


@pytest.mark.parametrize("factor", [lv.scale_from_cholesky, lv.scale_from_eigh])
def test_factor_reproduces_sigma_batched(factor, g):
    sigma = random_cov(5, 4, g)
    a = factor(sigma)
    assert a.shape == (5, 4, 4)
    torch.testing.assert_close(a @ a.mT, sigma)


def test_cholesky_factor_is_lower_triangular_eigh_factor_has_orthogonal_columns(g):
    sigma = random_cov(1, 4, g)[0]
    assert torch.equal(lv.scale_from_cholesky(sigma), lv.scale_from_cholesky(sigma).tril())
    a = lv.scale_from_eigh(sigma)
    gram = a.T @ a  # = D^{1/2} Q^T Q D^{1/2} = D: diagonal, ascending eigenvalues
    torch.testing.assert_close(gram, torch.diag(torch.linalg.eigvalsh(sigma)))


def test_the_two_factors_differ_by_an_orthogonal_matrix(g):
    sigma = random_cov(3, 4, g)
    chol, eig = lv.scale_from_cholesky(sigma), lv.scale_from_eigh(sigma)
    r = torch.linalg.solve(chol, eig)  # eig = chol @ r
    torch.testing.assert_close(r @ r.mT, torch.eye(4).expand(3, 4, 4))
    assert not torch.allclose(chol, eig)


@pytest.mark.parametrize("factor", [lv.scale_from_cholesky, lv.scale_from_eigh])
def test_samples_have_the_right_covariance(factor, g):
    sigma = torch.tensor([[2.0, 0.9, 0.2], [0.9, 1.0, -0.3], [0.2, -0.3, 0.5]])
    mu = torch.tensor([[1.0, -1.0, 0.0]])
    z = lv.reparameterize_full(mu, factor(sigma), torch.randn(200_000, 1, 3, generator=g))[:, 0]
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.02, rtol=0)
    # sampling sd of a covariance entry ~ sqrt(2/n) * scale ~ 0.006 here
    torch.testing.assert_close(torch.cov(z.T), sigma, atol=0.03, rtol=0)


def test_reparameterize_full_matches_diagonal_case(g):
    mu, logvar, eps = (torch.randn(4, 3, generator=g) for _ in range(3))
    scale = torch.diag_embed((0.5 * logvar).exp())
    torch.testing.assert_close(lv.reparameterize_full(mu, scale, eps), lv.reparameterize(mu, logvar, eps))


def test_eigh_factor_rejects_non_pd():
    with pytest.raises(ValueError, match="sigma"):
        lv.scale_from_eigh(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="sigma"):
        lv.scale_from_cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))


# f(z) = z^T z: E f = |mu|^2 + sum exp(logvar); exact d/dmu = 2 mu, d/dlogvar = exp(logvar)
def f_quadratic(z):
    return (z**2).sum(-1)


@pytest.mark.parametrize("estimator", [lv.pathwise_grad, lv.score_function_grad])
def test_estimators_are_unbiased(estimator, g):
    mu, logvar = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, -0.5, 0.3])
    est = estimator(f_quadratic, mu, logvar, 400_000, generator=g)
    assert est.mu.shape == est.logvar.shape == (400_000, 3)
    for sample, exact in ((est.mu, 2 * mu), (est.logvar, logvar.exp())):
        se = sample.std(0) / sample.shape[0] ** 0.5
        assert ((sample.mean(0) - exact).abs() < 5 * se + 1e-12).all(), (sample.mean(0), exact, se)


def test_pathwise_variance_is_smaller(g):
    mu, logvar = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, -0.5, 0.3])
    pw = lv.pathwise_grad(f_quadratic, mu, logvar, 50_000, generator=g)
    sf = lv.score_function_grad(f_quadratic, mu, logvar, 50_000, generator=g)
    assert (pw.mu.var(0) * 5 < sf.mu.var(0)).all()
    assert (pw.logvar.var(0) * 5 < sf.logvar.var(0)).all()


def test_pathwise_matches_autograd_per_sample(g):
    """Each pathwise estimate is the autograd gradient of f(mu + sigma eps) for that one eps."""
    mu, logvar = torch.tensor([0.3, -0.2]), torch.tensor([0.1, -0.4])
    est = lv.pathwise_grad(lambda z: torch.sin(z).prod(-1), mu, logvar, 3, generator=torch.Generator().manual_seed(9))
    eps = torch.randn((3, 2), generator=torch.Generator().manual_seed(9))
    for k in range(3):
        m, lvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        torch.sin(lv.reparameterize(m, lvar, eps[k])).prod().backward()
        torch.testing.assert_close(est.mu[k], m.grad)
        torch.testing.assert_close(est.logvar[k], lvar.grad)
