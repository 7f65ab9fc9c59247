"""Notebook 06's checkers pass the package's own functions and fail realistic mistakes."""

import torch

import lecture_vae as lv
from lecture_vae import exercises
from lecture_vae.exercises.nb06 import _score_cases_with_seeds, reference_score_function_grad


def test_scale_from_eigh_passes_package_and_handwritten_solution():
    assert exercises.check_scale_from_eigh(lv.scale_from_eigh)

    def by_hand(sigma):
        d, q = torch.linalg.eigh(sigma)
        return q * d.sqrt().unsqueeze(-2)

    assert exercises.check_scale_from_eigh(by_hand)
    # signs and order of the eigenvectors are free choices: flipped, reversed columns still pass
    assert exercises.check_scale_from_eigh(lambda s: -by_hand(s).flip(-1))


def test_scale_from_eigh_fails_missing_sqrt_cholesky_and_rows_for_columns():
    def no_sqrt(sigma):
        d, q = torch.linalg.eigh(sigma)
        return q * d.unsqueeze(-2)

    def scaled_rows(sigma):  # D^{1/2} Q: scales rows, not columns
        d, q = torch.linalg.eigh(sigma)
        return d.sqrt().unsqueeze(-1) * q

    for bug in (no_sqrt, lv.scale_from_cholesky, scaled_rows):
        assert not exercises.check_scale_from_eigh(bug), getattr(bug, "__name__", bug)


def test_score_cases_hold_the_draws_of_the_package_estimator():
    for f, mu, logvar, eps, seed in _score_cases_with_seeds():
        est = lv.score_function_grad(f, mu, logvar, eps.shape[0], generator=torch.Generator().manual_seed(seed))
        z = lv.reparameterize(mu, logvar, eps)
        torch.testing.assert_close(est.mu, f(z)[:, None] * (z - mu) / logvar.exp())
        ref = reference_score_function_grad(f, mu, logvar, eps)  # the checker's reference is the package's estimator
        torch.testing.assert_close(ref.grad_mu, est.mu)
        torch.testing.assert_close(ref.grad_logvar, est.logvar)


def _score_by_autograd(f, mu, logvar, eps):
    """Independent oracle: f(z) times the autograd gradient of torch's log N(z; mu, sigma^2) at fixed z."""
    z = (mu + (0.5 * logvar).exp() * eps).detach()
    mu_, lv_ = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    grads_mu, grads_lv = [], []
    for zk in z:
        log_q = torch.distributions.Normal(mu_, (0.5 * lv_).exp()).log_prob(zk).sum()
        g_mu, g_lv = torch.autograd.grad(log_q, (mu_, lv_))
        grads_mu.append(g_mu)
        grads_lv.append(g_lv)
    fz = f(z)[:, None]
    return fz * torch.stack(grads_mu), fz * torch.stack(grads_lv)


def test_score_function_grad_passes_autograd_oracle_and_handwritten_solution():
    assert exercises.check_score_function_grad(_score_by_autograd)

    def by_hand(f, mu, logvar, eps):
        sigma = torch.exp(0.5 * logvar)
        fz = f(mu + sigma * eps)[:, None]
        return fz * eps / sigma, fz * 0.5 * (eps**2 - 1)

    assert exercises.check_score_function_grad(by_hand)


def test_score_function_grad_fails_realistic_bugs():
    def missing_one_over_sigma(f, mu, logvar, eps):
        sigma = torch.exp(0.5 * logvar)
        fz = f(mu + sigma * eps)[:, None]
        return fz * eps, fz * 0.5 * (eps**2 - 1)

    def missing_minus_one(f, mu, logvar, eps):
        sigma = torch.exp(0.5 * logvar)
        fz = f(mu + sigma * eps)[:, None]
        return fz * eps / sigma, fz * 0.5 * eps**2

    def score_of_sigma_not_logvar(f, mu, logvar, eps):  # d/dsigma instead of d/dlogvar
        sigma = torch.exp(0.5 * logvar)
        fz = f(mu + sigma * eps)[:, None]
        return fz * eps / sigma, fz * (eps**2 - 1) / sigma

    def pathwise_instead(f, mu, logvar, eps):
        return tuple(lv.pathwise_grad(f, mu, logvar, eps.shape[0]))

    for bug in (missing_one_over_sigma, missing_minus_one, score_of_sigma_not_logvar, pathwise_instead):
        assert not exercises.check_score_function_grad(bug), bug.__name__


def test_messages_name_the_outputs_in_the_users_shapes():
    def one_tensor(f, mu, logvar, eps):  # the two estimates stacked into one tensor
        sigma = torch.exp(0.5 * logvar)
        fz = f(mu + sigma * eps)[:, None]
        return torch.stack([fz * eps / sigma, fz * 0.5 * (eps**2 - 1)])

    result = exercises.check_score_function_grad(one_tensor)
    assert result.message == (
        "✗ score_function_grad: case 1 (L=2, K=5 samples) returned a tensor; expected a tuple of 2 tensors "
        "(grad_mu of shape (5, 2), grad_logvar of shape (5, 2))."
    )

    def summed(f, mu, logvar, eps):  # the mean over samples instead of one estimate per sample
        g_mu, g_lv = _score_by_autograd(f, mu, logvar, eps)
        return g_mu.mean(0), g_lv.mean(0)

    assert exercises.check_score_function_grad(summed).message.endswith(
        "returned grad_mu of shape (2,); expected a tuple of 2 tensors (grad_mu of shape (5, 2), "
        "grad_logvar of shape (5, 2))."
    )


def test_scale_from_eigh_wrong_shape_is_reported_in_the_users_shapes():
    result = exercises.check_scale_from_eigh(lambda sigma: torch.linalg.eigh(sigma).eigenvalues)
    assert result.message == (
        "✗ scale_from_eigh: case 1 (sigma of shape (2, 2)) returned shape (2,); expected a tensor of shape (2, 2)."
    )
    off = exercises.check_scale_from_eigh(lambda sigma: 2 * lv.scale_from_eigh(sigma))
    assert "differs from the reference in A Aᵀ and Aᵀ A" in off.message
