"""Figures of the classroom explorers (matplotlib only): a result of ``explorers`` in, a ``Figure`` out.

Figures are made without pyplot (no global state, nothing shown by accident) and with fixed margins,
since a layout engine would double the drawing time of every slider move. ``png`` renders one at twice
its nominal resolution (sharp on a projector); the widget scales it to the cell's width. Text follows
``figures.style`` one point larger, so it stays at least 11 pt when a 1366-pixel laptop shrinks it.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from torch import Tensor

from ..figures import style
from . import explorers as ex

PNG_DPI = style.RETINA_DPI  # pixels per figure inch in the PNG: 2x the nominal 100
RC = {**style.RC, "font.size": style.BASE_PT + 1, "axes.titlesize": style.BASE_PT + 1}
RC.update({k: style.MIN_PT + 1 for k in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize")})
GAP_COLOR, Q_COLOR, POSTERIOR_COLOR = "#D55E00", "#E69F00", "#0072B2"

F = TypeVar("F", bound=Callable[..., Figure])


def _styled(draw: F) -> F:
    """Run a ``draw_*`` function under the widget style (rcParams are read when artists are made)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(RC):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _figure(w: float, h: float, **adjust: float) -> Figure:
    """A pyplot-free figure with fixed margins (a layout engine would double the drawing time)."""
    fig = Figure(figsize=(w, h), dpi=style.DPI)
    fig.subplots_adjust(**{"left": 0.08, "right": 0.98, "bottom": 0.15, "top": 0.9, "wspace": 0.3, **adjust})
    return fig


def png(fig: Figure, dpi: float = PNG_DPI) -> bytes:
    """The figure as PNG bytes at ``dpi`` (Agg canvas, no pyplot state involved)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# --- 1. Bayes' rule and the ELBO gap (S4-S7) -----------------------------------------------------


@_styled
def draw_elbo_gap(r: ex.ELBOGap, title: str = "") -> Figure:
    """Left: p(z), p(z|x), q(z|x) over z. Right: log p(x) = ELBO + KL(q || p(z|x)) as stacked bars.

    The density axis always shows the tallest curve's peak (a sharp posterior is not cut off); the
    legend sits outside the plot, under its title, so it covers no curve.
    """
    fig = _figure(9.5, 4.0, wspace=0.42, top=0.8, bottom=0.15, left=0.075, right=0.985)
    ax, bx = fig.subplots(1, 2, width_ratios=[2.2, 1])
    z = r.z.numpy()
    ax.plot(z, r.log_prior.exp().numpy(), "--", color="grey", label="prior p(z)")
    ax.plot(z, r.log_posterior.exp().numpy(), color=POSTERIOR_COLOR, lw=2.5, label="posterior p(z|x)")
    ax.fill_between(z, r.log_q.exp().numpy(), color=Q_COLOR, alpha=0.4, label="q(z|x)", lw=0)
    ax.set(xlabel="z", ylabel="density", xlim=(float(z[0]), float(z[-1])))
    peak = max(float(r.log_posterior.max().exp()), float(r.log_q.max().exp()), 0.45)
    ax.set_ylim(0, 1.08 * peak)
    ax.set_title(title or "Bayes' rule: p(z|x) = p(x|z) p(z) / p(x)", pad=34)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False, borderaxespad=0.2, handlelength=1.5)
    names = [f"ELBO\n{r.elbo:.3f}", f"log p(x)\n{r.log_px:.3f}"]
    bx.bar(names, [r.elbo, r.log_px], color=[Q_COLOR, POSTERIOR_COLOR], width=0.6)
    bx.bar(names[:1], [r.gap], bottom=[r.elbo], color=GAP_COLOR, width=0.6, hatch="//", edgecolor="white", lw=0)
    bx.axhline(r.log_px, color=POSTERIOR_COLOR, lw=1.2, ls=":")
    bx.set(ylabel="nats", ylim=(1.3 * min(r.elbo, r.log_px, -0.1), 0))
    gap = 0.0 if abs(r.gap) < 5e-4 else r.gap  # no "-0.000" at the exact posterior
    bx.set_title(f"gap = KL(q ‖ p(z|x))\n= {gap:.3f} nats", pad=8)
    gap_patch = Patch(facecolor=GAP_COLOR, hatch="//", edgecolor="white", label="gap = log p(x) − ELBO")
    bx.legend(handles=[gap_patch], loc="lower right", handlelength=1.2, borderaxespad=0.2, fontsize=style.MIN_PT)
    return fig


# --- 2. The reparameterization trick (S8) --------------------------------------------------------


def marked_points(eps: Tensor, n: int = 6) -> list[int]:
    """Indices of ``n`` eps points spread around the circle (|eps| in [1, 2], angles 360/n apart).

    Spread in direction, they stay apart under any z = mu + A eps, so their numbers never overlap.
    """
    radius = eps.norm(dim=1)
    angle = torch.atan2(eps[:, 1], eps[:, 0])
    ok = ((radius > 1.0) & (radius < 2.0)).nonzero().flatten()
    if len(ok) < n:
        return list(range(min(n, len(eps))))
    chosen: list[int] = []
    for k in range(n):
        target = -np.pi + (k + 0.5) * 2 * np.pi / n
        diff = torch.remainder(angle[ok] - target + np.pi, 2 * np.pi) - np.pi
        chosen.append(int(ok[diff.abs().argmin()]))
    return chosen


@_styled
def draw_reparam(r: ex.ReparamSamples, mu: Sequence[float], n_marked: int = 6) -> Figure:
    """Two scatter plots of mu + A eps, same eps, coloured by the direction of eps; a few points numbered.

    The numbered points are spread around the eps circle (``marked_points``), so their labels stay apart.
    """
    fig = _figure(9.5, 4.7, left=0.08, right=0.985, wspace=0.18, top=0.9, bottom=0.13)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    colour = np.arctan2(r.eps[:, 1].numpy(), r.eps[:, 0].numpy())
    lim = float(np.abs(np.asarray(mu)).max() + 3.2 * float(r.sigma.diagonal().sqrt().max()))
    panels = ((r.z_chol, r.scale_chol, "Cholesky: A = L"), (r.z_eigh, r.scale_eigh, "eigen: A = Q D$^{1/2}$"))
    marked = marked_points(r.eps, n_marked)
    outline = [patheffects.withStroke(linewidth=3.5, foreground="white")]
    for ax, (z, a, name) in zip(axes, panels, strict=True):
        ax.scatter(z[:, 0], z[:, 1], c=colour, cmap="hsv", s=10, alpha=0.55, lw=0)
        for i, k in enumerate(marked):
            ax.plot(*z[k].tolist(), "o", ms=9, mfc="none", mec="black", mew=1.8)
            ax.annotate(
                str(i + 1),
                z[k].tolist(),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=style.BASE_PT + 1,
                fontweight="bold",
                path_effects=outline,
            )
        for col in a.T.tolist():  # the columns of A: where eps = e_j lands, relative to mu
            ax.annotate("", (mu[0] + col[0], mu[1] + col[1]), mu, arrowprops={"arrowstyle": "-|>", "lw": 2.5})
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$z_1$")
        ax.set_title(f"{name}: z = μ + A ε")
    axes[0].set_ylabel("$z_2$")
    return fig


# --- 3. The latent plane of a trained VAE (S5) ---------------------------------------------------


def _show(ax: Any, image: Tensor, image_shape: Sequence[int], title: str) -> None:
    ax.imshow(image.reshape(*image_shape).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=style.MIN_PT + 1)
    ax.set_xticks([])
    ax.set_yticks([])


def _latent_plane(ax: Any, z_means: Tensor, labels: Tensor, title: str, lim: float) -> None:
    """Posterior means coloured by label, each class's label written at its median (cheaper than a legend)."""
    ax.scatter(*z_means.T, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=6, alpha=0.5, lw=0)
    outline = [patheffects.withStroke(linewidth=3, foreground="white")]
    for c in labels.unique().tolist():
        at = z_means[labels == c].median(0).values.tolist()
        ax.text(*at, str(c), fontsize=15, fontweight="bold", ha="center", va="center", path_effects=outline)
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=title, xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


@_styled
def draw_latent_point(
    z_means: Tensor, labels: Tensor, z: Sequence[float], image: Tensor, shape: Sequence[int], lim: float = 3.5
) -> Figure:
    """Left: posterior means of the data with the chosen z marked. Right: the decoded E[x|z]."""
    fig = _figure(8.5, 4.0, wspace=0.15, top=0.9, bottom=0.13, left=0.09)
    ax, bx = fig.subplots(1, 2, width_ratios=[1.3, 1])
    _latent_plane(ax, z_means, labels, "posterior means of the data", lim)
    ax.plot(*z, "k+", ms=22, mew=3)
    _show(bx, image, shape, f"decoded E[x|z]\nz = ({z[0]:+.2f}, {z[1]:+.2f})")
    return fig


@_styled
def draw_interpolation(
    z_means: Tensor,
    labels: Tensor,
    path: ex.LatentPath,
    t: float,
    x_ends: Sequence[Tensor],
    shape: Sequence[int],
    lim: float = 3.5,
    names: Sequence[str] = ("data a", "data b"),
) -> Figure:
    """The segment between two posterior means, the two data images, the decode at ``t`` and a strip.

    ``names`` titles the two data images (e.g. with their digit class).
    """
    fig = _figure(9.5, 4.4, wspace=0.12, hspace=0.35, top=0.88, bottom=0.12, left=0.08)
    grid = fig.add_gridspec(2, 4, width_ratios=[2.2, 1, 1, 1], height_ratios=[1.5, 1])
    ax = fig.add_subplot(grid[:, 0])
    _latent_plane(ax, z_means, labels, "line between two posterior means", lim)
    ax.plot(*path.z.T, "k-", lw=1.5)
    k = int(torch.argmin((path.t - t).abs()))
    ax.plot(*path.z[k], "k+", ms=20, mew=3)
    for col, (img, name) in enumerate(((x_ends[0], names[0]), (path.images[k], f"decoded\nt = {t:.2f}"))):
        _show(fig.add_subplot(grid[0, 1 + col]), img, shape, name)
    _show(fig.add_subplot(grid[0, 3]), x_ends[1], shape, names[1])
    step = max(1, len(path.t) // 9)
    pad = torch.ones(shape[0], 1)
    strip = torch.cat([torch.cat([img.reshape(*shape), pad], 1) for img in path.images[::step]], 1)[:, :-1]
    _show(fig.add_subplot(grid[1, 1:]), strip, strip.shape, "decoded along the line, t = 0 → 1")
    return fig
