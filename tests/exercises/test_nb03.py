"""Notebook 03's checkers pass the package's own functions and hand-written solutions, and fail realistic mistakes."""

import torch

import lecture_vae as lv
from lecture_vae import exercises, toys
from lecture_vae.exercises.nb03 import _bayes_cases, reference_bayes_log_marginal


def test_reference_bayes_identity_gives_the_exact_log_marginal():
    for model, x, z in _bayes_cases():
        out = reference_bayes_log_marginal(model, x, z)
        torch.testing.assert_close(out, model.log_marginal(x).expand_as(out))


def test_bayes_log_marginal_passes_reference_and_hand_solution():
    assert exercises.check_bayes_log_marginal(reference_bayes_log_marginal)

    def by_hand(model, x, z):
        return model.log_likelihood(x, z) + lv.standard_normal_log_prob(z) - model.log_posterior(z, x)

    assert exercises.check_bayes_log_marginal(by_hand)


def test_bayes_log_marginal_fails_realistic_bugs():
    bugs = {
        "posterior added": lambda m, x, z: m.log_joint(x, z) + m.log_posterior(z, x),
        "prior forgotten": lambda m, x, z: m.log_likelihood(x, z) - m.log_posterior(z, x),
        "prior in place of the posterior": lambda m, x, z: m.log_likelihood(x, z),
        "averaged over z (right value, wrong shape)": lambda m, x, z: reference_bayes_log_marginal(m, x, z).mean(0),
    }
    for name, bug in bugs.items():
        assert not exercises.check_bayes_log_marginal(bug), name


def test_moment_match_passes_reference_and_hand_solution():
    assert exercises.check_moment_match(toys.moment_match)

    def by_hand(z, log_prob):
        w = (log_prob - log_prob.logsumexp(0)).exp()
        mean = (w[:, None] * z).sum(0)
        return mean, torch.einsum("n,ni,nj->ij", w, z - mean, z - mean)

    assert exercises.check_moment_match(by_hand)


def test_moment_match_fails_realistic_bugs():
    def unnormalized(z, log_prob):  # exp(log_prob) as weights, not summing to 1
        w = log_prob.exp()
        mean = w @ z
        return mean, (w[:, None] * (z - mean)).T @ (z - mean)

    def second_moment(z, log_prob):  # E[z z^T] instead of the covariance
        w = torch.softmax(log_prob, 0)
        return w @ z, (w[:, None] * z).T @ z

    def unweighted(z, log_prob):  # the grid points' own mean and covariance
        return z.mean(0), torch.cov(z.T, correction=0)

    for bug in (unnormalized, second_moment, unweighted):
        assert not exercises.check_moment_match(bug), bug.__name__


def test_moment_match_messages_use_the_users_shapes():
    def dict_result(z, log_prob):
        w = torch.softmax(log_prob, 0)
        return {"mean": w @ z, "cov": torch.cov(z.T, aweights=w, correction=0)}

    assert exercises.check_moment_match(dict_result).message == (
        "✗ moment_match: case 1 (1600 grid points) returned a dict; expected a tuple of 2 tensors "
        "(mean of shape (2,), cov of shape (2, 2))."
    )

    def variances_only(z, log_prob):  # the diagonal of the covariance, not the matrix
        mean, cov = toys.moment_match(z, log_prob)
        return mean, cov.diagonal()

    assert exercises.check_moment_match(variances_only).message.endswith(
        "returned cov of shape (2,); expected a tuple of 2 tensors (mean of shape (2,), cov of shape (2, 2))."
    )


def test_moment_match_in_float32_is_told_to_compute_in_float64():
    def single(z, log_prob):
        mean, cov = toys.moment_match(z.float(), log_prob.float())
        return mean, cov

    result = exercises.check_moment_match(single)
    assert not result and "compute in float64" in result.message
