"""Datasets: digits splits against scikit-learn, MNIST statistics against the published ones, MD5 checks,
missing-file messages, downloads (faked: these tests never touch the network) and binarization."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import lecture_vae.training._idx as idx_mod
from lecture_vae import VAE
from lecture_vae.training.data import FILES, ChecksumError, DatasetNotFoundError, default_root, load
from lecture_vae.training.trainer import fit

REPO = Path(__file__).resolve().parents[1]


def _find_root(folder: str) -> Path | None:
    """A data root holding ``folder/raw`` with the four files: $LECTURE_VAE_DATA, else ../shared/data."""
    for candidate in (os.environ.get("LECTURE_VAE_DATA"), REPO.parent / "shared" / "data"):
        if candidate and all((Path(candidate) / folder / "raw" / f).is_file() for f in FILES):
            return Path(candidate)
    return None


MNIST_ROOT, FASHION_ROOT = _find_root("MNIST"), _find_root("FashionMNIST")
_HOW = "set LECTURE_VAE_DATA to a folder with {}/raw/*.gz (torchvision layout) or put them in ../shared/data"
needs_mnist = pytest.mark.skipif(MNIST_ROOT is None, reason="MNIST files not found: " + _HOW.format("MNIST"))
needs_fashion = pytest.mark.skipif(
    FASHION_ROOT is None, reason="Fashion-MNIST files not found: " + _HOW.format("FashionMNIST")
)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(f"network disabled in tests ({url})")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _rows(images: torch.Tensor, labels: torch.Tensor) -> Counter:
    return Counter(tuple(r) + (int(y),) for r, y in zip(images.mul(16).round().int().tolist(), labels, strict=True))


def test_digits_splits_partition_sklearn_digits() -> None:
    from sklearn.datasets import load_digits

    splits = {s: load("digits", s) for s in ("train", "val", "test")}
    assert {s: d.images.shape for s, d in splits.items()} == {
        "train": (1300, 64),
        "val": (200, 64),
        "test": (297, 64),
    }
    for d in splits.values():
        assert d.images.dtype == torch.float32 and d.labels.dtype == torch.int64
        assert float(d.images.min()) == 0.0 and float(d.images.max()) == 1.0
        assert d.image_shape == (8, 8) and d.name == "digits" and d.binarize is None
    # the three splits together are exactly scikit-learn's 1,797 digits (as a multiset), each used once
    sk = load_digits()
    union = sum((_rows(d.images, d.labels) for d in splits.values()), Counter())
    assert union == _rows(torch.tensor(sk.data / 16), torch.tensor(sk.target))
    # fixed split: the same rows on every call, whatever the binarization seed
    again = load("digits", "val", seed=99)
    assert torch.equal(again.images, splits["val"].images) and torch.equal(again.labels, splits["val"].labels)


def test_image_data_behaves_like_a_pair() -> None:
    data = load()
    images, labels = data
    assert images is data.images and labels is data.labels and len(data) == 1300 and data.x_dim == 64
    assert repr(data) == (
        "ImageData(name='digits', split='train', images=(1300, 64) torch.float32, image_shape=(8, 8), binarize=None)"
    )
    head = data.subset(slice(10))
    assert len(head) == 10 and torch.equal(head.images, images[:10]) and head.split == "train"
    assert data.to("cpu").images.device.type == "cpu"


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"name": "mnsit"}, r"name must be one of \['digits', 'mnist', 'fashion-mnist'\], got 'mnsit'"),
        ({"split": "valid"}, r"split must be one of \['train', 'val', 'test'\], got 'valid'"),
        ({"binarize": True}, r"binarize must be one of \[None, 'static', 'dynamic'\], got True"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        load(**kwargs)


def test_static_binarization_is_fixed_and_unbiased() -> None:
    grey = load("digits")
    a, b = load("digits", binarize="static"), load("digits", binarize="static")
    assert set(a.images.unique().tolist()) == {0.0, 1.0} and a.binarize == "static"
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, load("digits", binarize="static", seed=1).images)
    # E[Bernoulli(p)] = p: 83,200 pixels, the standard error of the mean is below 0.002
    assert abs(float(a.images.mean()) - float(grey.images.mean())) < 0.01
    # a pixel that is 0 (or 1) in grey levels stays 0 (or 1)
    assert torch.equal(a.images[grey.images == 0], torch.zeros_like(a.images[grey.images == 0]))


def test_dynamic_binarization_draws_anew_every_epoch() -> None:
    data = load("digits", binarize="dynamic")
    assert data.binarize == "dynamic" and torch.equal(data.images, load("digits").images)
    seen: list[torch.Tensor] = []
    torch.manual_seed(0)
    model = VAE(64, 2, hidden=(8,))
    model.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    fit(model, data, epochs=3, batch_size=len(data), progress=False)  # one batch (all images) per epoch
    assert len(seen) == 3
    for x in seen:
        assert set(x.unique().tolist()) == {0.0, 1.0}
        assert abs(float(x.mean()) - float(data.images.mean())) < 0.01
    column_sums = [x.sum(0) for x in seen]  # invariant to the shuffle: differ only through the draws
    assert not torch.equal(column_sums[0], column_sums[1]) and not torch.equal(column_sums[1], column_sums[2])


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LECTURE_VAE_DATA", str(tmp_path / "data"))
    assert default_root() == tmp_path / "data"
    monkeypatch.delenv("LECTURE_VAE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_root() == tmp_path / "cache" / "lecture_vae"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_root() == Path.home() / ".cache" / "lecture_vae"


@pytest.mark.parametrize("download", [False, True])
def test_missing_files_say_where_and_how(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, download: bool) -> None:
    tried: list[str] = []

    def offline(url: str, dest: Path, md5: str) -> None:
        tried.append(url)
        raise OSError("no route to host")

    monkeypatch.setattr(idx_mod, "_download_file", offline)
    with pytest.raises(DatasetNotFoundError) as err:
        load("fashion-mnist", root=tmp_path, download=download)
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert str(tmp_path / "FashionMNIST" / "raw") in msg and "LECTURE_VAE_DATA" in msg
    assert all(f in msg for f in FILES)
    if download:
        assert tried == ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"]
        assert "downloading failed" in msg and "no route to host" in msg
    else:
        assert tried == [] and "download=False" in msg


@pytest.mark.mnist
@needs_mnist
def test_root_pointing_at_the_files_gets_a_hint() -> None:
    raw = MNIST_ROOT / "MNIST" / "raw"
    with pytest.raises(DatasetNotFoundError, match=f"files are in {raw}, but load.. looks in {raw / 'MNIST' / 'raw'}"):
        load("mnist", root=raw)


def _parse(path: Path) -> np.ndarray:
    """An independent idx reader: images have a 16-byte header, labels an 8-byte one."""
    raw = gzip.open(path).read()
    if "images" in path.name:
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    return np.frombuffer(raw, np.uint8, offset=8)


@pytest.mark.mnist
@needs_mnist
def test_mnist_matches_the_original_release() -> None:
    train, val, test = (load("mnist", s, root=MNIST_ROOT) for s in ("train", "val", "test"))
    assert (train.images.shape, val.images.shape, test.images.shape) == ((50000, 784), (10000, 784), (10000, 784))
    assert train.image_shape == (28, 28)
    raw = MNIST_ROOT / "MNIST" / "raw"
    full = torch.cat([train.images, val.images]).reshape(60000, 28, 28)
    assert torch.equal(full, torch.from_numpy(_parse(raw / "train-images-idx3-ubyte.gz").astype(np.float32) / 255))
    assert torch.equal(torch.cat([train.labels, val.labels]), torch.from_numpy(_parse(raw / FILES[1]).astype(np.int64)))
    # the published normalization constants of MNIST
    assert round(float(full.mean()), 4) == 0.1307
    assert round(float(full.std()), 4) == 0.3081
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    counts = torch.bincount(torch.cat([train.labels, val.labels])).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.mnist
@needs_fashion
def test_fashion_mnist_shapes_and_balance() -> None:
    splits = [load("fashion-mnist", s, root=FASHION_ROOT) for s in ("train", "val", "test")]
    assert [d.images.shape for d in splits] == [(50000, 784), (10000, 784), (10000, 784)]
    assert torch.bincount(splits[2].labels).tolist() == [1000] * 10
    assert torch.bincount(torch.cat([splits[0].labels, splits[1].labels])).tolist() == [6000] * 10


def _copy_mnist(dest_root: Path) -> Path:
    folder = dest_root / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for f in FILES:
        shutil.copy(MNIST_ROOT / "MNIST" / "raw" / f, folder / f)
    return folder


@pytest.mark.mnist
@needs_mnist
def test_corrupt_file_names_file_and_both_md5s(tmp_path: Path) -> None:
    folder = _copy_mnist(tmp_path)
    bad = folder / "t10k-images-idx3-ubyte.gz"
    content = bytearray(bad.read_bytes())
    content[len(content) // 2] ^= 0xFF  # flip one byte
    bad.write_bytes(bytes(content))
    actual = hashlib.md5(bytes(content)).hexdigest()
    with pytest.raises(ChecksumError) as err:
        load("mnist", "test", root=tmp_path)
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert str(bad) in msg and "9fb629c4189551a2d022fa330f9573f3" in msg and actual in msg


def _serve_from(root: Path, fail_prefix: str | None, calls: list[str], corrupt: bool = False):  # noqa: ANN202
    def urlopen(url: str, timeout: float = 0) -> io.BytesIO:
        calls.append(url)
        if fail_prefix and url.startswith(fail_prefix):
            raise urllib.error.URLError("mirror down")
        payload = (root / "MNIST" / "raw" / url.rsplit("/", 1)[1]).read_bytes()
        return io.BytesIO(payload[:-1] if corrupt else payload)

    return urlopen


@pytest.mark.mnist
@needs_mnist
def test_download_falls_back_to_the_next_mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    first = idx_mod.SOURCES["mnist"][2][0]
    monkeypatch.setattr(urllib.request, "urlopen", _serve_from(MNIST_ROOT, first, calls))
    test = load("mnist", "test", root=tmp_path)
    assert test.images.shape == (10000, 784) and len(calls) == 8  # 4 files, each tried on both mirrors
    folder = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no temporary files left
    for f in FILES:
        assert (folder / f).read_bytes() == (MNIST_ROOT / "MNIST" / "raw" / f).read_bytes()


@pytest.mark.mnist
@needs_mnist
def test_bad_download_is_not_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(urllib.request, "urlopen", _serve_from(MNIST_ROOT, None, calls, corrupt=True))
    with pytest.raises(DatasetNotFoundError, match="downloading failed.*MD5"):
        load("mnist", root=tmp_path)
    assert not (tmp_path / "MNIST").exists()


def test_failed_download_leaves_no_empty_folders(tmp_path: Path) -> None:
    """The network is off (autouse fixture): nothing is created, so the data root looks as before."""
    root = tmp_path / "cache" / "lecture_vae"
    with pytest.raises(DatasetNotFoundError, match="downloading failed"):
        load("mnist", "test", root=root, download=True)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()  # folders that existed before stay
    with pytest.raises(DatasetNotFoundError):
        load("mnist", "test", root=tmp_path / "kept", download=True)
    assert (tmp_path / "kept").is_dir() and list((tmp_path / "kept").iterdir()) == []


@pytest.mark.parametrize("download", [False, True])
def test_corrupt_file_advice_fits_the_download_setting(tmp_path: Path, download: bool) -> None:
    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for f in FILES:
        (folder / f).write_bytes(b"not the original file")
    with pytest.raises(ChecksumError) as err:
        load("mnist", "test", root=tmp_path, download=download)
    msg = str(err.value)
    assert "corrupt or not the original file" in msg and str(folder) in msg
    if download:
        assert "downloaded anew" in msg
    else:
        assert "downloaded anew" not in msg and "downloads are off" in msg
