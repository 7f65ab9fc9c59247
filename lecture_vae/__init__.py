"""lecture_vae: the mathematics of the variational autoencoder lecture (S1..S8) as tested PyTorch code.

The top level is the lecture, in its order; each step names the module that implements it and the
notebook that derives it (``LECTURE.md`` at the repository root summarizes the steps).

====  ==========================================================  ====================  ===========================
step  the lecture                                                 module                notebook
====  ==========================================================  ====================  ===========================
S1    maximize E_{x~D}[log p_theta(x)] from samples only          ``toys``              01_generative_models
S2    p_theta(x) = int p(z) p_theta(x|z) dz is intractable        ``tractable``         02_intractable_marginal
S3    ... even with Gaussians (linear: closed form; else not)     ``tractable``         02_intractable_marginal
S4    Bayes' rule needs p_theta(z|x), just as unknown             ``tractable``, toys   03_bayes_rule
S5    encoder q_phi(z|x), decoder p_theta(x|z), the VAE           ``model``             04_encoder_decoder
S6    the ELBO, a lower bound of log p_theta(x)                   ``bounds``            05_elbo
S7    its two terms, and the gap KL(q || p(z|x))                  ``bounds``, ``distributions``  05_elbo
S8    reparameterization: z = mu + A eps, A = L or Q D^1/2        ``reparam``           06_reparameterization
--    training, evaluation, a paper-grade MNIST model             ``evaluation``,       07_training .. 09_mnist
                                                                  ``training``
====  ==========================================================  ====================  ===========================

``distributions`` holds the densities, closed-form KLs and the q objects every step uses; ``utils``
seeding and devices. The wings sit in subpackages and only *use* the lecture: ``training`` (data,
``fit``, checkpoints, CLI), ``figures`` (matplotlib), ``classroom`` (explorers, widgets, student
copies) and ``exercises`` (checked exercises per notebook).

Nothing runs at import time, and ``import lecture_vae`` never imports matplotlib or ipywidgets. The
names below are the lecture's public API (``lv.elbo``, ``lv.VAE`` ...).
"""

from ._checks import NonFiniteError
from .bounds import (
    ELBOTerms,
    LikelihoodModel,
    ModelLike,
    elbo,
    iwae_bound,
    log_importance_weights,
    log_marginal_estimate,
)
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

__version__ = "0.2.0"

__all__ = [
    "VAE",
    "DiagonalGaussian",
    "Decoder",
    "ELBOTerms",
    "Encoder",
    "FullGaussian",
    "GradEstimate",
    "LikelihoodModel",
    "LinearGaussian",
    "ModelLike",
    "NonFiniteError",
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
