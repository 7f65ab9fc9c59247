"""Checked exercises: ``check_<name>(student_function)`` runs a student's function on fixed test cases
against a reference implementation and prints a clear pass, or what differed and by how much.

The public path of every checker is ``lecture_vae.exercises.check_<name>``. Each notebook's checkers,
with the reference solutions they compare against (``reference_<name>``), live in a module of this
package: ``nb05.py`` for notebook 05, and so on.
"""

from __future__ import annotations

from ._core import ExerciseNotDone, ExerciseResult, check_function, needs_exercise
from .nb01 import check_kde_log_likelihood, check_mixture_log_prob
from .nb02 import check_midpoint_log_marginal, check_naive_log_marginal
from .nb03 import check_bayes_log_marginal, check_moment_match
from .nb04 import check_encoder_scale_tril, check_gaussian_decoder_log_prob
from .nb05 import check_elbo, check_gaussian_kl
from .nb06 import check_scale_from_eigh, check_score_function_grad
from .nb07 import check_latent_interpolation, check_my_vae, check_negative_elbo_loss, check_training_loop
from .nb08 import check_active_units, check_free_bits_kl, check_iwae_bound
from .nb09 import check_bits_per_dim, check_standard_error
from .nb10 import check_factor_rotation, check_kl_normal_1d


def available() -> list[str]:
    """The names of every ``check_*`` function, across all notebooks, sorted."""
    return sorted(n for n in __all__ if n.startswith("check_") and n != "check_function")


__all__ = [
    "ExerciseNotDone",
    "ExerciseResult",
    "available",
    "check_active_units",
    "check_bayes_log_marginal",
    "check_bits_per_dim",
    "check_elbo",
    "check_encoder_scale_tril",
    "check_factor_rotation",
    "check_free_bits_kl",
    "check_function",
    "check_gaussian_decoder_log_prob",
    "check_gaussian_kl",
    "check_iwae_bound",
    "check_kde_log_likelihood",
    "check_kl_normal_1d",
    "check_latent_interpolation",
    "check_midpoint_log_marginal",
    "check_mixture_log_prob",
    "check_moment_match",
    "check_my_vae",
    "check_naive_log_marginal",
    "check_negative_elbo_loss",
    "check_scale_from_eigh",
    "check_score_function_grad",
    "check_standard_error",
    "check_training_loop",
    "needs_exercise",
]
