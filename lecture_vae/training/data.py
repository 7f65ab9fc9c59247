"""Datasets held in memory as ``(N, D)`` tensors: the bundled 8x8 digits, MNIST and Fashion-MNIST.

``load(name, split)`` returns an ``ImageData``; ``images, labels = load(...)`` also works.

Splits (fixed, the same on every machine):

- ``"digits"``: scikit-learn's 1,797 UCI digits (8x8, grey levels 0..16 scaled by 1/16), no download;
  one seeded permutation gives 1,300 train / 200 val / 297 test images.
- ``"mnist"``, ``"fashion-mnist"`` (28x28, grey levels 0..255 scaled by 1/255): ``train`` = the first
  50,000 images of the original training file, ``val`` = its last 10,000, ``test`` = the 10,000 of
  the original test file.

MNIST-style files are the original idx ``.gz`` files in torchvision's layout ``ROOT/MNIST/raw/`` and
``ROOT/FashionMNIST/raw/``, checked against their published MD5s. ``ROOT`` is the ``root`` argument,
else the environment variable ``LECTURE_VAE_DATA``, else ``$XDG_CACHE_HOME/lecture_vae``
(default ``~/.cache/lecture_vae``). Missing files are downloaded there when the network allows.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .._checks import check_choice
from ._idx import ENV_VAR, FILES, OFFLINE_ENV, SOURCES, ChecksumError, DatasetNotFoundError, ensure_files, read_idx

__all__ = [
    "BINARIZE",
    "FILES",
    "NAMES",
    "SOURCES",
    "SPLITS",
    "ChecksumError",
    "DatasetNotFoundError",
    "ImageData",
    "default_root",
    "load",
]

NAMES = ("digits", "mnist", "fashion-mnist")
SPLITS = ("train", "val", "test")
BINARIZE = (None, "static", "dynamic")
N_VAL = 10_000  # MNIST-style: the last N_VAL images of the training file form the validation split
DIGITS_SPLIT = (1300, 200)  # digits: train, val sizes; the remaining 297 images are the test split
DIGITS_SPLIT_SEED = 0  # fixed: the digits split never depends on load(..., seed=)


@dataclass(eq=False, repr=False)
class ImageData:
    """A dataset split in memory. Iterating gives ``images, labels``; ``len()`` is the number of images N."""

    images: Tensor  # (N, D) float32 in [0, 1], D = H * W, rows are flattened images
    labels: Tensor  # (N,) int64 class labels 0..9
    image_shape: tuple[int, int]  # (H, W), to reshape a row for plotting
    name: str  # "digits", "mnist" or "fashion-mnist"
    split: str  # "train", "val" or "test"
    binarize: str | None = None  # None (grey levels), "static" (fixed {0,1} draw) or "dynamic" (fit redraws)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return iter((self.images, self.labels))

    def __repr__(self) -> str:
        n, d = self.images.shape
        return (
            f"ImageData(name={self.name!r}, split={self.split!r}, images=({n}, {d}) {self.images.dtype}, "
            f"image_shape={self.image_shape}, binarize={self.binarize!r})"
        )

    @property
    def x_dim(self) -> int:
        """D, pixels per image (the VAE's ``x_dim``)."""
        return self.images.shape[1]

    def subset(self, index: slice | Tensor) -> ImageData:
        """The rows ``index`` (a slice or an index tensor) as a new ``ImageData``, e.g. ``data.subset(slice(1000))``."""
        return dataclasses.replace(self, images=self.images[index], labels=self.labels[index])

    def to(self, device: torch.device | str) -> ImageData:
        """A copy with images and labels on ``device``."""
        return dataclasses.replace(self, images=self.images.to(device), labels=self.labels.to(device))


def default_root() -> Path:
    """``$LECTURE_VAE_DATA`` if set, else ``$XDG_CACHE_HOME/lecture_vae`` (default ``~/.cache/lecture_vae``)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "lecture_vae"


def load(
    name: str = "digits",
    split: str = "train",
    *,
    root: str | os.PathLike[str] | None = None,
    binarize: str | None = None,
    seed: int = 0,
    download: bool = True,
) -> ImageData:
    """Load one split of a dataset into memory (see the module docstring for splits and data roots).

    Parameters
    ----------
    name : ``"digits"`` (8x8, offline), ``"mnist"`` or ``"fashion-mnist"`` (28x28).
    split : ``"train"``, ``"val"`` or ``"test"``.
    root : data root holding ``MNIST/raw/`` and ``FashionMNIST/raw/``; default ``default_root()``.
    binarize : ``None`` keeps grey levels; ``"static"`` draws x ~ Bernoulli(grey level) once with
        ``seed`` (the same on every call); ``"dynamic"`` keeps grey levels and marks the data so that
        ``fit`` draws a fresh Bernoulli sample for every batch.
    seed : seed of the static binarization.
    download : try the standard mirrors when MNIST-style files are missing (never when the environment
        variable ``LECTURE_VAE_OFFLINE`` is set to anything but ``0``).

    Returns
    -------
    ImageData with ``images (N, D)`` float32 in [0, 1] and ``labels (N,)`` int64.
    """
    check_choice("name", name, NAMES)
    check_choice("split", split, SPLITS)
    check_choice("binarize", binarize, BINARIZE)
    if name == "digits":
        pixels, labels, shape = _digits_split(split)
        images = torch.from_numpy(pixels).reshape(len(labels), -1).to(torch.float32).div_(16.0)
    else:
        download = download and os.environ.get(OFFLINE_ENV, "") in ("", "0")
        pixels, labels, shape = _idx_split(name, split, Path(root).expanduser() if root else default_root(), download)
        images = torch.from_numpy(pixels).reshape(len(labels), -1).to(torch.float32).div_(255.0)
    if binarize == "static":  # x ~ Bernoulli(grey level), the same draw on every call
        u = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed))
        images = (u < images).to(torch.float32)
    return ImageData(images, torch.from_numpy(labels).to(torch.int64), shape, name, split, binarize)


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as ``(1797, 8, 8)`` uint8 in 0..16 and labels ``(1797,)``."""
    spec = importlib.util.find_spec("sklearn")  # read scikit-learn's bundled CSV without importing sklearn (slow)
    csv = Path(spec.submodule_search_locations[0]) / "datasets/data/digits.csv.gz" if spec else None
    if csv is not None and csv.is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)  # 64 pixels, then the label
        return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.uint8), bunch.target.astype(np.int64)


def _digits_split(split: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    pixels, labels = _digits()
    perm = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(labels))
    n_train, n_val = DIGITS_SPLIT
    index = {"train": perm[:n_train], "val": perm[n_train : n_train + n_val], "test": perm[n_train + n_val :]}[split]
    return pixels[index], labels[index], (8, 8)


def _idx_split(name: str, split: str, root: Path, download: bool) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    folder = ensure_files(name, root, download)
    stem = "t10k" if split == "test" else "train"
    pixels, labels = (
        read_idx(name, folder / f"{stem}-{kind}-idx{k}-ubyte.gz", download=download)
        for kind, k in (("images", 3), ("labels", 1))
    )
    if split != "test":
        cut = slice(None, len(labels) - N_VAL) if split == "train" else slice(len(labels) - N_VAL, None)
        pixels, labels = pixels[cut], labels[cut]
    return pixels, labels, (pixels.shape[1], pixels.shape[2])
