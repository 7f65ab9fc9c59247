"""Seconds per MNIST epoch: ``lecture_vae.training.fit`` against the PyTorch example's loop and the GEMM floor.

The network is the PyTorch example's (pytorch/examples, vae/main.py): 784-400-20-400-784, ReLU,
Bernoulli decoder on grey levels, Adam 1e-3, batch 128, on the same training images for all three.

1. ``fit``: lecture_vae.training.fit (in-memory tensor, one randperm per epoch, fused Adam).
2. baseline: the example's loop, a Dataset returning one image at a time (PIL image -> ToTensor, as
   torchvision's MNIST does) through ``DataLoader(batch_size=128, shuffle=True)``, BCE-sum + KL loss.
3. floor: the epoch's matrix products alone (forward addmm, backward mm for every linear layer).

Run: ``python benchmarks/bench_speed.py [--quick] [--data-root PATH]``; writes benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _common import RESULTS, data_root, machine, median, write_json
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from lecture_vae import VAE
from lecture_vae.training import evaluate, fit, load

BATCH, HIDDEN, Z_DIM, LR = 128, 400, 20, 1e-3


class ExampleVAE(nn.Module):
    """The PyTorch example's model, layer for layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, HIDDEN), nn.Linear(HIDDEN, Z_DIM), nn.Linear(HIDDEN, Z_DIM)
        self.fc3, self.fc4 = nn.Linear(Z_DIM, HIDDEN), nn.Linear(HIDDEN, 784)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h1 = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    def to_lecture_vae(self) -> VAE:
        """The same weights in a lecture_vae VAE (fc21 and fc22 stacked), to score both models alike."""
        vae = VAE(784, Z_DIM, (HIDDEN,))
        with torch.no_grad():
            vae.encoder.net[0].load_state_dict(self.fc1.state_dict())
            vae.encoder.net[2].weight.copy_(torch.cat([self.fc21.weight, self.fc22.weight]))
            vae.encoder.net[2].bias.copy_(torch.cat([self.fc21.bias, self.fc22.bias]))
            vae.decoder.net[0].load_state_dict(self.fc3.state_dict())
            vae.decoder.net[2].load_state_dict(self.fc4.state_dict())
        return vae


class PerImageMNIST(Dataset):
    """One uint8 image at a time, converted like torchvision's MNIST + ToTensor (PIL image -> float / 255)."""

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        self.data = (images * 255).round().to(torch.uint8).reshape(-1, 28, 28)  # the original bytes
        self.targets = labels

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        from PIL import Image

        img = Image.fromarray(self.data[index].numpy())  # torchvision: Image.fromarray(img.numpy(), mode="L")
        x = torch.from_numpy(np.array(img, np.uint8, copy=True)).view(28, 28, 1)  # ToTensor ...
        return x.permute(2, 0, 1).contiguous().to(torch.float32).div(255), int(self.targets[index])


def example_loss(recon_x: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """The example's loss: BCE summed over pixels and batch, plus KL (Kingma & Welling, App. B)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def run_baseline(train: Tensor, labels: Tensor, epochs: int) -> tuple[ExampleVAE, list[float], float]:
    torch.manual_seed(1)
    model = ExampleVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(PerImageMNIST(train, labels), batch_size=BATCH, shuffle=True)
    seconds, cpu0 = [], time.process_time()
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _ in loader:
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = example_loss(recon, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds.append(time.perf_counter() - t0)
    return model, seconds, (time.process_time() - cpu0) / epochs


def run_fit(train: Tensor, epochs: int) -> tuple[VAE, list[float], float]:
    torch.manual_seed(1)
    model = VAE(784, Z_DIM, (HIDDEN,))
    cpu0 = time.process_time()
    history = fit(model, train, epochs=epochs, batch_size=BATCH, lr=LR, seed=1, progress=False)
    return model, history.seconds, (time.process_time() - cpu0) / epochs


def gemm_floor(n: int, repeats: int) -> tuple[list[float], float]:
    """Seconds for one epoch's GEMMs of the four linear layers: forward addmm, backward grad-input and
    grad-weight mm (none for the first layer's input). Bias gradients and everything else left out."""
    layers = [(784, HIDDEN), (HIDDEN, 2 * Z_DIM), (Z_DIM, HIDDEN), (HIDDEN, 784)]  # (in, out)
    g = torch.Generator().manual_seed(0)
    weights = [(torch.randn(o, i, generator=g) * 0.05, torch.randn(o, generator=g)) for i, o in layers]
    sizes = [BATCH] * (n // BATCH) + ([n % BATCH] if n % BATCH else [])
    xs = {b: [torch.rand(b, i, generator=g) for i, _ in layers] for b in set(sizes)}
    gs = {b: [torch.randn(b, o, generator=g) for _, o in layers] for b in set(sizes)}
    seconds, cpu0 = [], time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for b in sizes:
            for li, (w, bias) in enumerate(weights):
                x, grad_y = xs[b][li], gs[b][li]
                torch.addmm(bias, x, w.t())  # forward: y = x W^T + b
                if li > 0:
                    torch.mm(grad_y, w)  # backward: dL/dx
                torch.mm(grad_y.t(), x)  # backward: dL/dW
        seconds.append(time.perf_counter() - t0)
    return seconds, (time.process_time() - cpu0) / repeats


def profile_fit(train: Tensor, steps: int = 100) -> None:
    """Print where one short fit spends its time (torch.profiler, self CPU time per op)."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(1)
    model = VAE(784, Z_DIM, (HIDDEN,))
    fit(model, train[:BATCH], epochs=1, batch_size=BATCH, progress=False)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fit(model, train[: steps * BATCH], epochs=1, batch_size=BATCH, progress=False)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", help="folder holding MNIST/raw/ (default $LECTURE_VAE_DATA or ../shared/data)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per method; test ELBO after these (10)")
    parser.add_argument("--floor-repeats", type=int, default=5, help="repetitions of the GEMM floor (5)")
    parser.add_argument("--quick", action="store_true", help="3 epochs, 3 floor repetitions")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--profile", action="store_true", help="also print a torch.profiler table of fit")
    parser.add_argument("--limit", type=int, help="use only the first N training images (smoke tests)")
    parser.add_argument("--out", default=str(RESULTS / "speed.json"))
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.floor_repeats = 3, 3
    if args.threads:
        torch.set_num_threads(args.threads)
    root = data_root(args.data_root)
    train, test = load("mnist", "train", root=root, download=False), load("mnist", "test", root=root, download=False)
    if args.limit:
        train = train.subset(slice(args.limit))
    info = machine()
    print(
        f"{info['cpu']}, {info['torch_threads']} torch threads, torch {info['torch']}, load {info['load_average_1min']}"
    )
    print(f"MNIST: {len(train)} training images per epoch, batch {BATCH}, {args.epochs} epochs each")

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimizer imports torch._dynamo: not timed
    fit_model, fit_s, fit_cpu = run_fit(train.images, args.epochs)
    print(f"fit        s per epoch {[round(s, 2) for s in fit_s]}")
    base_model, base_s, base_cpu = run_baseline(train.images, train.labels, args.epochs)
    print(f"baseline   s per epoch {[round(s, 2) for s in base_s]}")
    floor_s, floor_cpu = gemm_floor(len(train), args.floor_repeats)
    print(f"GEMM floor s per epoch {[round(s, 2) for s in floor_s]}")
    elbo_fit = evaluate(fit_model, test).elbo
    elbo_base = evaluate(base_model.to_lecture_vae(), test).elbo

    # medians: the first epoch carries one-off costs; CPU time (all threads) is less sensitive to other processes
    wall = {"fit": median(fit_s), "baseline": median(base_s), "gemm_floor": median(floor_s)}
    cpu = {"fit": fit_cpu, "baseline": base_cpu, "gemm_floor": floor_cpu}
    speedup, over_floor = wall["baseline"] / wall["fit"], wall["fit"] / wall["gemm_floor"]
    names = {"fit": "lecture_vae fit", "baseline": "example loop (per-image Dataset)", "gemm_floor": "GEMM floor"}
    elbos = {"fit": f"{elbo_fit:.2f}", "baseline": f"{elbo_base:.2f}", "gemm_floor": ""}
    print(f"\n| method | s / epoch (median of {args.epochs}) | CPU s / epoch | test ELBO after {args.epochs} epochs |")
    print("|---|---:|---:|---:|")
    for key, name in names.items():
        print(f"| {name} | {wall[key]:.2f} | {cpu[key]:.2f} | {elbos[key]} |")
    print(f"\nspeedup fit vs example loop: {speedup:.2f}x (target >= 4x) {'ok' if speedup >= 4 else 'MISSED'}")
    print(f"fit / GEMM floor:            {over_floor:.2f}x (target <= 1.5x) {'ok' if over_floor <= 1.5 else 'MISSED'}")
    print(f"same ratios in CPU time:     {cpu['baseline'] / cpu['fit']:.2f}x and {cpu['fit'] / cpu['gemm_floor']:.2f}x")
    info["load_average_1min_end"] = os.getloadavg()[0]
    write_json(
        Path(args.out),
        {
            "machine": info,
            "setup": {"n_train": len(train), "batch_size": BATCH, "epochs": args.epochs, "network": "784-400-20"},
            "seconds_per_epoch": {"fit": fit_s, "baseline": base_s, "gemm_floor": floor_s},
            "median_seconds_per_epoch": wall,
            "cpu_seconds_per_epoch": cpu,
            "speedup_vs_baseline": speedup,
            "fit_over_gemm_floor": over_floor,
            "cpu_speedup_vs_baseline": cpu["baseline"] / cpu["fit"],
            "cpu_fit_over_gemm_floor": cpu["fit"] / cpu["gemm_floor"],
            "targets": {"speedup_vs_baseline": ">= 4", "fit_over_gemm_floor": "<= 1.5"},
            "test_elbo": {"fit": elbo_fit, "baseline": elbo_base},
        },
    )
    if args.profile:
        profile_fit(train.images)


if __name__ == "__main__":
    main()
