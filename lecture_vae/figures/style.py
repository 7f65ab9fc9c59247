"""One figure style for the notebooks and the classroom widgets, readable from the back row.

``use()`` (first cell of every notebook) sets matplotlib's rcParams and, inside IPython, the inline
backend's ``retina`` format (a 2x PNG shown at its nominal size, sharp on a projector):

    from lecture_vae.figures import style
    style.use()

At ``figure.dpi`` 100 a 12 pt label is 17 CSS pixels on the page, and still 14 px when JupyterLab
shrinks a 12.5-inch diagram into a 1366-pixel laptop's cell. Legends get an opaque frame and
``loc="best"``, so they move off the data rather than sit on it. Hangul (the glossary, the Korean
notes) falls back to an installed CJK font (Noto Sans CJK or NanumGothic).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl

BASE_PT = 12.0  # body text of a figure, in points
MIN_PT = 11.0  # nothing smaller: ticks, legends, annotations
DPI = 100  # CSS pixels per figure inch as displayed (retina PNGs carry twice as many pixels)
RETINA_DPI = 2 * DPI

# the colour-blind-safe qualitative palette of Okabe & Ito (2008), black last
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

RC: dict[str, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": RETINA_DPI,
    "figure.figsize": (7.0, 4.2),
    "font.size": BASE_PT,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Noto Sans CJK KR", "Noto Sans CJK JP", "NanumGothic", "sans-serif"],
    "axes.titlesize": BASE_PT + 1,
    "axes.labelsize": BASE_PT,
    "xtick.labelsize": MIN_PT,
    "ytick.labelsize": MIN_PT,
    "legend.fontsize": MIN_PT,
    "legend.title_fontsize": MIN_PT,
    "legend.loc": "best",
    "legend.framealpha": 0.92,
    "legend.edgecolor": "#bbbbbb",
    "figure.titlesize": BASE_PT + 2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.xmargin": 0.03,
    "axes.ymargin": 0.05,
    "lines.linewidth": 2.0,
    "lines.markersize": 6.0,
    "grid.alpha": 0.3,
    "image.interpolation": "nearest",
}


def use() -> None:
    """Apply the style globally; in IPython, also show inline figures as retina PNGs."""
    mpl.rcParams.update(RC)
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("retina")
            # the inline backend resets figure.dpi to 72 when it starts; keep ours
            mpl.rcParams.update(RC)
    except ImportError:  # plain Python: rcParams alone
        pass


@contextmanager
def context() -> Iterator[None]:
    """The style for the figures made inside the ``with`` block only (the library's own figures)."""
    with mpl.rc_context(RC):
        yield


__all__ = ["BASE_PT", "DPI", "MIN_PT", "OKABE_ITO", "RC", "RETINA_DPI", "context", "use"]
