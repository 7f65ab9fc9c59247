"""Peak resident memory of ``log_marginal_estimate`` with k = 5000 importance samples over MNIST test images.

The estimate goes ``batch_size`` images at a time and splits the k samples into chunks of at most
``max_elements`` decoder outputs, so its memory does not grow with k or the number of images. A
thread samples VmRSS from /proc/self/status every few milliseconds (``ru_maxrss`` where /proc is
missing). Target: peak < 2 GiB. For contrast the script prints what the same computation would
hold if it evaluated all k samples at once.

Run: ``python benchmarks/bench_memory.py [--limit 500] [--checkpoint RUN_DIR/checkpoint.pt]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from pathlib import Path

import torch
from _common import RESULTS, data_root, machine, write_json

from lecture_vae import VAE, log_marginal_estimate
from lecture_vae.training import load, load_checkpoint

GIB = 2**30


def rss_bytes() -> int:
    """Current resident set size (VmRSS), or the peak so far where /proc is unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """The process's peak RSS so far (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class PeakSampler(threading.Thread):
    """Samples RSS every ``interval`` seconds until stopped; ``peak`` is the largest value seen."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self._stop_event = interval, rss_bytes(), threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_bytes())
        return self.peak


def naive_bytes(model: VAE, n: int, k: int) -> int:
    """Memory of evaluating all ``k`` samples of ``n`` images at once, counting only the tensors
    no implementation can avoid: z ``(k, n, L)``, decoder hidden layers ``(k, n, H)``, the logits
    ``(k, n, D)`` and their per-pixel log-likelihoods ``(k, n, D)``, in float32."""
    hidden = sum(model.config.hidden)
    return 4 * k * n * (model.z_dim + hidden + 2 * model.x_dim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", help="folder holding MNIST/raw/ (default $LECTURE_VAE_DATA or ../shared/data)")
    parser.add_argument("--k", type=int, default=5000, help="importance samples per image (5000)")
    parser.add_argument("--limit", type=int, help="use only the first N test images (default all 10,000)")
    parser.add_argument("--batch-size", type=int, default=100, help="images per batch (100)")
    parser.add_argument("--max-elements", type=int, default=2**23, help="decoder outputs per chunk (2**23)")
    parser.add_argument("--checkpoint", help="a checkpoint.pt to score (default: an untrained 784-400-20 VAE)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--out", default=str(RESULTS / "memory.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    test = load("mnist", "test", root=data_root(args.data_root), download=False)
    x = test.images[: args.limit]
    if args.checkpoint:
        model = load_checkpoint(args.checkpoint).model.eval()
    else:
        torch.manual_seed(0)
        model = VAE(784, 20, (400,)).eval()
    n = x.shape[0]
    info = machine()
    print(f"{info['cpu']}, {info['torch_threads']} threads, torch {info['torch']}")
    print(f"log_marginal_estimate: {n} MNIST test images, k = {args.k}, batch_size = {args.batch_size}, "
          f"max_elements = {args.max_elements}")  # fmt: skip

    before = rss_bytes()
    sampler = PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    log_px = log_marginal_estimate(
        model, x, args.k, batch_size=args.batch_size, max_elements=args.max_elements,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    peak = sampler.stop()
    naive_all, naive_batch = naive_bytes(model, n, args.k), naive_bytes(model, min(n, args.batch_size), args.k)

    print(f"\nmean log p(x) estimate     {log_px.mean().item():12.2f} nats")
    print(f"time                       {seconds:12.1f} s ({1e3 * seconds / n:.1f} ms per image)")
    print(f"RSS before                 {before / GIB:12.3f} GiB")
    print(f"peak RSS                   {peak / GIB:12.3f} GiB (target < 2 GiB: {'ok' if peak < 2 * GIB else 'MISSED'})")
    print(f"peak RSS, whole process    {peak_rss_bytes() / GIB:12.3f} GiB (ru_maxrss, includes loading the data)")
    print(f"naive, all k at once:  one batch of {min(n, args.batch_size)} images {naive_batch / GIB:10.1f} GiB")
    print(f"naive, all k and all {n} images at once {naive_all / GIB:10.1f} GiB")
    write_json(
        Path(args.out),
        {
            "machine": info,
            "setup": {
                "n_images": n,
                "k": args.k,
                "batch_size": args.batch_size,
                "max_elements": args.max_elements,
                "model": args.checkpoint or "untrained 784-400-20",
            },  # fmt: skip
            "seconds": seconds,
            "rss_before_gib": before / GIB,
            "peak_rss_gib": peak / GIB,
            "ru_maxrss_gib": peak_rss_bytes() / GIB,
            "naive_batch_gib": naive_batch / GIB,
            "naive_all_gib": naive_all / GIB,
            "mean_log_marginal": log_px.mean().item(),
        },
    )


if __name__ == "__main__":
    main()
