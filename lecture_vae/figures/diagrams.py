"""The lecture's two drawings, made with matplotlib: the VAE (S5) and the computation graphs of the
reparameterization trick (S8). Each function takes an optional ``ax`` and returns the ``Figure``.

Node shapes follow one legend throughout: rectangles are deterministic values, trapezoids are
networks, ellipses are random draws, red boxes are loss terms. Solid arrows run forward; dashed red
arrows carry gradients backward.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, FancyBboxPatch, Patch, Polygon

# face colours by node kind
COLORS = {
    "data": "#e8e8e8",  # observed x, reconstruction x-hat
    "value": "#dbe9f6",  # deterministic tensors: mu, Sigma, A, z = mu + A eps
    "network": "#9ecae1",  # encoder / decoder
    "random": "#fdd0a2",  # sampled: z ~ q, eps ~ N(0, I)
    "prior": "#d9f0d3",  # p(z)
    "loss": "#fcbba1",  # loss terms
    "param": "#ffffff",  # parameters phi, theta
}
FORWARD = "#333333"
BACKWARD = "#cb181d"


def _figure(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]


def _canvas(ax: Axes, width: float, height: float, title: str) -> None:
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)


def _box(ax: Axes, xy: tuple[float, float], text: str, kind: str, w: float = 1.5, h: float = 0.7, **kw) -> None:
    """A rounded rectangle centred at ``xy``; ``kind`` picks the colour (see ``COLORS``)."""
    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=COLORS[kind],
            edgecolor=kw.pop("edgecolor", "#444444"),
            linewidth=kw.pop("linewidth", 1.2),
            linestyle=kw.pop("linestyle", "-"),
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=kw.pop("fontsize", 10), **kw)


def _oval(ax: Axes, xy: tuple[float, float], text: str, w: float = 1.5, h: float = 0.75, fontsize: float = 10) -> None:
    """An ellipse: a random node (a value drawn from a distribution)."""
    ax.add_patch(Ellipse(xy, w, h, facecolor=COLORS["random"], edgecolor="#444444", linewidth=1.2))
    ax.text(*xy, text, ha="center", va="center", fontsize=fontsize)


def _trapezoid(ax: Axes, xy: tuple[float, float], text: str, widen: bool, w: float = 1.6, h: float = 1.3) -> None:
    """A network drawn as a trapezoid: the encoder narrows (x -> z), the decoder widens (z -> x)."""
    x, y = xy
    big, small = h / 2, h / 4
    left, right = (small, big) if widen else (big, small)
    corners = [(x - w / 2, y - left), (x + w / 2, y - right), (x + w / 2, y + right), (x - w / 2, y + left)]
    ax.add_patch(Polygon(corners, closed=True, facecolor=COLORS["network"], edgecolor="#444444", linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    color: str = FORWARD,
    linestyle: str = "-",
    rad: float = 0.0,
    lw: float = 1.4,
) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "linestyle": linestyle,
            "lw": lw,
            "shrinkA": 0,
            "shrinkB": 0,
            "connectionstyle": f"arc3,rad={rad}",
        },
    )


def vae_diagram(ax: Axes | None = None) -> Figure:
    """The VAE of S5: x -> encoder q_phi(z|x) -> (mu, Sigma) -> z = mu + A eps -> decoder p_theta(x|z) -> x-hat.

    Below the forward path, the two ELBO terms of S6/S7: the reconstruction term compares x with the
    decoder's distribution, the KL term compares q_phi(z|x) with the prior p(z) = N(0, I).
    """
    fig, ax = _figure(ax, (12.5, 5.6))
    _canvas(ax, 13.0, 5.8, "The variational autoencoder (S5)")
    y = 3.4  # the forward path
    _box(ax, (0.8, y), "$x$\ndata", "data", w=1.0, h=0.9)
    _trapezoid(ax, (2.75, y), "encoder\n$q_\\phi(z\\,|\\,x)$", widen=False, w=1.9, h=1.7)
    _box(ax, (5.0, y), "$\\mu_\\phi(x)$\n$\\Sigma_\\phi(x)$", "value", w=1.3, h=1.0)
    # z is deterministic given (mu, Sigma) and the noise eps, as in the reparameterized graph of S8
    _box(ax, (7.2, y), "$z$\n$= \\mu + A\\epsilon$", "value", w=1.3, h=1.0)
    _trapezoid(ax, (9.45, y), "decoder\n$p_\\theta(x\\,|\\,z)$", widen=True, w=1.9, h=1.7)
    _box(
        ax,
        (11.9, y),
        "$\\hat{x} = \\mathbb{E}[x\\,|\\,z]$\n(display only)",
        "data",
        w=1.9,
        h=0.9,
        fontsize=9.5,
    )
    for a, b in [((1.3, y), (1.8, y)), ((3.7, y), (4.35, y)), ((5.65, y), (6.55, y)), ((7.85, y), (8.5, y))]:
        _arrow(ax, a, b)
    _arrow(ax, (10.4, y), (11.05, y))

    # the sampling step and its noise input (S8)
    _oval(ax, (7.2, 5.15), "$\\epsilon \\sim \\mathcal{N}(0, I)$", w=2.0, h=0.7, fontsize=9.5)
    _arrow(ax, (7.2, 4.8), (7.2, 3.9))
    ax.text(7.45, 4.4, "noise input;  $AA^\\top = \\Sigma$", fontsize=10, va="center", ha="left")

    # the prior and the two loss terms (S6, S7)
    _box(ax, (2.2, 1.55), "prior $p(z) = \\mathcal{N}(0, I)$", "prior", w=2.5, h=0.6)
    _box(ax, (5.0, 1.55), "KL$(q_\\phi(z\\,|\\,x)\\,\\|\\,p(z))$", "loss", w=2.4, h=0.6, fontsize=9.5)
    _arrow(ax, (5.0, y - 0.5), (5.0, 1.85), linestyle="--")
    _arrow(ax, (3.45, 1.55), (3.8, 1.55), linestyle="--")
    _box(ax, (10.2, 1.55), "reconstruction $\\mathbb{E}_q \\log p_\\theta(x\\,|\\,z)$", "loss", w=3.6, h=0.6)
    # the reconstruction term scores the data x under the decoder's distribution, not its mean x-hat
    _arrow(ax, (9.6, y - 0.75), (9.9, 1.85), linestyle="--")
    ax.text(10.15, 2.45, "$\\log p_\\theta(x\\,|\\,z)$\nat the data $x$", fontsize=9.5, ha="left", va="center")
    ax.plot([0.8, 0.8, 8.4], [y - 0.45, 0.9, 0.9], color=FORWARD, linestyle="--", lw=1.4)
    _arrow(ax, (8.4, 0.9), (9.0, 1.25), linestyle="--")
    ax.text(
        7.6,
        0.35,
        "ELBO = reconstruction $-$ KL  (S6, S7);  loss $= -$ELBO",
        ha="center",
        va="center",
        fontsize=10.5,
        fontweight="bold",
    )
    ax.legend(
        handles=[
            Patch(facecolor=COLORS["network"], edgecolor="#444444", label="network"),
            Patch(facecolor=COLORS["value"], edgecolor="#444444", label="deterministic value"),
            Patch(facecolor=COLORS["random"], edgecolor="#444444", label="random draw"),
            Patch(facecolor=COLORS["loss"], edgecolor="#444444", label="loss term"),
            Line2D([], [], color=FORWARD, linestyle="--", label="enters a loss term"),
        ],
        loc="upper left",
        fontsize=10,
        frameon=False,
        ncol=1,
    )
    return fig


def computation_graph(reparameterized: bool, ax: Axes | None = None) -> Figure:
    """One computation graph of S8, drawn bottom (inputs) to top (loss).

    ``reparameterized=False``: z is drawn from N(mu, Sigma) inside the graph, a random node that the
    backward pass cannot cross (marked with a cross). ``reparameterized=True``: eps ~ N(0, I) is an
    input and z = mu + A eps is deterministic, so the gradient reaches phi.
    """
    fig, ax = _figure(ax, (5.8, 6.6))
    title = "Reparameterized: $z = \\mu + A\\epsilon$" if reparameterized else "Original: $z \\sim q_\\phi(z\\,|\\,x)$"
    _canvas(ax, 7.0, 7.4, title)
    cx, bx = 2.9, 4.6  # the forward column; the backward (gradient) column to its right
    levels = {"input": 0.6, "encoder": 2.0, "params": 3.45, "z": 4.9, "loss": 6.35}
    _box(ax, (1.9, levels["input"]), "$x$", "data", w=0.9, h=0.6)
    _box(ax, (3.9, levels["input"]), "$\\phi$\nparameters", "param", w=1.5, h=0.8, fontsize=10)
    _trapezoid(ax, (cx, levels["encoder"]), "encoder", widen=False, w=2.0, h=1.1)
    _box(ax, (cx, levels["params"]), "$\\mu_\\phi(x),\\ A_\\phi(x)$", "value", w=2.1, h=0.65)
    if reparameterized:
        _box(ax, (cx, levels["z"]), "$z = \\mu + A\\epsilon$", "value", w=2.1, h=0.7)
        _oval(ax, (0.95, levels["params"]), "$\\epsilon \\sim \\mathcal{N}(0, I)$\ninput", w=1.8, h=0.9, fontsize=10)
        _arrow(ax, (1.3, levels["params"] + 0.42), (cx - 0.75, levels["z"] - 0.35))
    else:
        _oval(ax, (cx, levels["z"]), "$z \\sim \\mathcal{N}(\\mu, AA^\\top)$\nsampling", w=2.5, h=0.95, fontsize=10)
    _box(ax, (cx, levels["loss"]), "loss $f(z) = -\\log p_\\theta(x\\,|\\,z)$", "loss", w=3.4, h=0.65, fontsize=9.5)
    # forward arrows (solid, upward)
    _arrow(ax, (1.9, 0.9), (cx - 0.45, 1.55))
    _arrow(ax, (3.9, 1.0), (cx + 0.45, 1.55))
    _arrow(ax, (cx, 2.55), (cx, 3.12))
    _arrow(ax, (cx, 3.78), (cx, 4.43 if not reparameterized else 4.55))
    _arrow(ax, (cx, 5.37 if not reparameterized else 5.25), (cx, 6.02))
    # backward arrows (dashed red, downward), one per edge of the forward column
    back = {"color": BACKWARD, "linestyle": "--"}
    _arrow(ax, (bx, 6.05), (bx, 5.2), **back)
    ax.text(bx + 0.12, 5.62, "$\\partial f/\\partial z$", color=BACKWARD, fontsize=9.5, va="center")
    _arrow(ax, (bx, 4.6), (bx, 3.75), **back)
    if not reparameterized:
        c = 4.175  # a cross over the edge z -> (mu, A): the sampling node has no derivative
        ax.plot([bx - 0.25, bx + 0.25], [c - 0.25, c + 0.25], color=BACKWARD, lw=3)
        ax.plot([bx - 0.25, bx + 0.25], [c + 0.25, c - 0.25], color=BACKWARD, lw=3)
        ax.text(bx + 0.35, c, "blocked:\nno $\\partial z/\\partial \\phi$", color=BACKWARD, fontsize=10, va="center")
        ax.text(
            cx, -0.15, "the encoder gets no gradient from $f$", color=BACKWARD, fontsize=9.5, ha="center", va="center"
        )
        return fig
    ax.text(
        bx + 0.12,
        4.175,
        "$\\partial z/\\partial \\mu = I$\n$\\partial z_i/\\partial A_{ij} = \\epsilon_j$",
        color=BACKWARD,
        fontsize=10,
        va="center",
    )
    _arrow(ax, (bx, 3.15), (bx, 2.1), **back)
    ax.text(bx + 0.12, 2.62, "backprop\nthrough\nencoder", color=BACKWARD, fontsize=10, va="center")
    _arrow(ax, (bx, 1.9), (4.35, 1.05), **back)
    ax.text(cx, -0.15, "$\\nabla_\\phi f$ exists: the encoder learns", color=BACKWARD, fontsize=9.5, ha="center")
    return fig


def reparameterization_graphs(axes: Sequence[Axes] | None = None) -> Figure:
    """S8's figure: the original graph (left) next to the reparameterized one (right), with a shared legend."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11.5, 6.8))
    elif len(axes) != 2:
        raise ValueError(f"axes must hold 2 axes (original, reparameterized), got {len(axes)}")
    fig = axes[0].get_figure()
    computation_graph(False, ax=axes[0])
    computation_graph(True, ax=axes[1])
    fig.legend(
        handles=[
            Patch(facecolor=COLORS["value"], edgecolor="#444444", label="deterministic node"),
            Patch(facecolor=COLORS["random"], edgecolor="#444444", label="random node"),
            Patch(facecolor=COLORS["network"], edgecolor="#444444", label="network"),
            Line2D([], [], color=FORWARD, label="forward pass"),
            Line2D([], [], color=BACKWARD, linestyle="--", label="backward pass (gradient)"),
        ],
        loc="lower center",
        ncol=5,
        fontsize=10,
        frameon=False,
    )
    fig.suptitle("The reparameterization trick moves the randomness into an input (S8)", fontsize=12)
    return fig  # type: ignore[return-value]
