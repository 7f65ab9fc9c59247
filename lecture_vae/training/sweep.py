"""The same VAE trained at several KL weights beta (Higgins et al. 2017), each summarized as notebook 08 does."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from torch import nn

from ..evaluation import ACTIVE_THRESHOLD, PosteriorSummary, posterior_summary
from .trainer import History, fit


class SweepPoint(NamedTuple):
    """One run of ``beta_sweep``: the KL weight, the trained model, its History and its PosteriorSummary."""

    beta: float
    model: nn.Module
    history: History
    summary: PosteriorSummary


def beta_sweep(
    make_model: Callable[[], nn.Module],
    train: Any,
    val: Any,
    betas: Sequence[float],
    *,
    epochs: int,
    threshold: float = ACTIVE_THRESHOLD,
    **fit_kwargs: Any,
) -> list[SweepPoint]:
    """Train one copy of ``make_model()`` per beta with the loss -(E_q log p(x|z) - beta KL) and summarize it.

    Every copy starts from the same initial weights (one ``make_model()`` call, deep-copied), so the runs
    differ only in beta. ``train`` / ``val`` are ``ImageData`` or ``(N, D)`` tensors; the summary is
    measured on ``val``. ``fit_kwargs`` go to ``fit`` (``batch_size``, ``lr``, ``seed``, ``progress``...).
    """
    if not betas:
        raise ValueError("betas must hold at least one KL weight")
    x_val = val.images if hasattr(val, "images") else val
    init = make_model()
    points = []
    for beta in betas:
        if not isinstance(beta, (int, float)) or not beta >= 0:
            raise ValueError(f"betas must be floats >= 0, got {beta!r}")
        model = copy.deepcopy(init)
        history = fit(model, train, val, epochs=epochs, beta=float(beta), **fit_kwargs)
        model.eval()
        points.append(SweepPoint(float(beta), model, history, posterior_summary(model, x_val, threshold=threshold)))
    return points
