"""Figures for the notebooks and the command line: matplotlib only, tensors in, a ``Figure`` out.

Every function takes an optional ``ax`` (draw into it) and otherwise makes its own figure; each sets a
title and labelled axes. Modelling modules never import this one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from .._checks import check_positive_int, check_tensor


def _figure(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]


def _tile(images: Tensor, image_shape: Sequence[int] | None, nrow: int, pad: int, pad_value: float) -> Tensor:
    """``(N, D)`` or ``(N, H, W)`` -> one ``(rows*(H+pad)-pad, nrow*(W+pad)-pad)`` array, row-major tiles."""
    images = check_tensor("images", images.detach().float().cpu(), min_dim=2, finite=False)
    if images.dim() == 2:
        if image_shape is None or len(image_shape) != 2 or math.prod(image_shape) != images.shape[1]:
            raise ValueError(
                f"image_shape must be (H, W) with H*W = {images.shape[1]} for images of shape {tuple(images.shape)}, "
                f"got {image_shape!r}"
            )
        images = images.reshape(-1, *image_shape)
    elif images.dim() != 3:
        raise ValueError(f"images must have shape (N, D) or (N, H, W), got {tuple(images.shape)}")
    n, h, w = images.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    out = torch.full((rows * (h + pad) - pad, cols * (w + pad) - pad), pad_value)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return out


def image_grid(
    images: Tensor,
    image_shape: Sequence[int] | None = None,
    *,
    nrow: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "gray",
    pad: int = 1,
) -> Figure:
    """Show ``images`` ``(N, D)`` (with ``image_shape=(H, W)``) or ``(N, H, W)`` as tiles, ``nrow`` per row.

    Tile ``i`` sits in row ``i // nrow``, column ``i % nrow``, separated by ``pad`` pixels of the
    brightest value. Pixels in [0, 1] are shown on that fixed scale, others on their own range.
    """
    check_positive_int("nrow", nrow)
    lo, hi = float(images.min()), float(images.max())
    vmin, vmax = (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi)
    grid = _tile(images, image_shape, nrow, pad, vmax)
    fig, ax = _figure(ax, (min(12.0, 0.9 * min(nrow, len(images)) + 1), 0.9 * math.ceil(len(images) / nrow) + 1))
    ax.imshow(grid.numpy(), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)  # the padding frames the images; no axis lines under the grid
    ax.set_title(title or f"{len(images)} images")
    ax.set_xlabel(f"{nrow} per row, read left to right")
    return fig


def _history_dict(history: Any) -> dict[str, list[float]]:
    d = history.to_dict() if hasattr(history, "to_dict") else history
    if not isinstance(d, Mapping) or "train_elbo" not in d:
        raise TypeError(
            f"history must be a History or its to_dict() with key 'train_elbo', got {type(history).__name__}"
        )
    return {k: list(v) for k, v in d.items() if isinstance(v, (list, tuple))}


_TERMS = (  # history key, y label, panel title
    ("elbo", "ELBO (nats)", "ELBO"),
    ("reconstruction", "E_q log p(x|z) (nats)", "reconstruction term"),
    ("kl", "KL(q(z|x) || p(z)) (nats)", "KL term"),
)


def loss_curves(
    history: Any,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    title: str = "Training curves",
    terms: bool = False,
) -> Figure:
    """Per-epoch train and validation ELBO (S6) from a ``History`` or its ``to_dict()``.

    ``terms=True`` draws a 1x3 figure: the ELBO, its reconstruction term and its KL term (S7);
    pass three axes as ``ax`` to draw into existing ones.
    """
    d = _history_dict(history)
    shown = _TERMS if terms else _TERMS[:1]
    if ax is None:
        fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown) + 0.8, 3.6), squeeze=False)
        axes_list = list(axes[0])
    else:
        axes_list = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes_list) != len(shown):
            raise ValueError(f"ax must hold {len(shown)} axes for terms={terms}, got {len(axes_list)}")
        fig = axes_list[0].get_figure()
    for a, (key, label, name) in zip(axes_list, shown, strict=True):
        for split, style in (("train", "-o"), ("val", "--s")):
            values = d.get(f"{split}_{key}", [])
            if values:
                a.plot(range(1, len(values) + 1), values, style, ms=3, label=split)
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.set_ylabel(label)
        a.set_title(title if len(shown) == 1 else f"{title}: {name}")
        a.legend()
        a.grid(alpha=0.3)
    if terms:
        fig.tight_layout()
    return fig  # type: ignore[return-value]


def latent_scatter(
    z: Tensor,
    labels: Tensor | None = None,
    *,
    ax: Axes | None = None,
    title: str = "Latent codes (posterior means)",
    max_classes: int = 20,
) -> Figure:
    """Scatter ``z (N, 2)`` coloured by ``labels (N,)``: a legend for up to ``max_classes`` integer
    classes, a colorbar for anything else."""
    z = check_tensor("z", z.detach().float().cpu(), min_dim=2, last=2)
    fig, ax = _figure(ax, (5.5, 4.8))
    ax.set_title(title)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=6, alpha=0.6)
        return fig
    labels = labels.detach().cpu().reshape(-1)
    if labels.shape[0] != z.shape[0]:
        raise ValueError(f"labels must have one entry per row of z ({z.shape[0]}), got shape {tuple(labels.shape)}")
    classes = labels.unique()
    if not labels.is_floating_point() and len(classes) <= max_classes:
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, c in enumerate(classes.tolist()):
            keep = labels == c
            ax.scatter(z[keep, 0], z[keep, 1], s=6, alpha=0.7, color=cmap(i), label=str(c))
        # beside the plot, not over the points (ten classes fill any corner of a latent map)
        ax.legend(title="label", markerscale=2.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    else:
        points = ax.scatter(z[:, 0], z[:, 1], s=6, alpha=0.7, c=labels.float(), cmap="viridis")
        fig.colorbar(points, ax=ax, label="label")
    return fig


@torch.no_grad()
def manifold_grid(
    model: Any,
    image_shape: Sequence[int],
    *,
    n: int = 15,
    lim: float = 3.0,
    quantiles: bool = False,
    ax: Axes | None = None,
    title: str = "Decoded latent grid",
    cmap: str = "gray",
    pad: int = 0,
) -> Figure:
    """Decode an ``n x n`` grid of 2-D ``z`` and tile E[x|z], with ``z_1`` left to right, ``z_2`` bottom to top.

    ``pad`` pixels separate the tiles (use 1 for images whose strokes touch their borders, like the 8x8 digits).

    The grid spans ``[-lim, lim]^2``, or with ``quantiles=True`` the standard-normal quantiles of
    ``linspace(0.05, 0.95, n)`` (equal prior mass per cell, as in Kingma & Welling 2014, Fig. 4).
    """
    check_positive_int("n", n)
    if model.z_dim != 2:
        raise ValueError(f"model must have a 2-D latent space (z_dim=2), got z_dim={model.z_dim}")
    if quantiles:
        axis = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))
    else:
        if not lim > 0:
            raise ValueError(f"lim must be > 0, got {lim!r}")
        axis = torch.linspace(-lim, lim, n)
    p = next(model.parameters())
    z1, z2 = torch.meshgrid(axis, axis.flip(0), indexing="xy")  # row r: z2 = axis[n-1-r]; column c: z1 = axis[c]
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], -1).to(device=p.device, dtype=p.dtype)
    decoder = model.decoder
    x = decoder.mean(z) if hasattr(decoder, "mean") else model.decode(z)
    # tiles abut in the image; gutters are drawn as lines of one width, not as resampled pixels
    fig = image_grid(x, image_shape, nrow=n, ax=ax, title=title, cmap=cmap, pad=0)
    ax = fig.axes[0] if ax is None else ax
    h, w = image_shape
    if pad > 0:
        fig.canvas.draw_idle()
        tile_pt = ax.get_window_extent().width * 72 / fig.dpi / n
        lw = max(0.75, tile_pt * pad / (w + pad))
        colour = ax.get_images()[0].cmap(1.0)
        kw = {"color": colour, "lw": lw, "capstyle": "butt"}
        ax.vlines([c * w - 0.5 for c in range(1, n)], -0.5, n * h - 0.5, **kw)
        ax.hlines([r * h - 0.5 for r in range(1, n)], -0.5, n * w - 0.5, **kw)
        ax.set_xlim(-0.5, n * w - 0.5)
        ax.set_ylim(n * h - 0.5, -0.5)
    ticks = symmetric_ticks(n)
    label = lambda v: f"{v:.2g}" if abs(v) > 1e-6 else "0"  # noqa: E731  (linspace's centre is ~1e-8)
    ax.set_xticks([c * w + (w - 1) / 2 for c in ticks], [label(float(axis[c])) for c in ticks])
    ax.set_yticks([r * h + (h - 1) / 2 for r in ticks], [label(float(axis[n - 1 - r])) for r in ticks])
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    return fig


def symmetric_ticks(n: int, k: int = 5) -> list[int]:
    """About ``k`` tile indices of an ``n``-tile axis, symmetric about its centre (first, middle, last)."""
    half = {int(i * (n - 1) / (k - 1)) for i in range(k // 2)}
    middle = {(n - 1) // 2} if n % 2 else set()
    return sorted(half | middle | {n - 1 - i for i in half})


def density_contour(
    grid_axes: Sequence[Tensor],
    log_prob: Tensor,
    *,
    ax: Axes | None = None,
    title: str = "Density on a latent grid",
    levels: int = 8,
    filled: bool = True,
    log_scale: bool = False,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
) -> Figure:
    """Contours of a 2-D density from its log on a grid, e.g. log p(z|x) from ``grid_posterior`` (S4).

    ``grid_axes`` holds two ``(n1,)``, ``(n2,)`` tensors (``Grid.axes``); ``log_prob`` is ``(n1, n2)``
    with ``[i, j]`` at ``(z_1 = axes[0][i], z_2 = axes[1][j])``, or flat ``(n1 * n2,)`` in that order
    (``torch.cartesian_prod``). Shows ``exp(log_prob)``, or ``log_prob`` itself with ``log_scale=True``.
    """
    if len(grid_axes) != 2:
        raise ValueError(f"grid_axes must hold 2 tensors (one per latent dim), got {len(grid_axes)}")
    a1, a2 = (check_tensor(f"grid_axes[{i}]", a.detach().double().cpu()) for i, a in enumerate(grid_axes))
    lp = log_prob.detach().double().cpu()
    if lp.numel() != len(a1) * len(a2):
        raise ValueError(f"log_prob must have {len(a1)}x{len(a2)} entries for these axes, got {tuple(lp.shape)}")
    lp = lp.reshape(len(a1), len(a2))
    values = lp if log_scale else torch.exp(lp)
    fig, ax = _figure(ax, (5.2, 4.6))
    draw = ax.contourf if filled else ax.contour
    cs = draw(a1.numpy(), a2.numpy(), values.T.numpy(), levels=levels, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log density" if log_scale else "density")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal")
    return fig
