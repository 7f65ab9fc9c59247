"""The widgets without a browser: they build, every slider redraws, and what they show is what
explorers.py computes for the sliders' values."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from lecture_vae import VAE
from lecture_vae.classroom import explorers, widgets

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


def test_explorers_display_as_their_widget(latent):
    bundle = latent._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "LatentExplorer: run the notebook in Jupyter to use the sliders"  # static fallback
