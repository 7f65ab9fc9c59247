"""Figures of the classroom explorers (matplotlib only): a result of ``explorers`` in, a ``Figure`` out.

Figures are made without pyplot (no global state, nothing shown by accident) and with fixed margins,
since a layout engine would double the drawing time of every slider move. ``png`` renders one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from . import explorers as ex


def _figure(w: float, h: float, **adjust: float) -> Figure:
    """A pyplot-free figure with fixed margins (a layout engine would double the drawing time)."""
    fig = Figure(figsize=(w, h), dpi=80)
    fig.subplots_adjust(**{"left": 0.08, "right": 0.98, "bottom": 0.13, "top": 0.9, "wspace": 0.3, **adjust})
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg canvas, no pyplot state involved)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# --- 1. Bayes' rule and the ELBO gap (S4-S7) -----------------------------------------------------


def draw_elbo_gap(r: ex.ELBOGap, title: str = "") -> Figure:
    """Left: p(z), p(z|x), q(z|x) over z. Right: log p(x) = ELBO + KL(q || p(z|x)) as stacked bars."""
    fig = _figure(9.5, 3.6, wspace=0.35)
    ax, bx = fig.subplots(1, 2, width_ratios=[2.2, 1])
    z = r.z.numpy()
    ax.plot(z, r.log_prior.exp().numpy(), "--", color="grey", label="prior p(z)")
    ax.plot(z, r.log_posterior.exp().numpy(), color="C0", lw=2, label="posterior p(z|x)")
    ax.fill_between(z, r.log_q.exp().numpy(), color="C1", alpha=0.35, label="q(z|x)")
    ax.set(xlabel="z", ylabel="density", title=title or "Bayes' rule: p(z|x) = p(x|z) p(z) / p(x)")
    ax.set_ylim(0, min(3.0, 1.1 * float(max(r.log_posterior.max().exp(), r.log_q.max().exp(), 0.45))))
    ax.legend(loc="upper right", fontsize="small")
    names = [f"ELBO\n{r.elbo:.3f}", f"log p(x)\n{r.log_px:.3f}"]
    bx.bar(names, [r.elbo, r.log_px], color=["C1", "C0"])
    bx.bar(names[:1], [r.gap], bottom=[r.elbo], color="C3", label="gap")
    bx.axhline(r.log_px, color="C0", lw=1)
    bx.set(ylabel="nats", title=f"gap = KL(q ‖ p(z|x)) = {r.gap:.3f}", ylim=(1.1 * min(r.elbo, r.log_px, -0.1), 0))
    return fig


# --- 2. The reparameterization trick (S8) --------------------------------------------------------


def draw_reparam(r: ex.ReparamSamples, mu: Sequence[float], n_marked: int = 6) -> Figure:
    """Two scatter plots of mu + A eps, same eps, coloured by the direction of eps; a few points numbered."""
    fig = _figure(9.5, 4.4, left=0.07, wspace=0.2)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    colour = np.arctan2(r.eps[:, 1].numpy(), r.eps[:, 0].numpy())
    lim = float(np.abs(np.asarray(mu)).max() + 3.2 * float(r.sigma.diagonal().sqrt().max()))
    panels = ((r.z_chol, r.scale_chol, "Cholesky: A = L"), (r.z_eigh, r.scale_eigh, "eigen: A = Q D$^{1/2}$"))
    for ax, (z, a, name) in zip(axes, panels, strict=True):
        ax.scatter(z[:, 0], z[:, 1], c=colour, cmap="hsv", s=9, alpha=0.8)
        for i in range(n_marked):
            ax.annotate(str(i + 1), z[i].tolist(), fontsize=11, fontweight="bold")
        for col in a.T.tolist():  # the columns of A: where eps = e_j lands, relative to mu
            ax.annotate("", (mu[0] + col[0], mu[1] + col[1]), mu, arrowprops={"arrowstyle": "->", "lw": 2})
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$z_1$", ylabel="$z_2$")
        ax.set_title(f"{name}: z = μ + A ε")
    return fig


# --- 3. The latent plane of a trained VAE (S5) ---------------------------------------------------


def _show(ax: Any, image: Tensor, image_shape: Sequence[int], title: str) -> None:
    ax.imshow(image.reshape(*image_shape).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize="medium")
    ax.set_xticks([])
    ax.set_yticks([])


def _latent_plane(ax: Any, z_means: Tensor, labels: Tensor, title: str, lim: float) -> None:
    """Posterior means coloured by label, each class's label written at its median (cheaper than a legend)."""
    ax.scatter(*z_means.T, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=5, alpha=0.5)
    for c in labels.unique().tolist():
        ax.text(*z_means[labels == c].median(0).values.tolist(), str(c), fontsize=14, fontweight="bold", ha="center")
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=title, xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


def draw_latent_point(
    z_means: Tensor, labels: Tensor, z: Sequence[float], image: Tensor, shape: Sequence[int], lim: float = 3.5
) -> Figure:
    """Left: posterior means of the data with the chosen z marked. Right: the decoded E[x|z]."""
    fig = _figure(8.5, 4.0, wspace=0.15, top=0.92, bottom=0.12)
    ax, bx = fig.subplots(1, 2, width_ratios=[1.3, 1])
    _latent_plane(ax, z_means, labels, "posterior means of the data", lim)
    ax.plot(*z, "k+", ms=22, mew=3)
    _show(bx, image, shape, f"decoded E[x|z], z = ({z[0]:+.2f}, {z[1]:+.2f})")
    return fig


def draw_interpolation(
    z_means: Tensor,
    labels: Tensor,
    path: ex.LatentPath,
    t: float,
    x_ends: Sequence[Tensor],
    shape: Sequence[int],
    lim: float = 3.5,
) -> Figure:
    """The segment between two posterior means, the two data images, the decode at ``t`` and a strip."""
    fig = _figure(9.5, 4.2, wspace=0.12, hspace=0.1, top=0.92, bottom=0.12)
    grid = fig.add_gridspec(2, 4, width_ratios=[2.2, 1, 1, 1], height_ratios=[1.5, 1])
    ax = fig.add_subplot(grid[:, 0])
    _latent_plane(ax, z_means, labels, "line between two posterior means", lim)
    ax.plot(*path.z.T, "k-", lw=1.5)
    k = int(torch.argmin((path.t - t).abs()))
    ax.plot(*path.z[k], "k+", ms=20, mew=3)
    for col, (img, name) in enumerate(((x_ends[0], "data x_a"), (path.images[k], f"decoded, t = {t:.2f}"))):
        _show(fig.add_subplot(grid[0, 1 + col]), img, shape, name)
    _show(fig.add_subplot(grid[0, 3]), x_ends[1], shape, "data x_b")
    strip = torch.cat([img.reshape(*shape) for img in path.images[:: max(1, len(path.t) // 9)]], 1)
    _show(fig.add_subplot(grid[1, 1:]), strip, strip.shape, "decoded along the line, t = 0 → 1")
    return fig
