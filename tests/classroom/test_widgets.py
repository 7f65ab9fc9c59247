"""The widgets without a browser: they build, every slider redraws, and what they show is what
explorers.py computes for the sliders' values."""

from __future__ import annotations

import base64
import io

import matplotlib.text
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from lecture_vae import VAE
from lecture_vae.classroom import explorer_plots, explorers, widgets

PNG = b"\x89PNG\r\n\x1a\n"


def _labelled(fig: Figure) -> bool:
    return all(ax.get_title() for ax in fig.axes) and any(ax.get_xlabel() for ax in fig.axes)


def test_bayes_explorer_redraws_and_shows_the_explorer_numbers():
    b = widgets.BayesExplorer()
    first = bytes(b.image.value)
    assert first.startswith(PNG)
    b.q_mu.value = 0.8
    assert bytes(b.image.value) != first
    r = explorers.elbo_gap(b.model, b.x(), 0.8, b.q_logscale.value)
    assert b.result.gap == pytest.approx(r.gap)
    assert f"{r.gap:.4f}" in b.readout.value and f"{r.elbo:.3f}" in b.readout.value
    assert b.x2.disabled  # the first model has D = 1
    b.choice.value = next(k for k, m in b.models.items() if m.x_dim == 2)
    assert not b.x2.disabled and len(b.x()) == 2


def test_bayes_explorer_button_closes_the_gap_on_a_linear_model():
    b = widgets.BayesExplorer()
    b.x1.value = -1.0
    assert b.result.gap > 0.1
    b.fit.click()
    assert abs(b.result.gap) < 1e-6
    assert b.q_mu.value == pytest.approx(explorers.best_gaussian_q(b.model, b.x())[0])


def test_reparam_explorer_keeps_eps_and_bounds_rho():
    r = widgets.ReparamExplorer(n=50, seed=1)
    eps, first = r.result.eps.clone(), bytes(r.image.value)
    r.rho.value = -0.5
    assert bytes(r.image.value) != first
    assert torch.equal(r.result.eps, eps)
    torch.testing.assert_close(r.result.scale_chol @ r.result.scale_chol.T, r.result.sigma)
    assert -1 < r.rho.min and r.rho.max < 1  # |rho| >= 1 cannot be chosen
    r.rho.value = 5.0  # the slider clamps instead of building a singular Sigma
    assert r.rho.value == r.rho.max


@pytest.fixture(scope="module")
def latent() -> widgets.LatentExplorer:
    torch.manual_seed(0)
    images, labels = torch.rand(30, 16), torch.arange(30) % 3
    return widgets.LatentExplorer(VAE(16, 2, (8,)), images, labels, (4, 4), lim=3.0)


def test_latent_explorer_decodes_the_slider_point(latent):
    first = bytes(latent.image.value)
    latent.z1.value, latent.z2.value = 1.5, -0.5
    assert bytes(latent.image.value) != first
    torch.testing.assert_close(latent.decoded, explorers.decode_point(latent.model, [1.5, -0.5]))


def test_latent_explorer_interpolates_between_the_chosen_points(latent):
    assert latent.labels[latent.index_a.value] != latent.labels[latent.index_b.value]  # two classes at first
    first = bytes(latent.path_image.value)
    latent.index_a.value, latent.index_b.value = 4, 7
    latent.t.value = 0.25
    assert bytes(latent.path_image.value) != first
    ends = explorers.interpolate(latent.model, latent.images[4], latent.images[7], [0.0, 1.0])
    torch.testing.assert_close(latent.path.images[[0, -1]], ends.images)


def test_latent_explorer_needs_a_2d_latent():
    with pytest.raises(ValueError, match="z_dim=2"):
        widgets.LatentExplorer(VAE(16, 3, (8,)), torch.rand(5, 16), torch.zeros(5, dtype=torch.long), (4, 4))


def test_static_figures_are_titled_and_labelled(latent):
    r = explorers.reparam_samples([0.0, 0.0], 1.0, 0.5, 0.3, explorers.standard_eps(20))
    figs = [
        widgets.draw_elbo_gap(explorers.elbo_gap(explorers.bayes_models()["linear-Gaussian, D=1"], [1.0], 0.0, 0.0)),
        widgets.draw_reparam(r, [0.0, 0.0]),
        widgets.draw_latent_point(latent.z_means, latent.labels, [0.0, 0.0], latent.decoded, (4, 4)),
    ]
    for fig in figs:
        assert _labelled(fig)
        assert widgets.png(fig).startswith(PNG)


def test_explorers_display_as_their_widget_with_a_png_of_their_state(latent):
    bundle = latent._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "LatentExplorer (Run > Run All Cells to show the sliders)"  # static fallback
    png = base64.b64decode(data["image/png"])  # a mimebundle carries images as base64 text
    assert png.startswith(PNG)  # a static page shows a picture, not a dead slider
    both = Image.open(io.BytesIO(png))
    point, path = (Image.open(io.BytesIO(v)) for v in (latent.image.value, latent.path_image.value))
    assert both.size == (max(point.width, path.width), point.height + path.height)  # the two views stacked
    bayes = widgets.BayesExplorer()
    assert base64.b64decode(bayes._repr_mimebundle_()["image/png"]) == bayes.image.value


def _texts(fig: Figure) -> list:
    out = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    assert out
    return out


def test_widget_figures_are_2x_pngs_with_text_of_at_least_11_points(latent):
    r = explorers.reparam_samples([0.0, 0.0], 1.0, 0.5, 0.3, explorers.standard_eps(50))
    figs = [
        widgets.draw_elbo_gap(explorers.elbo_gap(explorers.bayes_models()["linear-Gaussian, D=1"], [1.0], 0.0, 0.0)),
        widgets.draw_reparam(r, [0.0, 0.0]),
        widgets.draw_latent_point(latent.z_means, latent.labels, [0.0, 0.0], latent.decoded, (4, 4)),
    ]
    for fig in figs:
        small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 11]
        assert not small, f"text below 11 pt: {small}"
        w, h = fig.get_size_inches()
        assert Image.open(io.BytesIO(widgets.png(fig))).size == (round(2 * 100 * w), round(2 * 100 * h))


def test_gap_figure_shows_the_whole_posterior_and_keeps_its_legend_off_the_curves():
    model = explorers.bayes_models()["nonlinear spiral, D=2"]
    r = explorers.elbo_gap(model, [1.5, 0.5], 0.0, 0.0)
    peak = float(r.log_posterior.exp().max())
    assert peak > 3.0  # the case that used to be cut at 3.0
    fig = widgets.draw_elbo_gap(r)
    ax = fig.axes[0]
    assert ax.get_ylim()[1] >= peak
    renderer = FigureCanvasAgg(fig).get_renderer()
    legend, plot_area = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.y0 >= plot_area.y1 - 1, "the density legend overlaps the plotted curves"
    gap_legend = fig.axes[1].get_legend()
    assert gap_legend is not None and "gap" in gap_legend.get_texts()[0].get_text()


def test_bayes_explorer_says_why_x2_is_off_and_labels_follow_presentation_mode():
    e = widgets.BayesExplorer()
    e.choice.value = "linear-Gaussian, D=1"
    assert e.x2.disabled and "1-D" in e.note.value
    e.choice.value = "linear-Gaussian, D=2"
    assert not e.x2.disabled and e.note.value == ""
    css = e.widget.children[0].value
    assert "--jp-widgets-font-size: var(--jp-content-font-size1)" in css
    assert e.x1.tooltip and e.q_logscale.tooltip and e.fit.tooltip


def test_latent_explorer_names_the_class_of_both_ends(latent):
    latent.index_a.value, latent.index_b.value = 1, 3
    a, b = int(latent.labels[1]), int(latent.labels[3])
    assert latent.index_a.description == f"data a ({a})" and latent.index_b.description == f"data b ({b})"
    assert f"class {a}" in latent.classes.value and f"class {b}" in latent.classes.value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numbered_points_are_spread_around_the_eps_circle(seed):
    eps = explorers.standard_eps(400, seed)
    marked = explorer_plots.marked_points(eps, 6)
    angles = torch.atan2(eps[marked, 1], eps[marked, 0])
    diff = (angles[:, None] - angles[None, :] + torch.pi) % (2 * torch.pi) - torch.pi
    off_diagonal = diff.abs() + 10 * torch.eye(6)
    assert float(off_diagonal.min()) > torch.pi / 6  # at least 30 degrees apart (targets are 60 apart)
    assert all(1.0 < float(eps[k].norm()) < 2.0 for k in marked)
