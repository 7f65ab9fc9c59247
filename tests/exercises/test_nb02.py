"""Notebook 02's checkers pass the package's own functions and hand-written solutions, and fail realistic mistakes."""

import math

import torch

import lecture_vae as lv
from lecture_vae import exercises
from lecture_vae.exercises.nb02 import _naive_cases, reference_naive_log_marginal


def test_reference_naive_estimate_is_iwae_with_the_prior_as_proposal():
    """iwae_bound(q_z=StandardNormal) draws the same z from the same seed: the two must agree exactly."""
    for model, x, z in _naive_cases():
        z = torch.randn(z.shape, generator=torch.Generator().manual_seed(5), dtype=x.dtype)
        prior = lv.StandardNormal(x.shape[0], model.z_dim, dtype=x.dtype)
        iwae = lv.iwae_bound(model, x, z.shape[0], generator=torch.Generator().manual_seed(5), q_z=prior)
        torch.testing.assert_close(reference_naive_log_marginal(model, x, z), iwae)


def test_naive_log_marginal_passes_reference_and_hand_solution():
    assert exercises.check_naive_log_marginal(reference_naive_log_marginal)

    def by_hand(model, x, z):
        mean = z @ model.W.T + model.b  # (K, B, D)
        log_lik = (-0.5 * ((x - mean) / model.sigma) ** 2 - math.log(model.sigma) - 0.5 * math.log(2 * math.pi)).sum(-1)
        return torch.logsumexp(log_lik, 0) - math.log(z.shape[0])

    assert exercises.check_naive_log_marginal(by_hand)


def test_naive_log_marginal_fails_realistic_bugs():
    bugs = {
        "mean of log-likelihoods (Jensen: a lower bound, not the estimate)": lambda m, x, z: m.log_likelihood(
            x, z
        ).mean(0),
        "1/K forgotten": lambda m, x, z: torch.logsumexp(m.log_likelihood(x, z), 0),
        "exp, mean, log (underflows for a sharp decoder)": lambda m, x, z: m.log_likelihood(x, z).exp().mean(0).log(),
        "prior counted twice (log joint instead of log likelihood)": lambda m, x, z: (
            torch.logsumexp(m.log_joint(x, z), 0) - math.log(z.shape[0])
        ),
    }
    for name, bug in bugs.items():
        assert not exercises.check_naive_log_marginal(bug), name


def test_midpoint_log_marginal_passes_reference_and_hand_solution():
    assert exercises.check_midpoint_log_marginal(lambda lj, lo, hi, n: lv.grid_log_marginal(lj, [(lo, hi)], n))

    def by_hand(log_joint, lo, hi, n):
        dz = (hi - lo) / n
        z = lo + dz * (torch.arange(n, dtype=torch.float64) + 0.5)
        return torch.logsumexp(log_joint(z[:, None]), 0) + math.log(dz)

    assert exercises.check_midpoint_log_marginal(by_hand)


def test_midpoint_log_marginal_fails_realistic_bugs():
    def endpoints(log_joint, lo, hi, n):  # linspace includes both ends: n points, n - 1 cells
        z = torch.linspace(lo, hi, n, dtype=torch.float64)
        return torch.logsumexp(log_joint(z[:, None]), 0) + math.log((hi - lo) / n)

    def no_cell_width(log_joint, lo, hi, n):
        z = lo + (hi - lo) * (torch.arange(n, dtype=torch.float64) + 0.5) / n
        return torch.logsumexp(log_joint(z[:, None]), 0)

    def mean_not_sum(log_joint, lo, hi, n):
        z = lo + (hi - lo) * (torch.arange(n, dtype=torch.float64) + 0.5) / n
        return torch.logsumexp(log_joint(z[:, None]), 0) - math.log(n)

    for bug in (endpoints, no_cell_width, mean_not_sum):
        assert not exercises.check_midpoint_log_marginal(bug), bug.__name__
