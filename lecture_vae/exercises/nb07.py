"""Checkers for notebook 07 (training a VAE on the digits): the VAE as an nn.Module, the negative-ELBO loss,
the training loop, and a latent interpolation."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from ..distributions import bernoulli_log_prob, gaussian_kl
from ..model import VAE
from ..reparam import reparameterize
from ._core import ExerciseResult, check_function


def reference_negative_elbo_loss(x: Tensor, x_logits: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """The loss = mean over the batch of -(log Bernoulli(x; sigmoid(x_logits)) - KL(q || p(z))) (S6, S7)."""
    return -(bernoulli_log_prob(x, x_logits) - gaussian_kl(mu, logvar)).mean()


def _loss_cases() -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    cases = []
    for seed, (b, d, l), dtype in [
        (0, (4, 6, 2), torch.float32),
        (1, (7, 64, 3), torch.float64),
        (2, (1, 5, 1), torch.float32),
    ]:
        g = torch.Generator().manual_seed(seed)
        x = torch.rand((b, d), generator=g, dtype=dtype)  # grey levels in [0, 1]
        x_logits = 3.0 * torch.randn((b, d), generator=g, dtype=dtype)
        mu, logvar = torch.randn((b, l), generator=g, dtype=dtype), torch.randn((b, l), generator=g, dtype=dtype)
        cases.append((x, x_logits, mu, logvar))
    # confident decoder: logits of +-40 make sigmoid() round to exactly 0 or 1 in float32
    x = torch.tensor([[0.0, 1.0, 0.5, 0.2], [1.0, 0.0, 0.9, 0.0]])
    cases.append(
        (
            x,
            torch.tensor([[-40.0, 40.0, 40.0, -40.0], [40.0, -40.0, -40.0, 40.0]]),
            torch.zeros(2, 2),
            torch.zeros(2, 2),
        )
    )
    return cases


def check_negative_elbo_loss(student_fn: Callable[..., Tensor], *, quiet: bool = False) -> ExerciseResult:
    """``student_fn(x (B, D), x_logits (B, D), mu (B, L), logvar (B, L))`` -> scalar loss, as in ``fit``."""
    return check_function(
        "negative_elbo_loss",
        student_fn,
        reference_negative_elbo_loss,
        _loss_cases(),
        atol=1e-4,
        rtol=1e-5,
        describe=lambda c: f"x {tuple(c[0].shape)}, z_dim {c[2].shape[-1]}, {c[0].dtype}",
        quiet=quiet,
    )


@torch.no_grad()
def reference_latent_interpolation(model: VAE, x_a: Tensor, x_b: Tensor, n: int) -> Tensor:
    """Decoded means E[x|z_t] along z_t = (1 - t) mu(x_a) + t mu(x_b), t = 0, 1/(n-1), ..., 1."""
    mu = model.encode(torch.stack([x_a, x_b])).mu  # (2, L)
    t = torch.linspace(0.0, 1.0, n, dtype=mu.dtype).unsqueeze(-1)  # (n, 1)
    return torch.sigmoid(model.decode((1 - t) * mu[0] + t * mu[1]))


def _small_vae(seed: int, x_dim: int, z_dim: int) -> VAE:
    """A VAE with weights drawn from a seeded generator (no global RNG), in eval mode."""
    model = VAE(x_dim, z_dim, hidden=(12,))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return model.eval()


def _interpolation_cases() -> list[tuple[VAE, Tensor, Tensor, int]]:
    cases = []
    for seed, (d, l, n) in enumerate([(16, 2, 5), (64, 3, 8), (10, 1, 2)]):
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.rand((2, d), generator=g)
        cases.append((_small_vae(seed, d, l), x[0], x[1], n))
    return cases


def check_latent_interpolation(student_fn: Callable[..., Tensor]) -> ExerciseResult:
    """``student_fn(model, x_a (D,), x_b (D,), n)`` -> ``(n, D)`` pixel means along the line between two codes."""
    return check_function(
        "latent_interpolation",
        student_fn,
        reference_latent_interpolation,
        _interpolation_cases(),
        describe=lambda c: f"D={c[0].x_dim}, L={c[0].z_dim}, n={c[3]}",
    )


# Build it yourself: the VAE as an nn.Module and its training loop (the references of exercises 1 and 3).


class MyVAE(nn.Module):
    """Reference: the VAE of S5 from scratch, layer for layer ``VAE(x_dim, z_dim, hidden=(hidden,))``.

    ``encoder`` and ``decoder`` are each Linear, ReLU, Linear; the encoder's last layer gives 2L numbers,
    ``mu`` first, then ``logvar`` (as in ``lecture_vae.model.Encoder``, which also clamps ``logvar``).
    """

    def __init__(self, x_dim: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.encoder = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z_dim))
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, D)`` -> ``mu (B, L)``, ``logvar (B, L)`` of q_phi(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """``z (B, L)`` -> ``x_logits (B, D)`` of the Bernoulli p_theta(x|z)."""
        return self.decoder(z)

    def forward(self, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One reparameterized draw z = mu + exp(logvar / 2) * eps (S8): ``x_logits``, ``mu``, ``logvar``."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z), mu, logvar


def reference_training_loop(
    model: nn.Module, x: Tensor, epochs: int, batch_size: int, lr: float, seed: int
) -> list[float]:
    """Reference: Adam on ``negative_elbo_loss`` over shuffled batches of ``x (N, D)``; the per-epoch mean loss.

    One generator seeded with ``seed`` draws the shuffling and the noise eps, so a run is reproducible.
    """
    g = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, generator=g)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for (xb,) in loader:
            eps = torch.randn(xb.shape[0], model.z_dim, generator=g)
            loss = reference_negative_elbo_loss(xb, *model(xb, eps))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * xb.shape[0]  # the batch's summed loss: the epoch mean weighs every image once
        losses.append(total / x.shape[0])
    return losses


def _seeded_(model: nn.Module, seed: int, scale: float) -> nn.Module:
    """Overwrite every parameter of ``model`` with ``scale * N(0, 1)`` draws from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g))
    return model


def _run_my_vae(cls: Callable[..., nn.Module], x_dim: int, z_dim: int, hidden: int, seed: int) -> Tensor:
    """Build ``cls(x_dim, z_dim, hidden)`` with the seeded weights of the case; ``[mu, logvar, x_logits]`` of
    ``encode``, ``forward`` and ``decode`` side by side, ``(B, 2L + D + 2L + D)``."""
    with torch.random.fork_rng():  # a model's initial weights must not move the notebook's global RNG
        model = cls(x_dim, z_dim, hidden)
        reference = [tuple(p.shape) for p in VAE(x_dim, z_dim, hidden=(hidden,)).parameters()]
    shapes = [tuple(p.shape) for p in model.parameters()]
    if shapes != reference:
        raise ValueError(
            f"the parameters of MyVAE({x_dim}, {z_dim}, {hidden}) must be, in order, {reference} "
            "(encoder, then decoder, each Linear, ReLU, Linear; the encoder's last layer gives mu and logvar "
            f"together, 2L = {2 * z_dim} numbers), got {shapes}"
        )
    if getattr(model, "z_dim", None) != z_dim:
        raise ValueError(f"MyVAE must store the latent dimension as self.z_dim = {z_dim}")
    _seeded_(model, seed, 0.5)
    g = torch.Generator().manual_seed(1000 + seed)
    x, eps = torch.rand((5, x_dim), generator=g), torch.randn((5, z_dim), generator=g)
    with torch.no_grad():
        encoded = model.encode(x)
        if not (isinstance(encoded, (tuple, list)) and len(encoded) == 2):
            raise ValueError(f"encode(x) must return two tensors (mu, logvar), got {type(encoded).__name__}")
        x_logits, mu, logvar = model(x, eps)
        decoded = model.decode(encoded[0])
    return torch.cat([*encoded, x_logits, mu, logvar, decoded], dim=-1)


def _run_reference_vae(cls: Any, x_dim: int, z_dim: int, hidden: int, seed: int) -> Tensor:
    """The same outputs from ``lecture_vae.VAE`` with the same weights, and z drawn by ``reparameterize``."""
    with torch.random.fork_rng():
        model = _seeded_(VAE(x_dim, z_dim, hidden=(hidden,)), seed, 0.5)
    g = torch.Generator().manual_seed(1000 + seed)
    x, eps = torch.rand((5, x_dim), generator=g), torch.randn((5, z_dim), generator=g)
    with torch.no_grad():
        q_z = model.encode(x)
        x_logits = model.decode(reparameterize(q_z.mu, q_z.logvar, eps))
        return torch.cat([q_z.mu, q_z.logvar, x_logits, q_z.mu, q_z.logvar, model.decode(q_z.mu)], dim=-1)


def check_my_vae(student_cls: Callable[..., nn.Module], *, quiet: bool = False) -> ExerciseResult:
    """``student_cls(x_dim, z_dim, hidden)``: an ``nn.Module`` with ``encode(x) -> (mu, logvar)``,
    ``decode(z) -> x_logits`` and ``forward(x, eps) -> (x_logits, mu, logvar)``, layer for layer
    ``lecture_vae.VAE(x_dim, z_dim, hidden=(hidden,))``: given that VAE's weights it must give its outputs."""
    cases = [(student_cls, 6, 2, 5, 0), (student_cls, 64, 3, 16, 1), (student_cls, 10, 1, 4, 2)]
    return check_function(
        "my_vae",
        _run_my_vae,
        _run_reference_vae,
        cases,
        describe=lambda c: f"MyVAE({c[1]}, {c[2]}, {c[3]})",
        quiet=quiet,
    )


def _loop_problem() -> tuple[Tensor, MyVAE]:
    """Data with structure to learn (noisy copies of 4 patterns, 12 pixels, N = 256) and a seeded model."""
    g = torch.Generator().manual_seed(707)
    patterns = (torch.rand((4, 12), generator=g) > 0.5).float()
    x = patterns[torch.arange(256) % 4]
    x = (x + 0.15 * torch.randn(x.shape, generator=g)).clamp(0.0, 1.0)
    with torch.random.fork_rng():
        model = MyVAE(12, 2, 16)
    return x, _seeded_(model, 7, 0.3)


@torch.no_grad()
def _expected_loss(model: MyVAE, x: Tensor, draws: int = 400) -> tuple[float, float]:
    """The loss averaged over ``draws`` fixed eps per image, and the standard error of one pass over ``x``
    with a single eps per image (the sd of the per-image loss across eps, over sqrt(N))."""
    eps = torch.randn((draws, *x.shape[:-1], model.z_dim), generator=torch.Generator().manual_seed(77))
    x_logits, mu, logvar = model(x, eps)  # z and x_logits (draws, N, .): all draws at once
    per_image = -(bernoulli_log_prob(x, x_logits) - gaussian_kl(mu, logvar))  # (draws, N)
    return float(per_image.mean()), float(per_image.var(0).sum().sqrt() / x.shape[0])


def _loop_failure(student_fn: Callable[..., Any]) -> str | None:
    """What is wrong with the student's training loop, or None."""
    x, start = _loop_problem()

    def run(epochs: int, lr: float, seed: int) -> tuple[MyVAE, list[float]]:
        model = copy.deepcopy(start)
        losses = student_fn(model, x, epochs, 32, lr, seed)
        if losses is None:
            raise ValueError("returned None; did you forget `return losses`?")
        losses = [float(v) for v in losses]
        if len(losses) != epochs or not all(math.isfinite(v) for v in losses):
            raise ValueError(f"must return {epochs} finite per-epoch losses for epochs={epochs}, got {losses}")
        return model, losses

    # 1. lr = 0: the weights stay put, and an epoch's mean loss estimates the expected negative ELBO
    still, losses = run(1, 0.0, 0)
    if any(not torch.equal(p, q) for p, q in zip(still.parameters(), start.parameters(), strict=True)):
        return "with lr=0 the weights changed; use lr for torch.optim.Adam and nothing else to update them"
    expected, se = _expected_loss(start, x)
    if abs(losses[0] - expected) > 5 * se + 1e-3 * abs(expected):
        return (
            f"with lr=0 (no learning) the epoch's mean loss should be {expected:.3f} ± {5 * se:.3f} nats per image, "
            f"got {losses[0]:.4g}: average negative_elbo_loss over the epoch's images (weigh each batch by its size)"
        )
    # 2. learning: from the same start, reach (most of) what the reference loop reaches
    before = expected
    reference = copy.deepcopy(start)
    reference_training_loop(reference, x, 15, 32, 1e-2, 0)
    trained, losses = run(15, 1e-2, 0)
    if all(torch.equal(p, q) for p, q in zip(trained.parameters(), start.parameters(), strict=True)):
        return "the model's weights did not change: train the model you are given, in place"
    after, target = _expected_loss(trained, x)[0], _expected_loss(reference, x)[0]
    if after > target + 0.5 * (before - target):  # correct loops with other draws land within ~0.5 nat of target
        return (
            f"after 15 epochs at lr=0.01 the loss is {after:.2f} nats per image, the reference loop reaches "
            f"{target:.2f} from the same start ({before:.2f}): on every batch call optimizer.zero_grad(), "
            "loss.backward() and optimizer.step(), minimizing the loss (not maximizing it)"
        )
    # 3. one seed drives everything: the same seed gives the same run, another seed another run
    losses = run(2, 1e-2, 0)[1]
    if not torch.allclose(torch.tensor(run(2, 1e-2, 0)[1]), torch.tensor(losses), rtol=1e-6, atol=1e-6):
        return (
            "two runs with the same seed gave different losses: draw the shuffling and eps from one "
            "torch.Generator().manual_seed(seed)"
        )
    if torch.allclose(torch.tensor(run(2, 1e-2, 1)[1]), torch.tensor(losses), rtol=1e-6, atol=1e-6):
        return "runs with seeds 0 and 1 gave the same losses: seed the generator with `seed`"
    return None


def check_training_loop(student_fn: Callable[..., Any], *, quiet: bool = False) -> ExerciseResult:
    """``student_fn(model, x (N, D), epochs, batch_size, lr, seed)`` trains a ``MyVAE`` in place with Adam on
    ``negative_elbo_loss`` and returns the per-epoch mean losses.

    Any shuffling scheme passes (a ``DataLoader`` or slices of a ``randperm``): on a small problem the check
    runs the loop at lr = 0 (its mean loss must match the expected negative ELBO within 5 standard errors),
    trains it for 15 epochs (it must reach half of the reference loop's gain) and repeats a short run
    (one seed, one run).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and never waits for a busy core
    with torch.random.fork_rng():  # the loop may use the global RNG; the notebook's stays where it was
        try:
            failure = _loop_failure(student_fn)
        except NotImplementedError:
            failure = "not implemented yet (your function raised NotImplementedError)."
        except Exception as e:  # a student's bug: report it, don't crash the notebook
            failure = f"raised {type(e).__name__}: {e}"
        finally:
            torch.set_num_threads(threads)
    passed = failure is None
    message = "✓ training_loop: it learns like the reference loop, and one seed gives one run." if passed else ""
    result = ExerciseResult("training_loop", passed, message or f"✗ training_loop: {failure}")
    if not quiet:
        print(result.message)
    return result


reference_my_vae = MyVAE  # exercise 1's reference is the class itself

__all__ = [
    "MyVAE",
    "check_latent_interpolation",
    "check_my_vae",
    "check_negative_elbo_loss",
    "check_training_loop",
    "reference_latent_interpolation",
    "reference_my_vae",
    "reference_negative_elbo_loss",
    "reference_training_loop",
]
