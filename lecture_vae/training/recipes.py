"""Named training configurations for ``python -m lecture_vae train --recipe NAME``.

A plain table: each recipe is a dict of the ``train`` subcommand's settings (the flag names with
``_`` for ``-``). ``DEFAULTS`` fills whatever a recipe leaves out; explicit command-line flags
override both. Add a recipe by adding an entry to ``RECIPES``.
"""

from __future__ import annotations

from typing import Any

# Every setting ``train`` understands, and its value when neither a recipe nor a flag gives one.
DEFAULTS: dict[str, Any] = {
    "dataset": "digits",  # "digits" (8x8, bundled with scikit-learn), "mnist", "fashion-mnist"
    "hidden": [256],  # encoder hidden widths; the decoder mirrors them
    "z_dim": 2,  # latent dimension L
    "activation": "relu",
    "likelihood": "bernoulli",  # p_theta(x|z)
    "posterior": "diagonal",  # q_phi(z|x)
    "epochs": 20,
    "batch_size": 128,
    "lr": 1e-3,  # Adam learning rate
    "beta": 1.0,  # weight of the KL term (1 = the ELBO of S6)
    "kl_warmup": 0,  # epochs over which the KL weight ramps linearly from 0 to beta
    "binarize": "none",  # "none" (grey levels as Bernoulli targets), "static" or "dynamic"
    "seed": 0,
    "lr_schedule": "constant",  # "constant" or "cosine" (decays the learning rate to 0 over the run)
    "curve_every": 0,  # every N epochs: test ELBO and log p(x) estimate into metrics.json (0 = off)
}

RECIPES: dict[str, dict[str, Any]] = {
    # A quick run on the bundled 8x8 digits with a 2-D latent space: about a minute on a laptop CPU,
    # and latent.png shows the classes spreading out over the plane.
    "digits-2d": {
        "dataset": "digits",
        "hidden": [256],
        "z_dim": 2,
        "activation": "relu",
        "epochs": 60,
        "batch_size": 64,
        "lr": 1e-3,
        "binarize": "none",
        "kl_warmup": 0,
    },
    # The network and settings of the PyTorch example (pytorch/examples, vae/main.py):
    # 784-400-20 with ReLU, Bernoulli decoder on grey levels, batch 128, Adam 1e-3, 10 epochs.
    "mnist-example": {
        "dataset": "mnist",
        "hidden": [400],
        "z_dim": 20,
        "activation": "relu",
        "epochs": 10,
        "batch_size": 128,
        "lr": 1e-3,
        "binarize": "none",
        "kl_warmup": 0,
    },
    # One stochastic layer on dynamically binarized MNIST, aiming at the test log p(x) = -86.76 nats of
    # Burda et al. (2015, Table 1); see lecture_vae/training/paper.py for the evaluation protocol. About 200 epochs
    # fit in an hour on a 2-core CPU; then `python -m lecture_vae evaluate RUN_DIR --k 5000`.
    "mnist-paper": {
        "dataset": "mnist",
        "hidden": [512, 512],
        "z_dim": 64,
        "activation": "elu",
        "likelihood": "bernoulli",
        "posterior": "diagonal",
        "epochs": 200,
        "batch_size": 256,
        "lr": 2e-3,
        "lr_schedule": "cosine",
        "kl_warmup": 10,
        "binarize": "dynamic",
        "curve_every": 10,
    },
}


def recipe_config(name: str | None) -> dict[str, Any]:
    """``DEFAULTS`` updated with recipe ``name`` (``None``: the defaults alone); a fresh dict each call."""
    if name is not None and name not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {name!r}")
    config = {**DEFAULTS, **(RECIPES[name] if name else {})}
    config["hidden"] = list(config["hidden"])
    return config
