"""Training by maximizing the ELBO (S6) with Adam: ``fit``, its ``History`` and safe checkpoints.

The loop is written for speed on a CPU: the data stay one in-memory tensor, each epoch draws one
``torch.randperm`` and slices batches from it, and each step is one forward, one backward, one
finiteness check and one fused Adam update. One ``torch.Generator`` seeded from ``seed`` drives the
shuffling, the reparameterization noise and the dynamic binarization; its state is saved in the
checkpoint, so an interrupted run resumed from its checkpoint ends bit-for-bit where an
uninterrupted one would.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .._checks import NonFiniteError, check_positive_int
from ..bounds import elbo
from ..evaluation import kl_per_dimension
from ..model import VAE
from .checkpoint import Checkpoint, History, PathLike, load_checkpoint, save_checkpoint
from .data import ImageData
from .guards import (
    LRSchedule,
    adam_kwargs,
    as_data,
    check_number,
    check_seed,
    diverged_message,
    lr_factor,
    model_device,
    resolve_device,
    total_norm,
    warn_if_settings_differ,
    what_diverged,
)

__all__ = [
    "Checkpoint",
    "History",
    "Metrics",
    "TrainingDiverged",
    "evaluate",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
]

EVAL_SEED_OFFSET = 10_007  # the evaluation generator: seed + this, fresh for every evaluation


class TrainingDiverged(RuntimeError):
    """The loss or a gradient became NaN/Inf; the message names epoch, step, quantity and likely cause."""


class Metrics(NamedTuple):
    """ELBO terms averaged over examples (nats per example)."""

    reconstruction: float
    kl: float
    elbo: float


def fit(
    model: VAE,
    train: ImageData | Tensor,
    val: ImageData | Tensor | None = None,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 1.0,
    kl_warmup: int = 0,
    free_bits: float = 0.0,
    seed: int = 0,
    n_samples: int = 1,
    checkpoint: PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    device: str | torch.device | None = None,
    lr_schedule: LRSchedule = None,
    optimizer_state: dict[str, Any] | None = None,
    callback: Callable[[int, VAE, History], None] | None = None,
) -> History:
    """Train ``model`` in place by minimizing loss = -(reconstruction - beta_t * kl), averaged over the batch.

    Parameters
    ----------
    model : the VAE (its parameters are updated in place).
    train, val : ``ImageData`` or float tensors ``(N, D)``; data marked ``binarize="dynamic"`` get a fresh
        Bernoulli draw per batch (``val``: one fixed draw). ``val`` is evaluated after every epoch.
    epochs : total number of epochs (with ``resume``, counted from the start of the run).
    beta, kl_warmup : the KL weight beta_t rises linearly from 0 to ``beta`` over the first ``kl_warmup``
        epochs (per step; 0 = no warm-up). The recorded ELBO is always reconstruction - kl.
    free_bits : free bits lambda (Kingma et al. 2016, IAF paper): the loss's KL term becomes
        sum_l max(lambda, mean over the batch of KL_l), so no latent dimension is pushed below lambda nats;
        0 = the plain KL. Needs a diagonal posterior. The recorded KL and ELBO stay the plain ones.
    n_samples : reparameterized draws z per example in the ELBO estimate (S8).
    checkpoint : a path; written atomically after every epoch that finished without NaN/Inf.
    resume : continue from ``checkpoint`` (model, optimizer, generator, history) if the file exists.
    seed : an int in [0, 2**63 - 1].
    device : where to train (checked to exist); default the model's device. ``model`` is moved there.
    lr_schedule : None/"constant", "cosine" (lr * (1 + cos(pi * epoch / epochs)) / 2) or a function
        epoch -> factor multiplying ``lr`` (finite, >= 0); set once per epoch.
    optimizer_state : an Adam ``state_dict`` to start from (e.g. ``Checkpoint.optimizer_state``).
    callback : called as ``callback(epoch, model, history)`` after each epoch (``epoch`` counts from 1) and
        its checkpoint, e.g. to score the test set every few epochs; its time is not in ``history.seconds``.

    Returns
    -------
    History with one entry per epoch. Raises ``TrainingDiverged`` on a NaN/Inf loss or gradient.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("n_samples", n_samples)):
        check_positive_int(name, value)
    check_number("lr", lr, positive=True)
    check_number("beta", beta)
    check_number("kl_warmup", kl_warmup)
    check_number("free_bits", free_bits)
    if free_bits and model.config.posterior != "diagonal":
        raise ValueError(
            f"free_bits needs a diagonal posterior (KL per dimension), got posterior={model.config.posterior!r}"
        )
    check_seed(seed)
    factor = lr_factor(lr_schedule, epochs)
    model_device("model", model)
    device = resolve_device(device, model)
    model.to(device)
    x, dynamic = as_data("train", train, model, device)
    x_val = as_data("val", val, model, device) if val is not None else None
    g = torch.Generator(device=device).manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, **adam_kwargs(device))
    history, start = History(), 0
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path of the run to resume>")
    if resume and Path(checkpoint).is_file():  # type: ignore[arg-type]
        ck = load_checkpoint(checkpoint, model=model, map_location=device)  # type: ignore[arg-type]
        history, start, optimizer_state = ck.history, ck.epoch, ck.optimizer_state
        warn_if_settings_differ(
            ck.fit_args, batch_size=batch_size, seed=seed, beta=beta, kl_warmup=kl_warmup, free_bits=free_bits
        )
        if ck.generator_state is not None:
            g.set_state(ck.generator_state)
    if optimizer_state is not None:
        _load_optimizer_state(optimizer, optimizer_state)
    n, steps = x.shape[0], math.ceil(x.shape[0] / batch_size)
    warmup_steps = kl_warmup * steps
    fit_args = {"batch_size": batch_size, "lr": lr, "beta": beta, "kl_warmup": kl_warmup, "seed": seed}
    fit_args |= {
        "free_bits": free_bits,
        "n_samples": n_samples,
        "epochs": epochs,
        "lr_schedule": lr_schedule if isinstance(lr_schedule, str) else None,
    }
    if isinstance(train, ImageData):
        fit_args |= {"dataset": train.name, "split": train.split, "binarize": train.binarize}

    def beta_at(t: int) -> float:  # t = global step, 1-based
        return beta * min(1.0, t / warmup_steps) if warmup_steps else beta

    _diverged = functools.partial(_diverged_at, beta=beta)  # the diagnosis names a huge beta as the cause

    bar = tqdm(total=epochs, initial=start, disable=not progress, desc="fit", unit="epoch", leave=True)
    try:
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            lr_epoch = lr * factor(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr_epoch
            diverged = functools.partial(_diverged, epoch, steps, lr_epoch, checkpoint, history)
            rec_sum, kl_sum, beta_t = _train_epoch(
                model, optimizer, params, x, epoch, batch_size, dynamic, g, n_samples, beta_at, diverged, bar, free_bits
            )
            record = {"epoch": epoch + 1, "train_reconstruction": rec_sum / n, "train_kl": kl_sum / n}
            record["train_elbo"] = record["train_reconstruction"] - record["train_kl"]
            if x_val is not None:
                m = _evaluate(model, *x_val, n_samples=n_samples, seed=seed)
                record |= {"val_reconstruction": m.reconstruction, "val_kl": m.kl, "val_elbo": m.elbo}
            record |= {"beta": beta_t, "lr": lr_epoch, "seconds": time.perf_counter() - t0}
            history.append(**record)
            if checkpoint is not None:
                state = {"optimizer_state": optimizer.state_dict(), "generator_state": g.get_state()}
                save_checkpoint(checkpoint, model, epoch=epoch + 1, history=history, fit_args=fit_args, **state)
            if callback is not None:
                callback(epoch + 1, model, history)
            bar.update(1)
            val_text = f" val elbo {record['val_elbo']:.2f}" if x_val is not None else ""
            bar.set_postfix_str(f"train elbo {record['train_elbo']:.2f}{val_text}")
    finally:
        bar.close()
    return history


def _diverged_at(
    epoch: int,
    steps: int,
    lr: float,
    checkpoint: PathLike | None,
    history: History,
    step: int,
    what: str,
    *,
    beta: float,
) -> TrainingDiverged:
    return TrainingDiverged(diverged_message(epoch, step, steps, what, lr, checkpoint, history, beta))


def _load_optimizer_state(optimizer: torch.optim.Optimizer, state: object) -> None:
    """``optimizer.load_state_dict`` with one clear error for a state of another optimizer or model."""
    expected = "an Adam state_dict of this model's parameters (e.g. Checkpoint.optimizer_state)"
    if not isinstance(state, dict) or not {"state", "param_groups"} <= set(state):
        keys = sorted(map(str, state)) if isinstance(state, dict) else None
        got = f"a dict with keys {keys}" if keys is not None else type(state).__name__
        raise ValueError(f"optimizer_state must be {expected}, got {got}")
    try:
        optimizer.load_state_dict(state)
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as err:
        raise ValueError(f"optimizer_state must be {expected}; loading it failed: {err}") from None


def _train_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    params: list[Tensor],
    x: Tensor,
    epoch: int,
    batch_size: int,
    dynamic: bool,
    g: torch.Generator,
    n_samples: int,
    beta_at: Callable[[int], float],
    diverged: Callable[[int, str], TrainingDiverged],
    bar: tqdm,
    free_bits: float = 0.0,
) -> tuple[float, float, float]:
    """One pass over ``x (N, D)`` in a random order: (sum of reconstruction, sum of KL, the last beta_t)."""
    n = x.shape[0]
    steps = math.ceil(n / batch_size)
    perm = torch.randperm(n, generator=g, device=x.device)
    rec_sum = kl_sum = 0.0
    shown = time.perf_counter()
    for step in range(steps):
        xb = x[perm[step * batch_size : (step + 1) * batch_size]]
        if dynamic:
            xb = torch.bernoulli(xb, generator=g)
        beta_t = beta_at(epoch * steps + step + 1)
        try:  # the data were checked once by as_data; the loss and gradients are checked below
            terms = model.elbo_unchecked(xb, n_samples=n_samples, generator=g)
            q_z = model.encoder(xb) if free_bits else None  # free bits needs q's per-dimension KL
        except NonFiniteError as err:  # a check on the latent side met NaN/Inf inside the model
            raise diverged(step, f"a non-finite value appeared inside the model ({err})") from err
        rec, kl = terms.reconstruction.mean(), terms.kl.mean()
        kl_loss = kl  # free bits: sum_l max(lambda, E_batch KL_l) in the loss; the recorded KL stays plain
        if q_z is not None:
            kl_loss = kl_per_dimension(q_z.mu, q_z.logvar).mean(0).clamp(min=free_bits).sum()
        loss = beta_t * kl_loss - rec
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = total_norm([p.grad for p in params if p.grad is not None])
        rec_v, kl_v, norm_v = torch.stack([rec.detach(), kl.detach(), grad_norm]).tolist()  # one sync per step
        if not math.isfinite(rec_v + kl_v + norm_v):
            raise diverged(step, what_diverged(rec_v, kl_v, params, model))  # before the update: weights stay good
        optimizer.step()
        rec_sum += rec_v * xb.shape[0]
        kl_sum += kl_v * xb.shape[0]
        if not bar.disable and time.perf_counter() - shown > 0.5:
            bar.set_postfix_str(f"epoch {epoch + 1} step {step + 1}/{steps} loss {beta_t * kl_v - rec_v:.2f}")
            shown = time.perf_counter()
    return rec_sum, kl_sum, beta_t


def evaluate(
    model: VAE, data: ImageData | Tensor, *, n_samples: int = 1, seed: int = 0, batch_size: int = 1000
) -> Metrics:
    """The ELBO terms of ``data`` averaged over rows, with a fixed generator (the same numbers every call).

    This is the estimator ``fit`` reports as ``val_*`` (analytic KL, S7). ``data (N, D)``.
    """
    check_positive_int("n_samples", n_samples)
    check_positive_int("batch_size", batch_size)
    check_seed(seed)
    device = model_device("model", model)
    return _evaluate(
        model, *as_data("data", data, model, device), n_samples=n_samples, seed=seed, batch_size=batch_size
    )


@torch.no_grad()
def _evaluate(model: VAE, x: Tensor, dynamic: bool, *, n_samples: int, seed: int, batch_size: int = 1000) -> Metrics:
    g = torch.Generator(device=x.device).manual_seed(seed + EVAL_SEED_OFFSET)
    if dynamic:  # one fixed binarization, so evaluations stay comparable
        x = torch.bernoulli(x, generator=g)
    sums = torch.zeros(2, dtype=torch.float64, device=x.device)
    for xb in x.split(batch_size):
        terms = elbo(model, xb, n_samples=n_samples, generator=g)
        sums += torch.stack([terms.reconstruction.sum(), terms.kl.sum()]).double()
    rec, kl = (sums / x.shape[0]).tolist()
    return Metrics(rec, kl, rec - kl)
