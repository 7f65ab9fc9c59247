"""The lecture's drawings (S5, S8): each returns a Figure whose text names every node of the diagram."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lecture_vae.figures import diagrams  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig: Figure) -> str:
    """Every string drawn in the figure: text artists, titles, legends, suptitle."""
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def _has_all(text: str, names: list[str]) -> list[str]:
    return [n for n in names if n not in text]


def test_vae_diagram_names_every_node_and_both_loss_terms():
    fig = diagrams.vae_diagram()
    assert isinstance(fig, Figure)
    text = _texts(fig)
    nodes = [
        "$x$",
        "encoder",
        r"q_\phi(z\,|\,x)",
        r"\mu_\phi(x)",
        r"\Sigma_\phi(x)",
        "$z$",
        r"\epsilon",
        "decoder",
        r"p_\theta(x\,|\,z)",
        r"\hat{x}",
        "prior",
        r"p(z) = \mathcal{N}(0, I)",
    ]
    assert not _has_all(text, nodes), _has_all(text, nodes)
    assert "KL" in text and "reconstruction" in text and "ELBO" in text
    assert "S5" in fig.axes[0].get_title()


def test_vae_diagram_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    assert diagrams.vae_diagram(ax=ax) is fig
    assert ax.get_title() and len(ax.patches) >= 9  # boxes, trapezoids, ellipses


@pytest.mark.parametrize("reparameterized", [False, True])
def test_computation_graph_nodes(reparameterized):
    fig = diagrams.computation_graph(reparameterized)
    text = _texts(fig)
    for name in ["$x$", r"\phi", "encoder", r"\mu_\phi(x)", r"A_\phi(x)", "loss", r"\log p_\theta(x\,|\,z)"]:
        assert name in text, name
    if reparameterized:
        assert r"z = \mu + A\epsilon" in text and "input" in text and r"\epsilon \sim \mathcal{N}(0, I)" in text
        assert "blocked" not in text
    else:
        assert "sampling" in text and "blocked" in text and r"\epsilon" not in text
    assert fig.axes[0].get_title()


def test_computation_graph_marks_the_blocked_edge_only_in_the_original():
    def red_thick_lines(fig):
        return [ln for ln in fig.axes[0].lines if ln.get_color() == diagrams.BACKWARD and ln.get_linewidth() >= 3]

    assert len(red_thick_lines(diagrams.computation_graph(False))) == 2  # the two strokes of the cross
    assert not red_thick_lines(diagrams.computation_graph(True))


def test_reparameterization_graphs_side_by_side_with_legend():
    fig = diagrams.reparameterization_graphs()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = (ax.get_title() for ax in fig.axes)
    assert left.startswith("Original") and right.startswith("Reparameterized")
    text = _texts(fig)
    assert "backward pass (gradient)" in text and "random node" in text and "S8" in text


def test_reparameterization_graphs_checks_axes_count():
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="axes must hold 2"):
        diagrams.reparameterization_graphs(axes=list(axes))


def test_vae_diagram_agrees_with_the_reparameterized_graph_on_z():
    """z = mu + A eps is a deterministic node in both pictures (only eps is a random draw), and the
    reconstruction term leaves the decoder's distribution, not the displayed mean x-hat."""
    fig = diagrams.vae_diagram()
    ax = fig.axes[0]
    z_text = next(t for t in ax.texts if t.get_text().startswith("$z$"))
    face = next(
        p.get_facecolor() for p in ax.patches if p.contains_point(ax.transData.transform(z_text.get_position()))
    )
    assert matplotlib.colors.to_hex(face) == diagrams.COLORS["value"]
    assert r"\mu + A\epsilon" in z_text.get_text()
    random = [p for p in ax.patches if matplotlib.colors.to_hex(p.get_facecolor()) == diagrams.COLORS["random"]]
    assert len(random) == 1  # eps only
    assert "display only" in _texts(fig)
