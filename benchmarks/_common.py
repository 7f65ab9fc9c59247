"""Shared by the benchmark scripts: where MNIST lives, what machine this is, and small helpers."""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def data_root(arg: str | None) -> Path:
    """``--data-root``, else ``$LECTURE_VAE_DATA``, else ``../shared/data`` next to the repository."""
    if arg:
        return Path(arg).expanduser()
    if os.environ.get("LECTURE_VAE_DATA"):
        return Path(os.environ["LECTURE_VAE_DATA"]).expanduser()
    return REPO.parent / "shared" / "data"


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Facts that make a timing reproducible (or explain why it is not)."""
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        # OpenMP settings change timings a lot on a shared machine (see benchmarks/README.md)
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
    }


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def write_json(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
