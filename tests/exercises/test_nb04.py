"""Notebook 04's checkers pass the package's own functions and fail realistic mistakes."""

import math

import torch
import torch.nn.functional as F

import lecture_vae as lv
from lecture_vae import exercises
from lecture_vae.model import Encoder

LOG_2PI = math.log(2 * math.pi)


def test_gaussian_decoder_log_prob_passes_reference_and_a_handwritten_solution():
    assert exercises.check_gaussian_decoder_log_prob(lv.gaussian_log_prob)

    def by_hand(x, mean, logvar):
        return -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 / logvar.exp()).sum(-1)

    assert exercises.check_gaussian_decoder_log_prob(by_hand)
    # an independent oracle agrees too
    assert exercises.check_gaussian_decoder_log_prob(
        lambda x, m, lv_: torch.distributions.Normal(m, (0.5 * lv_).exp()).log_prob(x).sum(-1)
    )


def test_gaussian_decoder_log_prob_fails_std_used_as_variance():
    def bug(x, mean, logvar):
        return -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 / (0.5 * logvar).exp()).sum(-1)

    assert not exercises.check_gaussian_decoder_log_prob(bug)


def test_gaussian_decoder_log_prob_fails_missing_constant_and_missing_sum():
    assert not exercises.check_gaussian_decoder_log_prob(
        lambda x, m, lv_: -0.5 * (lv_ + (x - m) ** 2 / lv_.exp()).sum(-1)
    )
    assert not exercises.check_gaussian_decoder_log_prob(
        lambda x, m, lv_: -0.5 * (LOG_2PI + lv_ + (x - m) ** 2 / lv_.exp())
    )
    # the squared error alone is a Gaussian log-likelihood only up to constants and only for sigma = 1
    assert not exercises.check_gaussian_decoder_log_prob(
        lambda x, m, lv_: -F.mse_loss(m, x.expand_as(m), reduction="none").sum(-1)
    )


def _by_hand_tril(h, z_dim):
    L = z_dim
    tril = torch.diag_embed(torch.exp(0.5 * h[:, L : 2 * L]))
    rows, cols = torch.tril_indices(L, L, offset=-1)
    tril[:, rows, cols] = h[:, 2 * L :]
    return tril


def test_encoder_scale_tril_passes_package_encoder_and_handwritten_solution():
    def via_package(h, z_dim):
        enc = Encoder(h.shape[-1], z_dim, hidden=(), posterior="full").double()
        with torch.no_grad():
            enc.net[0].weight.copy_(torch.eye(h.shape[-1], dtype=h.dtype))
            enc.net[0].bias.zero_()
        return enc(h).scale_tril.detach()

    assert exercises.check_encoder_scale_tril(via_package)
    assert exercises.check_encoder_scale_tril(_by_hand_tril)


def test_encoder_scale_tril_fails_variance_as_std_and_wrong_triangle():
    def variance_on_diagonal(h, z_dim):  # exp(logvar) is the variance, the factor needs its square root
        L = z_dim
        tril = torch.diag_embed(torch.exp(h[:, L : 2 * L]))
        rows, cols = torch.tril_indices(L, L, offset=-1)
        tril[:, rows, cols] = h[:, 2 * L :]
        return tril

    def upper_triangle(h, z_dim):
        return _by_hand_tril(h, z_dim).mT

    def forgot_off_diagonal(h, z_dim):
        return torch.diag_embed(torch.exp(0.5 * h[:, z_dim : 2 * z_dim]))

    for bug in (variance_on_diagonal, upper_triangle, forgot_off_diagonal):
        assert not exercises.check_encoder_scale_tril(bug), bug.__name__


def test_checkers_report_not_implemented_without_raising():
    def stub(*args):
        raise NotImplementedError

    assert not exercises.check_gaussian_decoder_log_prob(stub)
    assert not exercises.check_encoder_scale_tril(stub)
