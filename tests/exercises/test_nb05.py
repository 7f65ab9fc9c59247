"""Notebook 05's checkers pass the package's own functions and fail realistic mistakes."""

import torch

import lecture_vae as lv
from lecture_vae import exercises
from lecture_vae.exercises.nb05 import _elbo_cases, reference_elbo


def test_gaussian_kl_passes_reference_and_torch_distributions():
    assert exercises.check_gaussian_kl(lv.gaussian_kl)

    def oracle(mu, logvar):
        q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        return torch.distributions.kl_divergence(q, p).sum(-1)

    assert exercises.check_gaussian_kl(oracle)


def test_gaussian_kl_fails_missing_minus_one():
    assert not exercises.check_gaussian_kl(lambda mu, lv_: 0.5 * (mu**2 + lv_.exp() - lv_).sum(-1))


def test_gaussian_kl_fails_other_realistic_bugs():
    bugs = {
        "std for variance": lambda mu, lv_: 0.5 * (mu**2 + (0.5 * lv_).exp() - 1 - lv_).sum(-1),
        "no 1/2": lambda mu, lv_: (mu**2 + lv_.exp() - 1 - lv_).sum(-1),
        "mean over L": lambda mu, lv_: 0.5 * (mu**2 + lv_.exp() - 1 - lv_).mean(-1),
        "no sum": lambda mu, lv_: 0.5 * (mu**2 + lv_.exp() - 1 - lv_),
    }
    for name, bug in bugs.items():
        assert not exercises.check_gaussian_kl(bug), name


def test_reference_elbo_is_the_package_elbo_with_the_same_draw():
    # elbo(..., n_samples=1) draws eps of shape (1, B, L) from the generator: the same numbers
    for model, x, _ in _elbo_cases():
        eps = torch.randn((1, *x.shape[:1], model.z_dim), generator=torch.Generator().manual_seed(3), dtype=x.dtype)
        terms = lv.elbo(model, x, generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(reference_elbo(model, x, eps[0]), terms.elbo)


def test_elbo_passes_package_and_handwritten_solution():
    assert exercises.check_elbo(reference_elbo)

    def by_hand(model, x, eps):
        q_z = model.encode(x)
        z = q_z.mu + torch.exp(0.5 * q_z.logvar) * eps
        kl = 0.5 * (q_z.mu**2 + q_z.logvar.exp() - 1 - q_z.logvar).sum(-1)
        return model.log_likelihood(x, z) - kl

    assert exercises.check_elbo(by_hand)


def test_elbo_fails_realistic_bugs():
    def plus_kl(model, x, eps):
        q_z = model.encode(x)
        return model.log_likelihood(x, lv.reparameterize(q_z.mu, q_z.logvar, eps)) + q_z.kl()

    def logvar_as_std(model, x, eps):
        q_z = model.encode(x)
        return model.log_likelihood(x, q_z.mu + q_z.logvar * eps) - q_z.kl()

    def posterior_mean_only(model, x, eps):  # deterministic autoencoder: eps ignored
        q_z = model.encode(x)
        return model.log_likelihood(x, q_z.mu) - q_z.kl()

    def no_kl(model, x, eps):
        q_z = model.encode(x)
        return model.log_likelihood(x, lv.reparameterize(q_z.mu, q_z.logvar, eps))

    for bug in (plus_kl, logvar_as_std, posterior_mean_only, no_kl):
        assert not exercises.check_elbo(bug), bug.__name__


def test_elbo_checker_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    exercises.check_elbo(reference_elbo)
    torch.testing.assert_close(torch.rand(3), expected)


def test_gaussian_test_model_has_a_learned_variance_and_an_elbo_ignoring_it_fails():
    gaussian = [m for m, _, _ in _elbo_cases() if m.config.likelihood == "gaussian"]
    assert gaussian and all(float(m.decoder.x_logvar.detach().abs().min()) > 0.05 for m in gaussian)

    def unit_variance(model, x, eps):  # a Gaussian decoder with sigma = 1: x_logvar ignored
        q_z = model.encode(x)
        z = lv.reparameterize(q_z.mu, q_z.logvar, eps)
        if model.config.likelihood == "gaussian":
            log_lik = lv.gaussian_log_prob(x, model.decode(z), torch.zeros_like(x))
        else:
            log_lik = model.log_likelihood(x, z)
        return log_lik - lv.gaussian_kl(q_z.mu, q_z.logvar)

    result = exercises.check_elbo(unit_variance)
    assert not result and "gaussian VAE" in result.message


def test_gaussian_kl_changing_its_input_in_place_is_reported():
    def squares_mu_in_place(mu, logvar):
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        mu.pow_(2)
        return kl

    result = exercises.check_gaussian_kl(squares_mu_in_place)
    assert not result and "changed its input mu in place" in result.message
