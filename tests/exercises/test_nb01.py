"""Notebook 01's checkers pass the package's own functions and hand-written solutions, and fail realistic mistakes."""

import math

import torch

from lecture_vae import exercises, toys


def test_mixture_log_prob_passes_reference_and_torch_distributions():
    assert exercises.check_mixture_log_prob(lambda x, w, m, s: toys.GaussianMixture1D(w, m, s).log_prob(x))

    def oracle(x, w, m, s):
        return torch.distributions.MixtureSameFamily(
            torch.distributions.Categorical(probs=w), torch.distributions.Normal(m, s)
        ).log_prob(x)

    assert exercises.check_mixture_log_prob(oracle)


def _log_normal(x, m, s):
    return -0.5 * ((x[:, None] - m) / s) ** 2 - torch.log(s) - 0.5 * math.log(2 * math.pi)


def test_mixture_log_prob_fails_realistic_bugs():
    bugs = {
        "density summed, then log (underflows in the tails)": lambda x, w, m, s: torch.log(
            (w * _log_normal(x, m, s).exp()).sum(-1)
        ),
        "weights left out": lambda x, w, m, s: torch.logsumexp(_log_normal(x, m, s), -1),
        "variance used as std": lambda x, w, m, s: torch.logsumexp(w.log() + _log_normal(x, m, s**2), -1),
        "log of a weighted sum of log-densities": lambda x, w, m, s: (w * _log_normal(x, m, s)).sum(-1),
    }
    for name, bug in bugs.items():
        assert not exercises.check_mixture_log_prob(bug), name


def _log_kernels(x, data, h):
    return -0.5 * ((x[:, None] - data[None, :]) / h) ** 2 - math.log(h) - 0.5 * math.log(2 * math.pi)


def test_kde_log_likelihood_passes_reference_and_hand_solution():
    assert exercises.check_kde_log_likelihood(lambda x, d, h: toys.kde_log_prob(x, d, h).mean())

    def by_hand(x, data, h):
        return (torch.logsumexp(_log_kernels(x, data, h), 1) - math.log(len(data))).mean()

    assert exercises.check_kde_log_likelihood(by_hand)


def test_kde_log_likelihood_fails_realistic_bugs():
    bugs = {
        "log-sum, the 1/N forgotten": lambda x, d, h: torch.logsumexp(_log_kernels(x, d, h), 1).mean(),
        "bandwidth used as the variance": lambda x, d, h: (
            torch.logsumexp(_log_kernels(x, d, math.sqrt(h)), 1) - math.log(len(d))
        ).mean(),
        "exp then log (underflows for a narrow kernel)": lambda x, d, h: torch.log(
            _log_kernels(x, d, h).exp().mean(1)
        ).mean(),
        "sum over x instead of mean": lambda x, d, h: (
            torch.logsumexp(_log_kernels(x, d, h), 1) - math.log(len(d))
        ).sum(),
    }
    for name, bug in bugs.items():
        assert not exercises.check_kde_log_likelihood(bug), name
