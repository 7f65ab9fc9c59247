"""Plots: each returns a Figure with the expected axes and artists, titled and labelled, and image_grid
puts each image's pixels in its own tile."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lecture_vae import VAE  # noqa: E402
from lecture_vae.figures import plots  # noqa: E402
from lecture_vae.tractable import LinearGaussian, grid_posterior, log_joint_fn  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax) -> bool:
    return bool(ax.get_title()) and bool(ax.get_xlabel())


def _history() -> dict[str, list[float]]:
    return {
        "train_elbo": [-200.0, -150.0, -130.0],
        "train_reconstruction": [-190.0, -135.0, -112.0],
        "train_kl": [10.0, 15.0, 18.0],
        "val_elbo": [-190.0, -152.0, -140.0],
        "val_reconstruction": [-180.0, -138.0, -121.0],
        "val_kl": [10.0, 14.0, 19.0],
        "seconds": [0.1, 0.1, 0.1],
    }


def test_image_grid_places_each_image_in_its_tile():
    g = torch.Generator().manual_seed(0)
    images = torch.rand((7, 12), generator=g)  # 7 images of 3x4, in [0, 1]
    fig = plots.image_grid(images, (3, 4), nrow=3, title="random tiles")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "random tiles"
    (im,) = ax.get_images()
    arr = torch.as_tensor(im.get_array().data)
    assert arr.shape == (3 * 3 + 2, 3 * 4 + 2)  # 3 rows x 3 columns of 3x4 tiles, 1-pixel gaps
    for i in range(7):
        r, c = divmod(i, 3)
        tile = arr[r * 4 : r * 4 + 3, c * 5 : c * 5 + 4]
        torch.testing.assert_close(tile, images[i].reshape(3, 4).double(), check_dtype=False)
    assert im.get_clim() == (0.0, 1.0)


def test_image_grid_accepts_3d_images_and_existing_axes():
    images = torch.arange(2 * 2 * 2, dtype=torch.float32).reshape(2, 2, 2)  # values outside [0, 1]
    fig, ax = plt.subplots()
    assert plots.image_grid(images, nrow=5, ax=ax) is fig
    (im,) = ax.get_images()
    arr = torch.as_tensor(im.get_array().data)
    assert arr.shape == (2, 5)
    torch.testing.assert_close(arr[:, 3:], images[1].double(), check_dtype=False)
    assert im.get_clim() == (0.0, 7.0) and ax.get_title()


def test_image_grid_rejects_wrong_shape():
    with pytest.raises(ValueError, match="image_shape"):
        plots.image_grid(torch.rand(4, 10), (3, 3))


def test_loss_curves_elbo_and_terms():
    fig = plots.loss_curves(_history())
    (ax,) = fig.axes
    assert _labelled(ax) and ax.get_ylabel()
    assert len(ax.get_lines()) == 2  # train and val
    assert list(ax.get_lines()[0].get_ydata()) == [-200.0, -150.0, -130.0]

    fig3 = plots.loss_curves(_history(), terms=True)
    assert len(fig3.axes) == 3
    assert all(_labelled(a) and len(a.get_lines()) == 2 for a in fig3.axes)
    assert list(fig3.axes[2].get_lines()[1].get_ydata()) == [10.0, 14.0, 19.0]  # val KL


def test_loss_curves_without_validation():
    h = {k: v for k, v in _history().items() if not k.startswith("val")}
    assert len(plots.loss_curves(h).axes[0].get_lines()) == 1
    with pytest.raises(TypeError, match="history"):
        plots.loss_curves({"loss": [1.0]})


def test_latent_scatter_legend_for_classes_and_colorbar_for_floats():
    g = torch.Generator().manual_seed(1)
    z = torch.randn((60, 2), generator=g)
    labels = torch.arange(60) % 3
    fig = plots.latent_scatter(z, labels)
    (ax,) = fig.axes
    assert _labelled(ax) and ax.get_ylabel()
    assert len(ax.collections) == 3 and len(ax.get_legend().get_texts()) == 3
    fig2 = plots.latent_scatter(z, torch.rand(60, generator=g))
    assert len(fig2.axes) == 2  # the scatter and its colorbar
    with pytest.raises(ValueError, match="z"):
        plots.latent_scatter(torch.randn(5, 3))


def test_manifold_grid_decodes_an_n_by_n_grid():
    torch.manual_seed(0)
    model = VAE(12, 2, hidden=(8,))
    for quantiles in (False, True):
        fig = plots.manifold_grid(model, (3, 4), n=5, quantiles=quantiles)
        (ax,) = fig.axes
        assert _labelled(ax) and ax.get_ylabel()
        arr = torch.as_tensor(ax.get_images()[0].get_array().data)
        assert arr.shape == (5 * 3, 5 * 4)
        # top-left tile: z = (lowest z1, highest z2); bottom-right: (highest z1, lowest z2)
        top = float(torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(0.95))) if quantiles else 3.0
        z = torch.tensor([[-top, top]])
        assert ax.get_xticklabels()[0].get_text() == f"{-top:.2g}"
        expected = torch.sigmoid(model.decode(z)).reshape(3, 4).detach()
        torch.testing.assert_close(arr[:3, :4], expected.double(), check_dtype=False)
        bottom = torch.sigmoid(model.decode(torch.tensor([[top, -top]]))).reshape(3, 4).detach()
        torch.testing.assert_close(arr[-3:, -4:], bottom.double(), check_dtype=False)
    with pytest.raises(ValueError, match="z_dim"):
        plots.manifold_grid(VAE(12, 3, hidden=(8,)), (3, 4))


def test_density_contour_of_a_grid_posterior():
    model = LinearGaussian.random(3, 2, generator=torch.Generator().manual_seed(0))
    x = model.sample(1, generator=torch.Generator().manual_seed(1))
    post = grid_posterior(log_joint_fn(model, x), [(-4, 4), (-4, 4)], 30)
    fig = plots.density_contour(post.grid.axes, post.log_prob[:, 0], title="p(z|x)")
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and ax.get_title() == "p(z|x)" and ax.get_xlabel() and ax.get_ylabel()
    fig2 = plots.density_contour(post.grid.axes, post.log_prob[:, 0].reshape(30, 30), filled=False, log_scale=True)
    assert fig2.axes[0].collections or fig2.axes[0].get_children()
    with pytest.raises(ValueError, match="log_prob"):
        plots.density_contour(post.grid.axes, torch.zeros(10))


@pytest.mark.parametrize("n", [5, 7, 15, 20])
def test_manifold_grid_ticks_are_symmetric_and_gutters_are_lines(n):
    """Tick values mirror each other (z and -z), and pad draws n-1 gutter lines each way instead of
    pad pixels that nearest-neighbour resampling would draw unevenly."""
    torch.manual_seed(0)
    fig = plots.manifold_grid(VAE(12, 2, hidden=(8,)), (3, 4), n=n, lim=2.0, pad=1)
    (ax,) = fig.axes
    values = [float(t.get_text().replace("\u2212", "-")) for t in ax.get_xticklabels()]
    assert values == [-v for v in reversed(values)] and len(values) >= 3 + (n % 2 == 0) - 1
    assert values[0] == -2.0 and values[-1] == 2.0
    assert torch.as_tensor(ax.get_images()[0].get_array().data).shape == (n * 3, n * 4)  # no pad pixels
    vertical, horizontal = ax.collections[-2:]
    assert len(vertical.get_segments()) == len(horizontal.get_segments()) == n - 1
    assert ax.get_xlim() == (-0.5, n * 4 - 0.5)  # the last column is whole


def test_latent_scatter_legend_sits_beside_the_points():
    g = torch.Generator().manual_seed(0)
    fig = plots.latent_scatter(torch.randn(200, 2, generator=g), torch.arange(200) % 10)
    (ax,) = fig.axes
    renderer = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
