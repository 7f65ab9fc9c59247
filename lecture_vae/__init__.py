"""lecture_vae: the mathematics of the variational autoencoder lecture (S1..S8) as tested PyTorch code.

Nothing runs at import time. The main names are re-exported here; see each module for the rest.
"""

from .distributions import (
    DiagonalGaussian,
    FullGaussian,
    StandardNormal,
    bernoulli_log_prob,
    diag_gaussian_log_prob,
    gaussian_kl,
    gaussian_kl_full,
    gaussian_log_prob,
    mvn_log_prob,
    standard_normal_log_prob,
)
from .elbo import ELBOTerms, elbo, iwae_bound, log_importance_weights, log_marginal_estimate
from .model import VAE, Decoder, Encoder, VAEConfig
from .reparam import (
    GradEstimate,
    pathwise_grad,
    reparameterize,
    reparameterize_full,
    scale_from_cholesky,
    scale_from_eigh,
    score_function_grad,
)
from .tractable import LinearGaussian, grid_log_marginal, grid_posterior, log_joint_fn, make_grid
from .utils import pick_device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "VAE",
    "DiagonalGaussian",
    "Decoder",
    "ELBOTerms",
    "Encoder",
    "FullGaussian",
    "GradEstimate",
    "LinearGaussian",
    "StandardNormal",
    "VAEConfig",
    "bernoulli_log_prob",
    "diag_gaussian_log_prob",
    "elbo",
    "gaussian_kl",
    "gaussian_kl_full",
    "gaussian_log_prob",
    "grid_log_marginal",
    "grid_posterior",
    "iwae_bound",
    "log_importance_weights",
    "log_joint_fn",
    "log_marginal_estimate",
    "make_grid",
    "mvn_log_prob",
    "pathwise_grad",
    "pick_device",
    "reparameterize",
    "reparameterize_full",
    "scale_from_cholesky",
    "scale_from_eigh",
    "score_function_grad",
    "seed_everything",
    "standard_normal_log_prob",
]
