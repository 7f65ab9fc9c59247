"""The original MNIST-style idx ``.gz`` files: MD5 verification, parsing and atomic downloads.

Used by ``data.load``; every file is checked against the MD5 of its original release before use.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import struct
import urllib.request
from pathlib import Path

import numpy as np

from .._atomic import atomic_write

ENV_VAR = "LECTURE_VAE_DATA"
OFFLINE_ENV = "LECTURE_VAE_OFFLINE"  # set (to anything but 0): never download
# name -> (folder under ROOT, {file: MD5 of the original release}, download mirrors)
SOURCES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "mnist": (
        "MNIST",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    ),
    "fashion-mnist": (
        "FashionMNIST",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    ),
}
FILES = tuple(SOURCES["mnist"][1])  # the same four file names for both datasets


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not under the data root and could not be downloaded."""


class ChecksumError(ValueError):
    """A dataset file exists but its MD5 differs from the original release (corrupt or truncated)."""


def read_idx(name: str, path: Path, *, download: bool = True) -> np.ndarray:
    """The array in idx file ``path`` of dataset ``name`` (uint8, e.g. ``(60000, 28, 28)``), MD5-checked, cached.

    ``download`` only shapes the advice of a ``ChecksumError``: whether loading again would fetch the file.
    """
    stat = path.stat()  # the cache key includes mtime and size: a replaced file is read (and checked) again
    try:
        return _parse_idx(str(path), stat.st_mtime_ns, stat.st_size, SOURCES[name][1][path.name])
    except ChecksumError as err:
        if download:
            advice = "Delete it and load again (it is downloaded anew), or copy a good file in its place."
        else:
            advice = (
                f"Copy a good file in its place (downloads are off: download=False or {OFFLINE_ENV}), or delete "
                "it and load again on a machine with internet access."
            )
        raise ChecksumError(f"{err} {advice}") from None


@functools.lru_cache(maxsize=8)
def _parse_idx(path: str, mtime_ns: int, size: int, md5: str) -> np.ndarray:
    """Verify ``md5`` and parse an idx ``.gz`` file (big-endian header, then uint8 data)."""
    raw = Path(path).read_bytes()
    actual = hashlib.md5(raw).hexdigest()
    if actual != md5:
        raise ChecksumError(f"{path} is corrupt or not the original file: expected MD5 {md5}, got {actual}.")
    data = gzip.decompress(raw)
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path} is not an idx file of unsigned bytes (header {data[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def ensure_files(name: str, root: Path, download: bool) -> Path:
    """The folder ``root/<dataset>/raw`` with all four files, downloading missing ones if allowed."""
    sub, md5s, mirrors = SOURCES[name]
    folder = root / sub / "raw"
    missing = [f for f in FILES if not (folder / f).is_file()]
    misplaced = next((d for d in (root, root / "raw") if missing and all((d / f).is_file() for f in FILES)), None)
    if misplaced is not None:
        raise DatasetNotFoundError(
            f"{name} files are in {misplaced}, but load() looks in {folder}: pass the data root (the folder that "
            f"holds {sub}/raw/), not the folder of the files, as root= or {ENV_VAR}"
        )
    reason = "download=False"
    if missing and download:
        made = [p for p in reversed([folder, *folder.parents]) if not p.exists()]
        try:
            for f in list(missing):
                _fetch(mirrors, f, folder / f, md5s[f])
                missing.remove(f)
        except (OSError, ChecksumError) as err:  # no network, HTTP error, full disk, bad download
            reason = f"downloading failed: {err}"
            for p in reversed(made):  # leave no empty folders behind: the next look finds nothing half-made
                try:
                    p.rmdir()
                except OSError:
                    break
    if missing:
        raise DatasetNotFoundError(
            f"{name} data not found in {folder}: missing {', '.join(missing)} ({reason}). "
            f"The folder needs these four files: {', '.join(FILES)}. To fix: set the environment variable "
            f"{ENV_VAR} (or pass root=) to a folder that holds {sub}/raw/ with them, or copy them into {folder} "
            f"(from {mirrors[0]}), or load on a machine with internet access to download them."
        )
    return folder


def _fetch(mirrors: tuple[str, ...], filename: str, dest: Path, md5: str) -> None:
    """Download ``filename`` from the first mirror that works, into ``dest`` (atomically, MD5-checked)."""
    errors = []
    for mirror in mirrors:
        try:
            _download_file(mirror + filename, dest, md5)
            return
        except (OSError, ChecksumError) as err:
            errors.append(f"{mirror + filename}: {err}")
    raise OSError("; ".join(errors))


def _download_file(url: str, dest: Path, md5: str, timeout: float = 30.0) -> None:
    """Write ``url`` to ``dest`` via a temporary file in the same folder and ``os.replace``; check ``md5``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https/http mirrors)
        payload = response.read()
    actual = hashlib.md5(payload).hexdigest()
    if actual != md5:
        raise ChecksumError(f"downloaded {url} has MD5 {actual}, expected {md5}")
    with atomic_write(dest) as f:
        f.write(payload)
