"""Bad input to every public function: a ValueError/TypeError that names the argument, says what was
expected and what was given, never a silently wrong number.

Each case is a call and the strings its message must contain: the argument's name and the offending
shape, dtype or value. Tensors and models are built inside the calls, so the cases follow whatever
default dtype the test session runs with.
"""

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lecture_vae as lv
from lecture_vae import model as model_mod

B, L, D = 3, 2, 5
HYP = settings(max_examples=50, deadline=None)


def t(*shape, fill=0.0):
    return torch.full(shape, fill)


def with_value(x, index, value):
    x = x.clone()
    x[index] = value
    return x


def tril(b=B, l=L):
    return torch.eye(l).expand(b, l, l).clone()


def vae(**kw):
    return lv.VAE(D, L, hidden=(4,), **kw)


def lg():
    return lv.LinearGaussian.random(D, L, generator=torch.Generator().manual_seed(0))


def x64(*shape, fill=0.5):
    return torch.full(shape, fill, dtype=torch.float64)


def other_float(dtype):
    return torch.float64 if dtype == torch.float32 else torch.float32


def check_raises(call, name, *needles, exc=(ValueError, TypeError)):
    """``call()`` raises ``exc``; its message names ``name`` (as a word) and contains every needle."""
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?![\w(])", msg), f"{name!r} not named in message: {msg}"
    for needle in needles:
        assert needle in msg, f"{needle!r} not in message: {msg}"
    return msg


BAD_TYPES = [
    ([[0.0, 0.0]], "list"),
    (None, "NoneType"),
    (np.zeros((B, L)), "ndarray"),
    (torch.zeros(B, L, dtype=torch.int64), "torch.int64"),
    (1.5, "float"),
]


def _p(fn, *needles, id):
    return pytest.param(fn, needles, id=id)


# fmt: off
CASES = [
    # --- distributions.gaussian_kl(mu, logvar) ---------------------------------------------------
    _p(lambda: lv.gaussian_kl(t(B, L), t(B + 1, L)), "mu", "logvar", "(3, 2)", "(4, 2)", id="kl-batch-mismatch"),
    _p(lambda: lv.gaussian_kl(t(B, 1), t(B, L)), "mu", "logvar", "(3, 1)", "(3, 2)", id="kl-latent-mismatch"),
    _p(lambda: lv.gaussian_kl(t(B, L), t(B, 1)), "logvar", "(3, 1)", id="kl-logvar-latent-1"),
    _p(lambda: lv.gaussian_kl(t(), t(B, L)), "mu", "()", id="kl-mu-0d"),
    _p(lambda: lv.gaussian_kl(t(0, L), t(0, L)), "mu", "(0, 2)", "empty", id="kl-empty-batch"),
    _p(lambda: lv.gaussian_kl(with_value(t(B, L), (1, 0), math.nan), t(B, L)), "mu", "finite", "1 NaN", id="kl-nan"),
    _p(lambda: lv.gaussian_kl(t(B, L), with_value(t(B, L), (0, 1), math.inf)), "logvar", "finite", id="kl-inf"),
    # --- gaussian_kl_full(mu, scale_tril) ---------------------------------------------------------
    _p(lambda: lv.gaussian_kl_full(t(B, L), with_value(tril(), (0, 0, 1), 0.5)), "scale_tril", "lower triangular",
       "0.5", id="klfull-upper-part"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), with_value(tril(), (1, 1, 1), -0.25)), "scale_tril", "positive diagonal",
       "-0.25", id="klfull-negative-diag"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), with_value(tril(), (1, 0, 0), 0.0)), "scale_tril", "positive diagonal",
       "got minimum diagonal entry 0", id="klfull-zero-diag"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), t(B, L, L + 1)), "scale_tril", "square", "(3, 2, 3)", id="klfull-nonsq"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), t(L)), "scale_tril", "(2,)", id="klfull-1d"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), tril(B + 1)), "scale_tril", "(4, 2, 2)", "(3, 2)", id="klfull-batch"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), tril(B, L + 1)), "scale_tril", "(3, 3, 3)", "(3, 2)", id="klfull-latent"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), with_value(tril(), (0, 1, 0), math.nan)), "scale_tril", "finite",
       id="klfull-nan"),
    _p(lambda: lv.gaussian_kl_full(t(B, L), tril().long()), "scale_tril", "torch.int64", id="klfull-int"),
    # --- diag_gaussian_log_prob(z, mu, logvar) ----------------------------------------------------
    _p(lambda: lv.diag_gaussian_log_prob(t(B, 1), t(B, L), t(B, L)), "z", "mu", "(3, 1)", id="diaglp-z-latent-1"),
    _p(lambda: lv.diag_gaussian_log_prob(t(7, B, L + 1), t(B, L), t(B, L)), "z", "(7, 3, 3)", id="diaglp-z-latent"),
    _p(lambda: lv.diag_gaussian_log_prob(t(7, B + 1, L), t(B, L), t(B, L)), "z", "(7, 4, 2)", "(3, 2)",
       id="diaglp-batch"),
    _p(lambda: lv.diag_gaussian_log_prob(t(B, L), t(B, L), t(B, 1)), "logvar", "(3, 1)", id="diaglp-logvar-1"),
    _p(lambda: lv.diag_gaussian_log_prob(t(B, L).int(), t(B, L), t(B, L)), "z", "torch.int32", id="diaglp-int"),
    _p(lambda: lv.diag_gaussian_log_prob(t(B, L), t(B, L), with_value(t(B, L), (2, 1), -math.inf)), "logvar",
       "finite", id="diaglp-inf"),
    # --- gaussian_log_prob(x, mean, logvar) -------------------------------------------------------
    _p(lambda: lv.gaussian_log_prob(t(B, D), [[0.0] * D] * B, 0.0), "mean", "list", id="glp-mean-list"),
    _p(lambda: lv.gaussian_log_prob(None, t(B, D), 0.0), "x", "NoneType", id="glp-x-none"),
    _p(lambda: lv.gaussian_log_prob(t(B, D), t(B, D), None), "logvar", "NoneType", id="glp-logvar-none"),
    _p(lambda: lv.gaussian_log_prob(t(B, D), t(B, D), "0.5"), "logvar", "'0.5'", id="glp-logvar-str"),
    _p(lambda: lv.gaussian_log_prob(t(B, D), t(B, D), math.nan), "logvar", "finite", id="glp-logvar-nan"),
    _p(lambda: lv.gaussian_log_prob(t(B, D), t(B, D), t(D + 1)), "logvar", "(6,)", "(3, 5)", id="glp-logvar-shape"),
    _p(lambda: lv.gaussian_log_prob(t(B, 1), t(B, D), 0.0), "x", "mean", "(3, 1)", id="glp-x-latent-1"),
    # --- mvn_log_prob(z, mu, scale_tril) ----------------------------------------------------------
    _p(lambda: lv.mvn_log_prob(t(B, L + 1), t(B, L), tril()), "z", "mu", "(3, 3)", id="mvn-z-latent"),
    _p(lambda: lv.mvn_log_prob(t(B + 1, L), t(B, L), tril()), "z", "(4, 2)", "(3, 2)", id="mvn-z-batch"),
    _p(lambda: lv.mvn_log_prob(t(B, 1), t(B, L), tril()), "z", "(3, 1)", id="mvn-z-latent-1"),
    _p(lambda: lv.mvn_log_prob(t(B, L), t(B, L), with_value(tril(), (2, 0, 1), 1e-3)), "scale_tril",
       "lower triangular", "0.001", id="mvn-upper"),
    _p(lambda: lv.mvn_log_prob(t(B, L), t(B, L), -tril()), "scale_tril", "positive diagonal", "-1", id="mvn-neg-diag"),
    _p(lambda: lv.mvn_log_prob(t(B, L), t(B, L), tril(2)), "scale_tril", "(2, 2, 2)", id="mvn-tril-batch"),
    # --- bernoulli_log_prob(x, logits) ------------------------------------------------------------
    _p(lambda: lv.bernoulli_log_prob(with_value(t(B, D), (0, 0), 1.5), t(B, D)), "x", "[0, 1]", "1.5",
       id="bern-x-above-1"),
    _p(lambda: lv.bernoulli_log_prob(with_value(t(B, D), (1, 2), -0.1), t(B, D)), "x", "[0, 1]", "-0.1",
       id="bern-x-below-0"),
    _p(lambda: lv.bernoulli_log_prob(t(B, D, fill=255.0), t(B, D)), "x", "255", id="bern-x-uint8-range"),
    _p(lambda: lv.bernoulli_log_prob(t(B, D).to(torch.uint8), t(B, D)), "x", "torch.uint8", id="bern-x-uint8"),
    _p(lambda: lv.bernoulli_log_prob(t(B, 1), t(B, D)), "x", "logits", "(3, 1)", id="bern-x-latent-1"),
    _p(lambda: lv.bernoulli_log_prob(t(B, D), t(B + 1, D)), "x", "logits", "(4, 5)", id="bern-batch"),
    _p(lambda: lv.bernoulli_log_prob(t(B, D), with_value(t(B, D), (0, 0), math.nan)), "logits", "finite",
       id="bern-logits-nan"),
    _p(lambda: lv.bernoulli_log_prob(t(0, D), t(0, D)), "x", "empty", id="bern-empty"),
    # --- standard_normal_log_prob(z) and the posterior objects -----------------------------------
    _p(lambda: lv.standard_normal_log_prob(t(0, L)), "z", "(0, 2)", id="stdn-empty"),
    _p(lambda: lv.standard_normal_log_prob(with_value(t(B, L), (0, 0), math.inf)), "z", "finite", id="stdn-inf"),
    _p(lambda: lv.DiagonalGaussian(t(B, L), t(B, L)).rsample(0), "n", "0", id="diag-rsample-n0"),
    _p(lambda: lv.DiagonalGaussian(t(B, L), t(B, L)).rsample(2.5), "n", "2.5", id="diag-rsample-float"),
    _p(lambda: lv.FullGaussian(t(B, L), tril()).rsample(-1), "n", "-1", id="full-rsample-neg"),
    _p(lambda: lv.DiagonalGaussian(t(B, L), t(B, L)).rsample(generator=0), "generator", "int 0",
       id="diag-rsample-gen-int"),
    _p(lambda: lv.DiagonalGaussian(t(B, L), t(B, 1)).kl(), "logvar", "(3, 1)", id="diag-kl-shape"),
    _p(lambda: lv.FullGaussian(t(B, L), with_value(tril(), (0, 0, 1), 2.0)).log_prob(t(B, L)), "scale_tril",
       "2", id="full-logprob-upper"),
    _p(lambda: lv.StandardNormal(0, L), "batch", "0", id="stdnormal-batch0"),
    _p(lambda: lv.StandardNormal(B, 2.0), "dim", "2.0", id="stdnormal-dim-float"),
    _p(lambda: lv.StandardNormal(B, L).rsample(0), "n", "0", id="stdnormal-n0"),
    # --- reparam -----------------------------------------------------------------------------------
    _p(lambda: lv.reparameterize(t(B, L), t(B, L), t(B, L + 1)), "eps", "(3, 3)", id="rep-eps-latent"),
    _p(lambda: lv.reparameterize(t(B, L), t(B, L), t(7, B + 1, L)), "mu", "eps", "(7, 4, 2)", id="rep-eps-batch"),
    _p(lambda: lv.reparameterize(t(B, L), t(B, L), t(B, L).long()), "eps", "torch.int64", id="rep-eps-int"),
    _p(lambda: lv.reparameterize(t(B, L), t(B, L), with_value(t(B, L), (0, 0), math.nan)), "eps", "finite",
       id="rep-eps-nan"),
    _p(lambda: lv.reparameterize(t(B, 1), t(B, L)), "mu", "logvar", "(3, 1)", id="rep-mu-latent-1"),
    _p(lambda: lv.reparameterize(t(B, L), t(B + 1, L)), "logvar", "(4, 2)", id="rep-logvar-batch"),
    _p(lambda: lv.reparameterize(t(B, L), t(B, L), generator=42), "generator", "int 42", id="rep-generator-int"),
    _p(lambda: lv.reparameterize(t(0, L), t(0, L)), "mu", "(0, 2)", id="rep-empty"),
    _p(lambda: lv.scale_from_cholesky(torch.tensor([[1.0, 0.5], [0.0, 1.0]])), "sigma", "symmetric", "0.5",
       id="chol-nonsymmetric"),
    _p(lambda: lv.scale_from_eigh(torch.tensor([[1.0, 0.5], [0.0, 1.0]])), "sigma", "symmetric", "0.5",
       id="eigh-nonsymmetric"),
    _p(lambda: lv.scale_from_cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]])), "sigma", "positive definite", "-1",
       id="chol-indefinite"),
    _p(lambda: lv.scale_from_eigh(torch.tensor([[1.0, 2.0], [2.0, 1.0]])), "sigma", "positive definite", "-1",
       id="eigh-indefinite"),
    _p(lambda: lv.scale_from_cholesky(torch.tensor([[1.0, 1.0], [1.0, 1.0]])), "sigma", "positive definite",
       "smallest eigenvalue", id="chol-singular"),
    _p(lambda: lv.scale_from_eigh(torch.tensor([[1.0, 1.0], [1.0, 1.0]])), "sigma", "positive definite",
       "smallest eigenvalue", id="eigh-singular"),
    _p(lambda: lv.scale_from_cholesky(-torch.eye(2)), "sigma", "positive definite", "-1", id="chol-negdef"),
    _p(lambda: lv.scale_from_cholesky(torch.zeros(3, 3)), "sigma", "positive definite", "0", id="chol-zero"),
    _p(lambda: lv.scale_from_cholesky(t(2, 3)), "sigma", "square", "(2, 3)", id="chol-nonsquare"),
    _p(lambda: lv.scale_from_eigh(t(3)), "sigma", "(3,)", id="eigh-1d"),
    _p(lambda: lv.scale_from_eigh(torch.eye(2, dtype=torch.int64)), "sigma", "torch.int64", id="eigh-int"),
    _p(lambda: lv.scale_from_cholesky(with_value(torch.eye(2), (0, 1), math.nan)), "sigma", "finite",
       id="chol-nan"),
    _p(lambda: lv.scale_from_cholesky(t(0, 0)), "sigma", "(0, 0)", id="chol-empty"),
    _p(lambda: lv.reparameterize_full(t(B, L), tril(B + 1)), "scale", "(4, 2, 2)", "(3, 2)", id="repfull-batch"),
    _p(lambda: lv.reparameterize_full(t(B, L), tril(B, L + 1)), "scale", "(3, 3, 3)", id="repfull-latent"),
    _p(lambda: lv.reparameterize_full(t(B, L), t(B, L, L + 1)), "scale", "square", id="repfull-nonsquare"),
    _p(lambda: lv.reparameterize_full(t(B, L), tril(), t(5, B + 1, L)), "eps", "(5, 4, 2)", id="repfull-eps-batch"),
    _p(lambda: lv.reparameterize_full(t(B, L), with_value(tril(), (0, 0, 0), math.inf)), "scale", "finite",
       id="repfull-inf"),
    _p(lambda: lv.reparameterize_full(t(B, L).long(), tril()), "mu", "torch.int64", id="repfull-mu-int"),
    _p(lambda: lv.reparameterize_full(t(B, L), tril(), generator="seed"), "generator", "'seed'",
       id="repfull-generator-str"),
    _p(lambda: lv.score_function_grad(3.0, t(L), t(L), 10), "f", "float 3.0", id="sf-f-not-callable"),
    _p(lambda: lv.pathwise_grad(None, t(L), t(L), 10), "f", "NoneType", id="pw-f-none"),
    _p(lambda: lv.score_function_grad(lambda z: z.sum(), t(L), t(L), 10), "f", "(10,)", "shape ()", id="sf-f-sum"),
    _p(lambda: lv.pathwise_grad(lambda z: z**2, t(L), t(L), 10), "f", "(10,)", "(10, 2)", id="pw-f-keeps-L"),
    _p(lambda: lv.score_function_grad(lambda z: z.sum(-1).tolist(), t(L), t(L), 4), "f", "list", id="sf-f-list"),
    _p(lambda: lv.pathwise_grad(lambda z: z.sum(-1), t(B, L), t(B, L), 10), "mu", "(L,)", "(3, 2)", id="pw-mu-2d"),
    _p(lambda: lv.score_function_grad(lambda z: z.sum(-1), t(L), t(L + 1), 10), "logvar", "(3,)", id="sf-mismatch"),
    _p(lambda: lv.pathwise_grad(lambda z: z.sum(-1), t(L), t(L), 0), "n_samples", "0", id="pw-n0"),
    _p(lambda: lv.pathwise_grad(lambda z: z.sum(-1), t(L), t(L), 1e3), "n_samples", "1000.0", id="pw-n-float"),
    _p(lambda: lv.score_function_grad(lambda z: z.sum(-1), t(L), t(L), True), "n_samples", "True", id="sf-n-bool"),
    _p(lambda: lv.score_function_grad(lambda z: z.sum(-1), with_value(t(L), 0, math.nan), t(L), 5), "mu", "finite",
       id="sf-mu-nan"),
    _p(lambda: lv.pathwise_grad(lambda z: z.sum(-1), t(L), t(L), 5, generator=1), "generator", "int 1",
       id="pw-generator-int"),
    # --- model constructors --------------------------------------------------------------------------
    _p(lambda: lv.VAE(0, L), "x_dim", "0", id="vae-xdim-0"),
    _p(lambda: lv.VAE(D, -1), "z_dim", "-1", id="vae-zdim-neg"),
    _p(lambda: lv.VAE(2.5, L), "x_dim", "2.5", id="vae-xdim-float"),
    _p(lambda: lv.VAE("784", L), "x_dim", "'784'", id="vae-xdim-str"),
    _p(lambda: lv.VAE(D, L, hidden=256), "hidden", "int 256", id="vae-hidden-int"),
    _p(lambda: lv.VAE(D, L, hidden=(0,)), "hidden", "[0]", id="vae-hidden-0"),
    _p(lambda: lv.VAE(D, L, hidden="256"), "hidden", "'256'", id="vae-hidden-str"),
    _p(lambda: lv.VAE(D, L, likelihood="normal"), "likelihood", "'normal'", "bernoulli", id="vae-likelihood"),
    _p(lambda: lv.VAE(D, L, posterior="diag"), "posterior", "'diag'", "full", id="vae-posterior"),
    _p(lambda: lv.VAE(D, L, activation="gelu"), "activation", "'gelu'", "relu", id="vae-activation"),
    _p(lambda: lv.VAE.from_config("vae.pt"), "config", "'vae.pt'", id="vae-from-config-str"),
    _p(lambda: lv.VAE.from_config({"x_dim": D, "z_dim": 0}), "z_dim", "0", id="vae-from-config-z0"),
    _p(lambda: lv.Encoder(0, L), "x_dim", "0", id="enc-xdim-0"),
    _p(lambda: lv.Encoder(D, 0.5), "z_dim", "0.5", id="enc-zdim-float"),
    _p(lambda: lv.Encoder(D, L, (8, -2)), "hidden", "[8, -2]", id="enc-hidden-neg"),
    _p(lambda: lv.Encoder(D, L, posterior="cholesky"), "posterior", "'cholesky'", id="enc-posterior"),
    _p(lambda: lv.Encoder(D, L, activation="gelu"), "activation", "'gelu'", id="enc-activation"),
    _p(lambda: lv.Decoder(L, D, likelihood="poisson"), "likelihood", "'poisson'", "gaussian", id="dec-likelihood"),
    _p(lambda: lv.Decoder(None, D), "z_dim", "NoneType", id="dec-zdim-none"),
    _p(lambda: lv.Decoder(L, D, hidden=None), "hidden", "NoneType", id="dec-hidden-none"),
    _p(lambda: lv.Decoder(L, D, activation="sigmoid"), "activation", "'sigmoid'", id="dec-activation"),
    # --- encode / decode / log_likelihood / sample -------------------------------------------------
    _p(lambda: vae().encode(t(B, D + 1)), "x", "last dimension 5", "(3, 6)", id="encode-wrong-D"),
    _p(lambda: vae().encode(t(D)), "x", "(5,)", id="encode-1d"),
    _p(lambda: vae().encode(t(4, B, D)), "x", "exactly 2", "(4, 3, 5)", id="encode-3d"),
    _p(lambda: vae().encode(t(0, D)), "x", "(0, 5)", id="encode-empty"),
    _p(lambda: vae().encode(t(B, D).long()), "x", "torch.int64", id="encode-int"),
    _p(lambda: vae().encode(np.zeros((B, D))), "x", "ndarray", "(3, 5)", id="encode-numpy"),
    _p(lambda: vae().encode(with_value(t(B, D), (1, 1), math.nan)), "x", "finite", id="encode-nan"),
    _p(lambda: vae(posterior="full").encode(t(B, D).to(other_float(torch.get_default_dtype()))), "x",
       "dtype", str(other_float(torch.get_default_dtype())), id="encode-other-float"),
    _p(lambda: vae().decode(t(B, L + 1)), "z", "(3, 3)", id="decode-wrong-L"),
    _p(lambda: vae().decode(None), "z", "NoneType", id="decode-none"),
    _p(lambda: vae().decode(t(B, L).int()), "z", "torch.int32", id="decode-int"),
    _p(lambda: vae().decode(with_value(t(B, L), (0, 0), math.inf)), "z", "finite", id="decode-inf"),
    _p(lambda: vae().decode(t(B, L).to(other_float(torch.get_default_dtype()))), "z", "dtype", id="decode-float"),
    _p(lambda: vae().log_likelihood(t(B, 1), t(B, L)), "x", "(3, 1)", id="loglik-x-wrong-D"),
    _p(lambda: vae().log_likelihood(t(B, D, fill=2.0), t(B, L)), "x", "[0, 1]", "2", id="loglik-bernoulli-range"),
    _p(lambda: vae(likelihood="gaussian").log_likelihood(t(B, D), t(4, B + 1, L)), "x", "z", "(4, 4, 2)",
       id="loglik-batch"),
    _p(lambda: vae().sample(0), "n", "0", id="vae-sample-0"),
    _p(lambda: vae().sample(3, generator=0), "generator", "int 0", id="vae-sample-gen"),
    _p(lambda: vae().reconstruct(t(B, D + 1)), "x", "(3, 6)", id="reconstruct-wrong-D"),
    # --- elbo, iwae_bound, log_importance_weights, log_marginal_estimate ---------------------------
    _p(lambda: lv.elbo(t(B, D), vae()), "model", "a tensor of shape (3, 5)", id="elbo-args-swapped"),
    _p(lambda: lv.elbo(None, t(B, D)), "model", "NoneType", id="elbo-model-none"),
    _p(lambda: lv.elbo(vae(), [[0.5] * D] * B), "x", "list", id="elbo-x-list"),
    _p(lambda: lv.elbo(vae(), None), "x", "NoneType", id="elbo-x-none"),
    _p(lambda: lv.elbo(vae(), np.full((B, D), 0.5)), "x", "ndarray", id="elbo-x-numpy"),
    _p(lambda: lv.elbo(vae(), t(B, D).long()), "x", "torch.int64", id="elbo-x-int"),
    _p(lambda: lv.elbo(vae(), t(B, D + 2)), "x", "(3, 7)", id="elbo-x-wrong-D"),
    _p(lambda: lv.elbo(vae(), t(D)), "x", "(5,)", id="elbo-x-1d"),
    _p(lambda: lv.elbo(vae(), t(0, D)), "x", "(0, 5)", id="elbo-x-empty"),
    _p(lambda: lv.elbo(vae(), with_value(t(B, D), (2, 4), math.nan)), "x", "finite", id="elbo-x-nan"),
    _p(lambda: lv.elbo(vae(), t(B, D, fill=3.0)), "x", "[0, 1]", "3", id="elbo-x-outside-01"),
    _p(lambda: lv.elbo(vae(), t(B, D), n_samples=0), "n_samples", "0", id="elbo-n0"),
    _p(lambda: lv.elbo(vae(), t(B, D), n_samples=2.0), "n_samples", "2.0", id="elbo-n-float"),
    _p(lambda: lv.elbo(vae(), t(B, D), kl="exact"), "kl", "'exact'", "analytic", id="elbo-kl-str"),
    _p(lambda: lv.elbo(vae(), t(B, D), kl=None), "kl", "None", id="elbo-kl-none"),
    _p(lambda: lv.elbo(vae(), t(B, D), q_z=t(B, L)), "q_z", "a tensor of shape (3, 2)", id="elbo-qz-tensor"),
    _p(lambda: lv.elbo(vae(), t(B, D), q_z=lv.StandardNormal(B + 2, L)), "q_z", "(5, 2)", "(3, 5)",
       id="elbo-qz-batch"),
    _p(lambda: lv.elbo(vae(), t(B, D), q_z=lv.DiagonalGaussian(t(B, L + 1), t(B, L + 1))), "q_z", "(3, 3)",
       "z_dim=2", id="elbo-qz-latent"),
    _p(lambda: lv.elbo(vae(), t(B, D), generator=0), "generator", "int 0", id="elbo-generator"),
    _p(lambda: lv.iwae_bound(vae(), t(B, D), 0), "k", "0", id="iwae-k0"),
    _p(lambda: lv.iwae_bound(vae(), t(B, D), -5), "k", "-5", id="iwae-k-neg"),
    _p(lambda: lv.iwae_bound(vae(), t(B, D), 5.0), "k", "5.0", id="iwae-k-float"),
    _p(lambda: lv.iwae_bound(vae(), t(B, D), "5"), "k", "'5'", id="iwae-k-str"),
    _p(lambda: lv.iwae_bound(vae(), t(B, D), torch.tensor(5)), "k", "a tensor of shape ()", id="iwae-k-tensor"),
    _p(lambda: lv.log_importance_weights(vae(), t(B, D), None), "k", "NoneType", id="liw-k-none"),
    _p(lambda: lv.log_importance_weights(vae(), t(B, D + 1), 3), "x", "(3, 6)", id="liw-x-wrong-D"),
    _p(lambda: lv.log_marginal_estimate(vae(), t(B, D), 0), "k", "0", id="lme-k0"),
    _p(lambda: lv.log_marginal_estimate(vae(), t(B, D), 10, batch_size=0), "batch_size", "0", id="lme-bs0"),
    _p(lambda: lv.log_marginal_estimate(vae(), t(B, D), 10, max_elements=1.5), "max_elements", "1.5",
       id="lme-maxel"),
    _p(lambda: lv.log_marginal_estimate(vae(), t(B, D, fill=-1.0), 10), "x", "[0, 1]", "-1", id="lme-x-range"),
    _p(lambda: lv.log_marginal_estimate(vae(), t(B, D).long(), 10), "x", "int64", id="lme-x-int"),
    _p(lambda: lv.log_marginal_estimate(object(), t(B, D), 10), "model", "object", id="lme-model"),
    _p(lambda: lv.log_marginal_estimate(vae(), t(B, D), 10, generator=3), "generator", "int 3", id="lme-gen"),
    # --- tractable -----------------------------------------------------------------------------------
    _p(lambda: lv.LinearGaussian(torch.ones(D), torch.zeros(D), 0.5), "W", "(5,)", id="lg-W-1d"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L, 1), torch.zeros(D), 0.5), "W", "(5, 2, 1)", id="lg-W-3d"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L).long(), torch.zeros(D), 0.5), "W", "torch.int64", id="lg-W-int"),
    _p(lambda: lv.LinearGaussian(with_value(torch.ones(D, L), (0, 0), math.nan), torch.zeros(D), 0.5), "W", "finite",
       id="lg-W-nan"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L), torch.zeros(D + 1), 0.5), "b", "(6,)", id="lg-b-len"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L), torch.zeros(1, D), 0.5), "b", "(1, 5)", id="lg-b-2d"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L), torch.zeros(D), 0.0), "sigma", "0.0", id="lg-sigma-0"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L), torch.zeros(D), math.nan), "sigma", "nan", id="lg-sigma-nan"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L), torch.zeros(D), math.inf), "sigma", "inf", id="lg-sigma-inf"),
    _p(lambda: lv.LinearGaussian(torch.ones(D, L), torch.zeros(D), None), "sigma", "None", id="lg-sigma-none"),
    _p(lambda: lv.LinearGaussian.random(0, L), "x_dim", "0", id="lg-random-x0"),
    _p(lambda: lv.LinearGaussian.random(D, 1.5), "z_dim", "1.5", id="lg-random-z-float"),
    _p(lambda: lv.LinearGaussian.random(D, L, -0.1), "sigma", "-0.1", id="lg-random-sigma"),
    _p(lambda: lv.LinearGaussian.random(D, L, generator=7), "generator", "int 7", id="lg-random-generator"),
    _p(lambda: lv.LinearGaussian.random(D, L, dtype=torch.int64), "dtype", "torch.int64", id="lg-random-dtype"),
    _p(lambda: lg().log_marginal(x64(B, D + 1)), "x", "(3, 6)", id="lg-logmarg-wrong-D"),
    _p(lambda: lg().log_marginal(x64(D)), "x", "(5,)", id="lg-logmarg-1d"),
    _p(lambda: lg().log_marginal(x64(0, D)), "x", "(0, 5)", id="lg-logmarg-empty"),
    _p(lambda: lg().log_marginal(x64(B, D).long()), "x", "torch.int64", id="lg-logmarg-int"),
    _p(lambda: lg().log_marginal(with_value(x64(B, D), (0, 0), math.inf)), "x", "finite", id="lg-logmarg-inf"),
    _p(lambda: lg().posterior(x64(B, D - 1)), "x", "(3, 4)", id="lg-posterior"),
    _p(lambda: lg().encode([[0.5] * D]), "x", "list", id="lg-encode-list"),
    _p(lambda: lg().log_posterior(x64(B, L + 1), x64(B, D)), "z", "(3, 3)", id="lg-logpost-z"),
    _p(lambda: lg().log_likelihood(x64(B, D + 1), x64(B, L)), "x", "(3, 6)", id="lg-loglik-x"),
    _p(lambda: lg().log_likelihood(x64(B, 1), x64(B, L)), "x", "(3, 1)", id="lg-loglik-x-1"),
    _p(lambda: lg().log_joint(x64(B, D), x64(B, L + 1)), "z", "(3, 3)", id="lg-logjoint-z"),
    _p(lambda: lg().decode(x64(B, 1)), "z", "(3, 1)", id="lg-decode"),
    _p(lambda: lg().sample(0), "n", "0", id="lg-sample-0"),
    _p(lambda: lg().sample(2, generator="0"), "generator", "'0'", id="lg-sample-gen"),
    _p(lambda: lg().analytic_elbo(x64(B, D), lv.StandardNormal(B, L)), "q_z", "StandardNormal", id="lg-aelbo-qz"),
    _p(lambda: lg().analytic_elbo(x64(B, D), lv.DiagonalGaussian(x64(B + 1, L), x64(B + 1, L))), "q_z", "(4, 2)",
       id="lg-aelbo-qz-batch"),
    _p(lambda: lv.make_grid([(-3.0, 3.0)], 0), "n", "0", id="grid-n0"),
    _p(lambda: lv.make_grid([(-3.0, 3.0)], 10.0), "n", "10.0", id="grid-n-float"),
    _p(lambda: lv.make_grid((-3.0, 3.0), 10), "lims", "(-3.0, 3.0)", id="grid-single-pair"),
    _p(lambda: lv.make_grid([(3.0, -3.0)], 10), "lims", "lo < hi", id="grid-reversed"),
    _p(lambda: lv.make_grid([(0.0, 1.0)] * 4, 10), "lims", "1 to 3", id="grid-4d"),
    _p(lambda: lv.make_grid([(-math.inf, 1.0)], 10), "lims", "finite", "-inf", id="grid-inf"),
    _p(lambda: lv.make_grid([(math.nan, 1.0)], 10), "lims", "nan", id="grid-nan"),
    _p(lambda: lv.make_grid([("a", 1.0)], 10), "lims", "'a'", id="grid-str"),
    _p(lambda: lv.make_grid([(0.0, 1.0, 2.0)], 10), "lims", "(0.0, 1.0, 2.0)", id="grid-triple"),
    _p(lambda: lv.make_grid([(0.0, 1.0)], 10, dtype=torch.int64), "dtype", "torch.int64", id="grid-dtype"),
    _p(lambda: lv.grid_posterior("log_joint", [(-3.0, 3.0)], 10), "log_joint", "'log_joint'", id="gridpost-str"),
    _p(lambda: lv.grid_log_marginal(lambda z: z[::2, 0], [(-3.0, 3.0)], 10), "log_joint", "(10, 1)", "(5,)",
       id="gridlm-shape"),
    _p(lambda: lv.grid_log_marginal(lambda z: z[..., None], [(-3.0, 3.0)] * 2, 10), "log_joint", "(100, 2, 1)",
       id="gridlm-3d"),
    _p(lambda: lv.grid_log_marginal(lambda z: z.sum(), [(-3.0, 3.0)], 10), "log_joint", "()", id="gridlm-scalar"),
    _p(lambda: lv.grid_log_marginal(lambda z: z[:, 0] * math.nan, [(-3.0, 3.0)], 10), "log_joint", "10 NaN",
       id="gridlm-nan"),
    _p(lambda: lv.grid_log_marginal(lambda z: -z[:, 0] ** 2, [(-3.0, 3.0)], 10, chunk=0), "chunk", "0",
       id="gridlm-chunk"),
    _p(lambda: lv.log_joint_fn(None, x64(B, D)), "model", "NoneType", id="ljf-model"),
    _p(lambda: lv.log_joint_fn(lg(), x64(B, D + 1)), "x", "(3, 6)", id="ljf-x"),
]
# fmt: on


@pytest.mark.parametrize(("call", "needles"), CASES)
def test_bad_input_raises_a_named_error(call, needles):
    check_raises(call, *needles)


@pytest.mark.parametrize(("bad", "shown"), BAD_TYPES, ids=[s for _, s in BAD_TYPES])
@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("mu", lambda v: lv.gaussian_kl(v, t(B, L))),
        ("logvar", lambda v: lv.gaussian_kl(t(B, L), v)),
        ("mu", lambda v: lv.gaussian_kl_full(v, tril())),
        ("scale_tril", lambda v: lv.gaussian_kl_full(t(B, L), v)),
        ("z", lambda v: lv.diag_gaussian_log_prob(v, t(B, L), t(B, L))),
        ("mu", lambda v: lv.diag_gaussian_log_prob(t(B, L), v, t(B, L))),
        ("logvar", lambda v: lv.diag_gaussian_log_prob(t(B, L), t(B, L), v)),
        ("x", lambda v: lv.gaussian_log_prob(v, t(B, L), 0.0)),
        ("mean", lambda v: lv.gaussian_log_prob(t(B, L), v, 0.0)),
        ("z", lambda v: lv.mvn_log_prob(v, t(B, L), tril())),
        ("mu", lambda v: lv.mvn_log_prob(t(B, L), v, tril())),
        ("scale_tril", lambda v: lv.mvn_log_prob(t(B, L), t(B, L), v)),
        ("x", lambda v: lv.bernoulli_log_prob(v, t(B, L))),
        ("logits", lambda v: lv.bernoulli_log_prob(t(B, L), v)),
        ("z", lambda v: lv.standard_normal_log_prob(v)),
        ("mu", lambda v: lv.reparameterize(v, t(B, L))),
        ("logvar", lambda v: lv.reparameterize(t(B, L), v)),
        ("eps", lambda v: lv.reparameterize(t(B, L), t(B, L), v)),
        ("sigma", lambda v: lv.scale_from_cholesky(v)),
        ("sigma", lambda v: lv.scale_from_eigh(v)),
        ("mu", lambda v: lv.reparameterize_full(v, tril())),
        ("scale", lambda v: lv.reparameterize_full(t(B, L), v)),
        ("x", lambda v: lv.elbo(vae(), v)),
        ("x", lambda v: lv.iwae_bound(vae(), v, 2)),
        ("x", lambda v: lv.log_marginal_estimate(vae(), v, 2)),
        ("z", lambda v: vae().decode(v)),
        ("x", lambda v: lg().log_marginal(v)),
    ],
)
def test_every_tensor_argument_rejects_non_float_tensors(name, call, bad, shown):
    """Lists, None, NumPy arrays, Python floats and int tensors: a TypeError naming the argument and the type."""
    if name == "eps" and bad is None:  # valid: the function draws eps itself
        assert torch.isfinite(call(bad)).all()
        return
    check_raises(lambda: call(bad), name, shown, exc=TypeError)


# --- property-based: random bad shapes, NaN/Inf positions, values and ints --------------------------

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _broadcasts(*shapes):
    try:
        torch.broadcast_shapes(*shapes)
    except RuntimeError:
        return False
    return True


@HYP
@given(s_mu=shapes, s_logvar=shapes)
def test_kl_and_log_prob_shapes_either_agree_or_raise_naming_both(s_mu, s_logvar):
    """Any pair of shapes: a finite result of the broadcast shape when the event (last) dims agree and the
    batch dims broadcast, else a ValueError naming both arguments and both shapes."""
    mu, logvar = torch.zeros(s_mu), torch.zeros(s_logvar)
    ok = _broadcasts(s_mu, s_logvar) and s_mu[-1] == s_logvar[-1]
    log_prob = lambda m, v: lv.diag_gaussian_log_prob(torch.zeros(s_mu), m, v)  # noqa: E731
    for fn, reduced in ((lv.gaussian_kl, True), (log_prob, True), (lv.reparameterize, False)):
        if ok:
            out = fn(mu, logvar)
            full = torch.broadcast_shapes(s_mu, s_logvar)
            assert out.shape == (full[:-1] if reduced else full) and torch.isfinite(out).all()
        else:
            check_raises(lambda fn=fn: fn(mu, logvar), "mu", "logvar", str(s_mu), str(s_logvar), exc=ValueError)


@HYP
@given(
    which=st.sampled_from(["z", "mu", "logvar", "scale_tril", "x", "logits"]),
    pos=st.integers(0, 1000),
    value=st.sampled_from([math.nan, math.inf, -math.inf]),
)
def test_a_single_nan_or_inf_anywhere_is_named(which, pos, value):
    args = {"z": t(4, B, L), "mu": t(B, L), "logvar": t(B, L), "scale_tril": tril(), "x": t(B, D), "logits": t(B, D)}
    a = args[which].clone()
    a.view(-1)[pos % a.numel()] = value
    args[which] = a
    calls = {
        "z": [lambda: lv.diag_gaussian_log_prob(args["z"], args["mu"], args["logvar"]),
              lambda: lv.mvn_log_prob(args["z"], args["mu"], args["scale_tril"]),
              lambda: lv.standard_normal_log_prob(args["z"])],
        "mu": [lambda: lv.gaussian_kl(args["mu"], args["logvar"]),
               lambda: lv.gaussian_kl_full(args["mu"], args["scale_tril"]),
               lambda: lv.reparameterize(args["mu"], args["logvar"])],
        "logvar": [lambda: lv.gaussian_kl(args["mu"], args["logvar"]),
                   lambda: lv.diag_gaussian_log_prob(args["z"], args["mu"], args["logvar"])],
        "scale_tril": [lambda: lv.mvn_log_prob(args["z"], args["mu"], args["scale_tril"]),
                       lambda: lv.gaussian_kl_full(args["mu"], args["scale_tril"])],
        "x": [lambda: lv.bernoulli_log_prob(args["x"], args["logits"]),
              lambda: lv.gaussian_log_prob(args["x"], args["logits"], 0.0)],
        "logits": [lambda: lv.bernoulli_log_prob(args["x"], args["logits"])],
    }  # fmt: skip
    for call in calls[which]:
        check_raises(call, which, "finite", exc=ValueError)


@HYP
@given(x=st.lists(st.floats(-5, 5, allow_nan=False), min_size=D, max_size=D).filter(lambda v: min(v) < 0 or max(v) > 1))
def test_bernoulli_rejects_any_x_outside_the_unit_interval(x):
    xt = torch.tensor([x], dtype=torch.float64)  # float64: tiny negatives such as -1e-100 stay negative
    msg = check_raises(lambda: lv.bernoulli_log_prob(xt, xt.new_zeros(1, D)), "x", "[0, 1]", exc=ValueError)
    assert f"{float(xt.min()):.4g}" in msg and f"{float(xt.max()):.4g}" in msg


@HYP
@given(
    k=st.one_of(
        st.integers(-10, 0),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.text(max_size=3),
        st.none(),
    )
)
def test_k_and_n_samples_must_be_positive_ints(k):
    model, x = vae(), t(B, D)
    for name, call in (
        ("k", lambda: lv.iwae_bound(model, x, k)),
        ("k", lambda: lv.log_marginal_estimate(model, x, k)),
        ("n_samples", lambda: lv.elbo(model, x, n_samples=k)),
        ("n_samples", lambda: lv.pathwise_grad(lambda z: z.sum(-1), t(L), t(L), k)),
    ):
        check_raises(call, name, repr(k) if not isinstance(k, int) or isinstance(k, bool) else str(k))


@HYP
@given(choice=st.text(max_size=12).filter(lambda s: s not in ("analytic", "mc", "bernoulli", "gaussian", "diagonal",
                                                              "full", "relu", "tanh", "elu", "softplus")))  # fmt: skip
def test_unknown_strings_are_rejected_with_the_choices(choice):
    check_raises(lambda: lv.elbo(vae(), t(B, D), kl=choice), "kl", repr(choice), "'analytic'", exc=ValueError)
    check_raises(lambda: vae(likelihood=choice), "likelihood", repr(choice), "'gaussian'", exc=ValueError)
    check_raises(lambda: vae(posterior=choice), "posterior", repr(choice), "'full'", exc=ValueError)
    check_raises(lambda: model_mod.Encoder(D, L, activation=choice), "activation", repr(choice), exc=ValueError)


@HYP
@given(
    eig=st.lists(st.floats(-2, 2, allow_nan=False), min_size=3, max_size=3).filter(lambda v: min(v) <= 0),
    seed=st.integers(0, 2**16),
)
def test_indefinite_or_singular_covariances_are_rejected_by_both_factors(eig, seed):
    """Sigma = Q diag(eig) Q^T with some eigenvalue <= 0 (indefinite, or singular at 0)."""
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    sigma = q @ torch.diag(torch.tensor(eig, dtype=torch.float64)) @ q.T
    sigma = 0.5 * (sigma + sigma.T)
    for factor in (lv.scale_from_cholesky, lv.scale_from_eigh):
        check_raises(lambda factor=factor: factor(sigma), "sigma", "positive definite", "smallest eigenvalue",
                     exc=ValueError)  # fmt: skip


@HYP
@given(
    rank=st.integers(1, 4),
    dim=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_rank_deficient_covariances_are_rejected_even_if_cholesky_succeeds(rank, dim, seed, dtype):
    a = torch.randn(dim, min(rank, dim - 1), generator=torch.Generator().manual_seed(seed), dtype=dtype)
    sigma = a @ a.T
    sigma = 0.5 * (sigma + sigma.T)
    for factor in (lv.scale_from_cholesky, lv.scale_from_eigh):
        check_raises(lambda factor=factor: factor(sigma), "sigma", "positive definite", exc=ValueError)


@HYP
@given(
    skew=st.floats(1e-3, 10.0),
    i=st.integers(0, 2),
    j=st.integers(0, 2),
)
def test_non_symmetric_covariances_are_rejected(skew, i, j):
    if i == j:
        j = (i + 1) % 3
    sigma = 2.0 * torch.eye(3, dtype=torch.float64)
    sigma[i, j] += skew
    for factor in (lv.scale_from_cholesky, lv.scale_from_eigh):
        msg = check_raises(lambda factor=factor: factor(sigma), "sigma", "symmetric", exc=ValueError)
        assert f"{skew:.4g}" in msg


@HYP
@given(i=st.integers(0, 3), j=st.integers(0, 3), value=st.floats(-10, 10, allow_nan=False).filter(lambda v: v != 0))
def test_scale_tril_must_be_a_cholesky_factor(i, j, value):
    """An entry above the diagonal, or a diagonal entry <= 0, is named with its value."""
    s = torch.eye(4, dtype=torch.float64).expand(2, 4, 4).clone()
    s[1, i, j] = value if i != j else -abs(value)
    mu = torch.zeros(2, 4, dtype=torch.float64)
    if i > j:  # strictly lower: a valid factor
        assert torch.isfinite(lv.mvn_log_prob(mu, mu, s)).all()
        return
    needle = "lower triangular" if i < j else "positive diagonal"
    for call in (lambda: lv.mvn_log_prob(mu, mu, s), lambda: lv.gaussian_kl_full(mu, s)):
        msg = check_raises(call, "scale_tril", needle, exc=ValueError)
        assert f"{abs(value):.4g}" in msg


def test_the_case_table_covers_every_module():
    """Sanity check of this file: the case table covers every public function of the five modules."""
    called = " ".join(str(p.id) for p in CASES)
    for prefix in ("kl-", "klfull", "diaglp", "glp", "mvn", "bern", "stdn", "rep-", "chol", "eigh", "repfull", "sf-",
                   "pw-", "vae-", "enc-", "dec-", "encode", "decode", "loglik", "elbo", "iwae", "liw", "lme", "lg-",
                   "grid", "ljf"):  # fmt: skip
        assert prefix in called, prefix
