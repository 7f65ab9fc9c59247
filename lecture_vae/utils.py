"""Seeding and device selection, called once from a notebook's setup cell (never at import)."""

from __future__ import annotations

import numbers
import random

import torch

SEED_RANGE = (0, 2**32 - 1)  # what NumPy accepts; torch takes up to 2**64 - 1


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy (if present) and torch; return a ``torch.Generator`` seeded the same.

    ``seed`` is an int in [0, 2**32 - 1], the range every one of the three generators accepts.
    """
    lo, hi = SEED_RANGE
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not lo <= seed <= hi:
        raise ValueError(f"seed must be an int in [{lo}, {hi}] (2**32 - 1), got {type(seed).__name__} {seed!r}")
    seed = int(seed)
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA, else Apple MPS, else CPU; otherwise the named device, checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be one of ['auto', 'cpu', 'cuda', 'mps'], got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch.cuda.is_available() is False on this machine")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for, but no Apple MPS device is available on this machine")
    return torch.device(name)
