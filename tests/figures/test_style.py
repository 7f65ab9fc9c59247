"""The one figure style: no text under 11 pt, retina PNGs at 100 CSS pixels per inch, legends that
move off the data, and a context manager that restores the caller's settings."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

from lecture_vae.figures import style  # noqa: E402

TEXT_SIZES = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize")
TEXT_SIZES += ("legend.fontsize", "legend.title_fontsize", "figure.titlesize")


def _points(value) -> float:
    return FontProperties(size=value).get_size_in_points()


def test_every_text_size_is_at_least_11_points_and_pngs_are_2x():
    with style.context():
        sizes = {k: _points(mpl.rcParams[k]) for k in TEXT_SIZES}
        assert min(sizes.values()) >= 11, sizes
        assert mpl.rcParams["savefig.dpi"] == 2 * mpl.rcParams["figure.dpi"] == 200
        assert mpl.rcParams["legend.loc"] == "best" and mpl.rcParams["legend.framealpha"] >= 0.9


def test_context_restores_and_use_applies_globally():
    before = mpl.rcParams["font.size"]
    with style.context():
        assert mpl.rcParams["font.size"] == style.BASE_PT
    assert mpl.rcParams["font.size"] == before
    with mpl.rc_context():  # undo use() afterwards
        style.use()
        assert mpl.rcParams["font.size"] == style.BASE_PT
        assert "NanumGothic" in mpl.rcParams["font.sans-serif"]  # Hangul falls back to a CJK font
