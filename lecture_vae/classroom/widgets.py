"""Classroom widgets: sliders wired to the logic of ``explorers.py``, drawn with matplotlib.

Each figure (``explorer_plots.draw_*``) is rendered to a 2x PNG and shown in an ``ipywidgets.Image``,
which works in a plain JupyterLab (no ipympl). The image scales to the cell's width; labels, readouts
and tooltips use JupyterLab's content font size, so they grow with Presentation Mode. Without a
running kernel (a static page, a slideshow) an explorer shows a PNG of its current state instead.
Imported by notebooks only.

- ``BayesExplorer``: Bayes' rule and the ELBO gap on a 1-D latent (S4-S7).
- ``ReparamExplorer``: z = mu + A eps for two factors A of Sigma, same eps (S8).
- ``LatentExplorer``: decode any point of a trained 2-D latent space; interpolate between data (S5).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from torch import Tensor

from . import explorers as ex
from .explorer_plots import draw_elbo_gap, draw_interpolation, draw_latent_point, draw_reparam, png

_STYLE = {"description_width": "6.5em"}
PRE_RUN_TEXT = "Run > Run All Cells to show the sliders"
# Widget text at the notebook's content size: 14 px on a laptop, 17+ px in Presentation Mode
# (which raises --jp-content-font-size1 inside .jp-Notebook); the default widget text stays 13 px.
CSS = """<style>
.lv-explorer { --jp-widgets-font-size: var(--jp-content-font-size1);
  --jp-widgets-inline-height: calc(2 * var(--jp-content-font-size1)); font-size: var(--jp-content-font-size1); }
.lv-explorer .widget-label, .lv-explorer .widget-readout, .lv-explorer .widget-html-content,
.lv-explorer .widget-button, .lv-explorer select { font-size: var(--jp-content-font-size1); }
.lv-explorer .widget-html-content td { padding: 0.1em 0.5em 0.1em 0; }
.lv-explorer .lv-note { color: var(--jp-ui-font-color2); line-height: 1.3; white-space: normal; }
.lv-explorer .widget-html-content:has(.lv-note) { white-space: normal; width: 100%; }
.lv-explorer img { width: 100%; height: auto; max-width: 100%; }
</style>"""


def _opts() -> dict[str, Any]:
    return {"continuous_update": True, "style": _STYLE, "layout": W.Layout(width="100%")}


def _image() -> W.Image:
    # fills the rest of the cell's width, keeps its aspect ratio (a 2x PNG stays sharp when it grows)
    layout = W.Layout(flex="1 1 0%", min_width="0", width="auto", height="auto", object_fit="contain")
    return W.Image(format="png", layout=layout)


def _row(*children: W.Widget) -> W.HBox:
    """Controls (about 22 characters wide) and a figure that takes the rest of the width."""
    children[0].layout.flex = "0 0 auto"
    children[0].layout.width = "22em"
    return W.HBox(list(children), layout=W.Layout(align_items="flex-start", width="100%"))


def _note(text: str) -> W.HTML:
    return W.HTML(f"<div class='lv-note'>{text}</div>", layout=W.Layout(width="100%"))


def _slider(desc: str, lo: float, hi: float, step: float, value: float, css: str, tip: str = "") -> W.FloatSlider:
    s = W.FloatSlider(value=value, min=lo, max=hi, step=step, description=desc, tooltip=tip, **_opts())
    s.add_class(css)
    return s


def _explorer_box(children: list[W.Widget], css: str) -> W.Box:
    box = W.VBox([W.HTML(CSS), *children], layout=W.Layout(width="100%"))
    box.add_class("lv-explorer")
    box.add_class(css)
    return box


class _Explorer:
    """Sliders + an Image; ``update()`` recomputes and redraws; displays as its ``widget``."""

    widget: W.Box
    image: W.Image
    _quiet = False

    def _watch(self, fn: Callable[[], None], *controls: W.ValueWidget) -> None:
        for c in controls:
            c.observe(lambda _: None if self._quiet else fn(), names="value")

    def update(self) -> None:
        raise NotImplementedError

    def snapshot(self) -> bytes:
        """A PNG of the explorer's current figure(s), for pages without a kernel."""
        return self.image.value

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget, a PNG of the current state (static pages, slides) and a one-line text."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["image/png"] = base64.b64encode(self.snapshot()).decode("ascii")  # mimebundles carry base64
        bundle["text/plain"] = f"{type(self).__name__} ({PRE_RUN_TEXT})"
        return bundle


# --- 1. Bayes' rule and the ELBO gap (S4-S7) -----------------------------------------------------


class BayesExplorer(_Explorer):
    """Sliders for x and for q(z|x) = N(q_mu, exp(q_logscale)^2); shows the gap closing as q meets p(z|x)."""

    def __init__(self, models: Mapping[str, Any] | None = None, *, x: Sequence[float] = (1.5, 0.5)) -> None:
        self.models = dict(models or ex.bayes_models())
        self.choice = W.Dropdown(
            options=list(self.models),
            description="model",
            style=_STYLE,
            layout=W.Layout(width="100%"),
            tooltip="decoder p(x|z) of a 1-D latent z: linear (exact posterior) or nonlinear (grid posterior)",
        )
        self.x1 = _slider("x₁", -3, 3, 0.05, x[0], "lv-x1", "the observed data point, first coordinate")
        self.x2 = _slider("x₂", -3, 3, 0.05, x[1], "lv-x2", "second coordinate (only for models with D = 2)")
        self.q_mu = _slider("q mean", -3, 3, 0.05, 0.0, "lv-q-mu", "the mean of q(z|x) = N(mean, scale²)")
        self.q_logscale = _slider(
            "q log-scale", -4, 1, 0.05, 0.0, "lv-q-logscale", "log of q's standard deviation: scale = exp(log-scale)"
        )
        self.fit = W.Button(
            description="q ← best Gaussian",
            tooltip="maximize the ELBO over q's two numbers (the gap shrinks to its smallest value)",
            layout=W.Layout(width="auto"),
        )
        self.fit.on_click(lambda _: self.fit_q())
        self.image, self.readout, self.note = _image(), W.HTML(), _note("")
        controls = W.VBox(
            [self.choice, self.x1, self.x2, self.note, self.q_mu, self.q_logscale, self.fit, self.readout]
        )
        self.widget = _explorer_box([_row(controls, self.image)], "lv-bayes-explorer")
        self._watch(self.update, self.choice, self.x1, self.x2, self.q_mu, self.q_logscale)
        self.update()

    @property
    def model(self) -> Any:
        return self.models[self.choice.value]

    def x(self) -> list[float]:
        return [self.x1.value, self.x2.value][: self.model.x_dim]

    def fit_q(self) -> None:
        """Move q's sliders to the Gaussian with the largest ELBO (the exact posterior if linear)."""
        mu, logscale = ex.best_gaussian_q(self.model, self.x())
        self._quiet = True
        self.q_mu.value, self.q_logscale.value = mu, logscale  # sliders round to their step
        self._quiet = False
        self.update()

    def update(self) -> None:
        self.x2.disabled = self.model.x_dim < 2
        self.note.value = (
            "<div class='lv-note'>x₂ is off: this model's data are 1-D (D = 1)</div>" if self.x2.disabled else ""
        )
        self.result = ex.elbo_gap(self.model, self.x(), self.q_mu.value, self.q_logscale.value)
        r = self.result
        self.image.value = png(draw_elbo_gap(r, f"{self.choice.value}, x = {np.round(self.x(), 2).tolist()}"))
        self.readout.value = (
            "<table title='log p(x) = ELBO + gap; ELBO = reconstruction - KL'>"
            f"<tr><td>log p(x)</td><td>{r.log_px:.3f}</td></tr>"
            f"<tr><td>E<sub>q</sub> log p(x|z)</td><td>{r.reconstruction:.3f}</td></tr>"
            f"<tr><td>KL(q ‖ p(z))</td><td>{r.kl_prior:.3f}</td></tr>"
            f"<tr><td><b>ELBO</b></td><td><b>{r.elbo:.3f}</b></td></tr>"
            f"<tr><td><b>gap</b> KL(q ‖ p(z|x))</td><td><b>{r.gap:.4f}</b></td></tr></table>"
        )


# --- 2. The reparameterization trick (S8) --------------------------------------------------------


def _matrix(m: Tensor) -> str:
    rows = "\n".join(" ".join(f"{v:+.2f}" for v in row) for row in m.tolist())
    return f"<pre style='margin:0'>{rows}</pre>"


class ReparamExplorer(_Explorer):
    """Sliders for mu and Sigma = (sigma1, sigma2, rho); one fixed eps cloud under both factors."""

    def __init__(self, n: int = 400, seed: int = 0) -> None:
        self.eps = ex.standard_eps(n, seed)
        self.mu1 = _slider("μ₁", -2, 2, 0.1, 0.0, "lv-mu1", "mean, first coordinate")
        self.mu2 = _slider("μ₂", -2, 2, 0.1, 0.0, "lv-mu2", "mean, second coordinate")
        self.sigma1 = _slider("σ₁", 0.2, 2.5, 0.05, 1.5, "lv-sigma1", "standard deviation of z₁")
        self.sigma2 = _slider("σ₂", 0.2, 2.5, 0.05, 0.7, "lv-sigma2", "standard deviation of z₂")
        self.rho = _slider(  # |rho| < 1 keeps Sigma positive definite
            "ρ", -0.95, 0.95, 0.05, 0.6, "lv-rho", "correlation of z₁ and z₂ (|ρ| < 1 keeps Σ positive definite)"
        )
        self.image, self.readout = _image(), W.HTML()
        sliders = [self.mu1, self.mu2, self.sigma1, self.sigma2, self.rho]
        note = _note("Same ε in both panels; colour = direction of ε; arrows = the columns of A.")
        self.widget = _explorer_box([_row(W.VBox([*sliders, note, self.readout]), self.image)], "lv-reparam-explorer")
        self._watch(self.update, *sliders)
        self.update()

    def update(self) -> None:
        mu = [self.mu1.value, self.mu2.value]
        self.result = r = ex.reparam_samples(mu, self.sigma1.value, self.sigma2.value, self.rho.value, self.eps)
        self.image.value = png(draw_reparam(r, mu))
        cells = [("Σ", r.sigma), (f"sample cov, N={len(self.eps)}", torch.cov(r.z_chol.T))]
        cells += [("L (Cholesky)", r.scale_chol), ("Q D<sup>1/2</sup>", r.scale_eigh)]
        rows = "".join(f"<tr><td><b>{name}</b></td><td>{_matrix(m)}</td></tr>" for name, m in cells)
        self.readout.value = f"<table>{rows}</table>"


# --- 3. The latent plane of a trained VAE (S5) ---------------------------------------------------


class LatentExplorer(_Explorer):
    """A trained 2-D latent VAE: sliders z1, z2 decode any point; a second view interpolates between data."""

    def __init__(self, model: Any, images: Tensor, labels: Tensor, image_shape: Sequence[int], lim: float = 3.5):
        if model.z_dim != 2:
            raise ValueError(f"model must have a 2-D latent space (z_dim=2), got z_dim={model.z_dim}")
        self.model, self.images, self.labels, self.shape, self.lim = model, images, labels, tuple(image_shape), lim
        self.z_means = ex.posterior_means(model, images)
        self.z1 = _slider("z₁", -lim, lim, 0.1, 0.0, "lv-z1", "first latent coordinate of the decoded point")
        self.z2 = _slider("z₂", -lim, lim, 0.1, 0.0, "lv-z2", "second latent coordinate of the decoded point")
        n, b = len(images) - 1, int((labels != labels[0]).int().argmax())  # b: the first of another class
        tip = "index of a data image; its posterior mean is one end of the line"
        self.index_a = W.IntSlider(value=0, min=0, max=n, description="data a", tooltip=tip, **_opts())
        self.index_b = W.IntSlider(value=b, min=0, max=n, description="data b", tooltip=tip, **_opts())
        self.classes = _note("")
        self.t = _slider("t", 0, 1, 0.05, 0.5, "lv-t", "position on the line: t = 0 at data a, t = 1 at data b")
        self.image, self.path_image = _image(), _image()
        self.point_view = _row(W.VBox([self.z1, self.z2, _note("+ marks z on the map of posterior means")]), self.image)
        self.path_view = _row(W.VBox([self.index_a, self.index_b, self.classes, self.t]), self.path_image)
        self.point_view.add_class("lv-latent-view")
        self.path_view.add_class("lv-interp-view")
        title = lambda s: W.HTML(f"<h4>{s}</h4>")  # noqa: E731
        children = [title("Decode a point z"), self.point_view, title("Interpolate"), self.path_view]
        self.widget = _explorer_box(children, "lv-latent-explorer")
        self._watch(self.update, self.z1, self.z2)
        self._watch(self.update_path, self.index_a, self.index_b, self.t)
        self.update()
        self.update_path()

    def update(self) -> None:
        z = [self.z1.value, self.z2.value]
        self.decoded = ex.decode_point(self.model, z)
        self.image.value = png(draw_latent_point(self.z_means, self.labels, z, self.decoded, self.shape, self.lim))

    def label(self, index: int) -> str:
        """The class of data image ``index`` as text (e.g. the digit)."""
        return str(self.labels[index].item())

    def update_path(self) -> None:
        a, b = self.index_a.value, self.index_b.value
        x_a, x_b = self.images[a], self.images[b]
        self.classes.value = (
            f"<div class='lv-note'>a = #{a}: class {self.label(a)}; b = #{b}: class {self.label(b)}</div>"
        )
        self.index_a.description = f"data a ({self.label(a)})"
        self.index_b.description = f"data b ({self.label(b)})"
        self.path = ex.interpolate(self.model, x_a, x_b, torch.linspace(0, 1, 21))
        names = (f"data a: {self.label(a)}", f"data b: {self.label(b)}")
        fig = draw_interpolation(
            self.z_means, self.labels, self.path, self.t.value, (x_a, x_b), self.shape, self.lim, names=names
        )
        self.path_image.value = png(fig)

    def snapshot(self) -> bytes:
        """Both views stacked in one PNG: the decoded point above the interpolation."""
        import io

        from PIL import Image

        top, bottom = (Image.open(io.BytesIO(v)).convert("RGB") for v in (self.image.value, self.path_image.value))
        width = max(top.width, bottom.width)
        out = Image.new("RGB", (width, top.height + bottom.height), "white")
        out.paste(top, (0, 0))
        out.paste(bottom, (0, top.height))
        buf = io.BytesIO()
        out.save(buf, format="PNG")
        return buf.getvalue()


__all__ = ["BayesExplorer", "LatentExplorer", "ReparamExplorer"]
__all__ += ["draw_elbo_gap", "draw_interpolation", "draw_latent_point", "draw_reparam", "png"]  # re-exported
