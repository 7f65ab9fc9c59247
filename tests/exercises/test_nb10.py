"""Notebook 10's checkers pass the reference solutions and fail realistic mistakes."""

from __future__ import annotations

import torch

from lecture_vae import exercises


def test_kl_normal_1d_and_factor_rotation_checkers():
    def kl(m_q, s_q, m_p, s_p):
        return torch.log(s_p / s_q) + (s_q**2 + (m_q - m_p) ** 2) / (2 * s_p**2) - 0.5

    def kl_swapped(m_q, s_q, m_p, s_p):  # KL(p || q): the arguments' roles exchanged
        return kl(m_p, s_p, m_q, s_q)

    def kl_variance_for_std(m_q, s_q, m_p, s_p):  # s used as a variance
        return 0.5 * torch.log(s_p / s_q) + (s_q + (m_q - m_p) ** 2) / (2 * s_p) - 0.5

    assert exercises.check_kl_normal_1d(kl)
    assert not exercises.check_kl_normal_1d(kl_swapped)
    assert not exercises.check_kl_normal_1d(kl_variance_for_std)

    def rotation(a_chol, a_eigh):
        return torch.linalg.solve_triangular(a_chol, a_eigh, upper=False)

    assert exercises.check_factor_rotation(rotation)
    assert exercises.check_factor_rotation(lambda a, b: torch.linalg.inv(a) @ b)
    assert not exercises.check_factor_rotation(lambda a, b: b @ torch.linalg.inv(a))  # wrong side
    assert not exercises.check_factor_rotation(lambda a, b: a.T @ b)  # transpose is not the inverse
