"""The VAE of S5: an encoder q_phi(z|x), a decoder p_theta(x|z) and the prior p(z) = N(0, I)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import (
    check,
    check_positive_ints,
    choice,
    describe,
    generator_or_none,
    latents,
    positive_int,
    positive_ints,
    tensor,
)
from .bounds import ELBOTerms
from .distributions import DiagonalGaussian, FullGaussian, gaussian_log_prob
from .reparam import reparameterize_full

LIKELIHOODS = ("bernoulli", "gaussian")
POSTERIORS = ("diagonal", "full")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "softplus": nn.Softplus}
ACTIVATION_NAMES = tuple(ACTIVATIONS)
# log-variances are clamped to this range: exp(logvar) neither overflows nor collapses to 0
LOGVAR_MIN, LOGVAR_MAX = -15.0, 10.0


def mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    """Linear layers of ``sizes[i] -> sizes[i+1]`` with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


@dataclass
class VAEConfig:
    """Everything needed to rebuild a ``VAE``; stored in checkpoints."""

    x_dim: int  # D, pixels per image
    z_dim: int  # L, latent dimension
    hidden: tuple[int, ...] = (256,)  # encoder hidden widths; the decoder mirrors them
    likelihood: str = "bernoulli"  # p_theta(x|z): "bernoulli" (logits) or "gaussian" (mean, learned variance)
    posterior: str = "diagonal"  # q_phi(z|x): "diagonal" or "full" covariance
    activation: str = "relu"
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes (dataset, recipe)

    def __post_init__(self) -> None:
        check(x_dim=positive_int(self.x_dim), z_dim=positive_int(self.z_dim), hidden=positive_ints(self.hidden),
              likelihood=choice(self.likelihood, LIKELIHOODS), posterior=choice(self.posterior, POSTERIORS),
              activation=choice(self.activation, ACTIVATION_NAMES))  # fmt: skip
        self.hidden = tuple(self.hidden)


class Encoder(nn.Module):
    """q_phi(z|x) = N(mu(x), Sigma(x)): diagonal (mu, logvar) or full (mu, scale_tril) (S5)."""

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        hidden: Sequence[int] = (256,),
        *,
        posterior: str = "diagonal",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        check(x_dim=positive_int(x_dim), z_dim=positive_int(z_dim), hidden=positive_ints(hidden),
              posterior=choice(posterior, POSTERIORS), activation=choice(activation, ACTIVATION_NAMES))  # fmt: skip
        self.x_dim, self.z_dim, self.posterior = x_dim, z_dim, posterior
        n_tril = z_dim * (z_dim - 1) // 2 if posterior == "full" else 0
        self.net = mlp([x_dim, *hidden, 2 * z_dim + n_tril], activation)
        self.register_buffer("_tril_idx", torch.tril_indices(z_dim, z_dim, offset=-1), persistent=False)

    def forward(self, x: Tensor) -> DiagonalGaussian | FullGaussian:
        """``x (B, D)`` -> q_z with ``mu (B, L)`` and ``logvar (B, L)`` or ``scale_tril (B, L, L)``.

        Checks shape and dtype only (no pass over the values): ``VAE.encode`` and ``elbo`` check x's values.
        """
        check(x=tensor(x, ndim=2, last=self.x_dim, dtype=self.net[0].weight.dtype, finite=False))
        h = self.net(x)
        L = self.z_dim
        mu, logvar = h[:, :L], h[:, L : 2 * L].clamp(LOGVAR_MIN, LOGVAR_MAX)
        if self.posterior == "diagonal":
            return DiagonalGaussian(mu, logvar)
        off_diag = h.new_zeros(h.shape[0], L, L)
        off_diag[:, self._tril_idx[0], self._tril_idx[1]] = h[:, 2 * L :]
        return FullGaussian(mu, torch.diag_embed(torch.exp(0.5 * logvar)) + off_diag)


class Decoder(nn.Module):
    """p_theta(x|z): Bernoulli with ``x_logits`` or Gaussian with a mean and a learned per-pixel variance."""

    def __init__(
        self,
        z_dim: int,
        x_dim: int,
        hidden: Sequence[int] = (256,),
        *,
        likelihood: str = "bernoulli",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        check(z_dim=positive_int(z_dim), x_dim=positive_int(x_dim), hidden=positive_ints(hidden),
              likelihood=choice(likelihood, LIKELIHOODS), activation=choice(activation, ACTIVATION_NAMES))  # fmt: skip
        self.z_dim, self.x_dim, self.likelihood = z_dim, x_dim, likelihood
        self.net = mlp([z_dim, *hidden, x_dim], activation)
        if likelihood == "gaussian":
            self.x_logvar = nn.Parameter(torch.zeros(x_dim))

    def forward(self, z: Tensor) -> Tensor:
        """``z (..., L)`` -> ``x_logits`` (Bernoulli) or the mean (Gaussian), ``(..., D)``.

        Checks shape and dtype only (no pass over the values): ``VAE.decode`` checks z's values.
        """
        check(z=tensor(z, last=self.z_dim, dtype=self.net[0].weight.dtype, finite=False))
        return self.net(z)

    def log_prob(self, x: Tensor, z: Tensor) -> Tensor:
        """log p_theta(x|z), summed over pixels: ``x (B, D)``, ``z (..., B, L)`` -> ``(..., B)``."""
        bernoulli, dtype = self.likelihood == "bernoulli", self.net[0].weight.dtype
        check(x=tensor(x, last=self.x_dim, unit=bernoulli, event=False), z=latents(z, z_dim=self.z_dim, dtype=dtype))
        return self.log_prob_of_output(x, self.net(z))

    def log_prob_of_output(self, x: Tensor, out: Tensor) -> Tensor:
        """log p_theta(x|z) from the network output ``out = net(z)``, without argument checks.

        Bernoulli: -BCE(x_logits, x) = log Bernoulli(x; sigmoid(x_logits)) (``bernoulli_log_prob``'s formula);
        Gaussian: log N(x; mean, diag exp(x_logvar)). ``(..., B, D) -> (..., B)``.
        """
        if self.likelihood == "bernoulli":
            shape = torch.broadcast_shapes(out.shape, x.shape)  # e.g. z (N, 1, L) on a grid against x (B, D)
            return -F.binary_cross_entropy_with_logits(out.expand(shape), x.expand(shape), reduction="none").sum(-1)
        return gaussian_log_prob(x, out, self.x_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX))

    def mean(self, z: Tensor) -> Tensor:
        """E[x|z]: pixel probabilities sigmoid(x_logits), or the Gaussian mean."""
        out = self(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out


class VAE(nn.Module):
    """Encoder, decoder and standard-normal prior (S5). ``elbo(vae, x)`` gives its training objective."""

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        hidden: Sequence[int] = (256,),
        likelihood: str = "bernoulli",
        posterior: str = "diagonal",
        activation: str = "relu",
        **extra: Any,
    ) -> None:
        super().__init__()
        self.config = VAEConfig(
            x_dim, z_dim, check_positive_ints("hidden", hidden), likelihood, posterior, activation, dict(extra)
        )
        self.x_dim, self.z_dim = x_dim, z_dim
        self.encoder = Encoder(x_dim, z_dim, hidden, posterior=posterior, activation=activation)
        self.decoder = Decoder(
            z_dim, x_dim, tuple(reversed(self.config.hidden)), likelihood=likelihood, activation=activation
        )

    @classmethod
    def from_config(cls, config: VAEConfig | dict[str, Any]) -> VAE:
        if not isinstance(config, (VAEConfig, dict)):
            raise TypeError(f"config must be a VAEConfig or a dict (from config_dict()), got {describe(config)}")
        c = config if isinstance(config, VAEConfig) else VAEConfig(**config)
        return cls(c.x_dim, c.z_dim, c.hidden, c.likelihood, c.posterior, c.activation, **c.extra)

    def config_dict(self) -> dict[str, Any]:
        d = asdict(self.config)
        d["hidden"] = list(d["hidden"])
        return d

    def encode(self, x: Tensor) -> DiagonalGaussian | FullGaussian:
        """q_phi(z|x) for ``x (B, D)``."""
        check(x=tensor(x, ndim=2, last=self.x_dim))
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """Decoder output for ``z (..., L)``: ``x_logits`` (Bernoulli) or the mean (Gaussian)."""
        check(z=tensor(z, last=self.z_dim))
        return self.decoder(z)

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p_theta(x|z): ``x (B, D)``, ``z (..., B, L)`` -> ``(..., B)``."""
        return self.decoder.log_prob(x, z)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Decoded means E[x|z] for ``n`` draws z ~ p(z): ``(n, D)``."""
        check(n=positive_int(n), generator=generator_or_none(generator))
        p = next(self.parameters())
        z = torch.randn((n, self.z_dim), generator=generator, dtype=p.dtype, device=p.device)
        return self.decoder.mean(z)

    def elbo_unchecked(self, x: Tensor, *, n_samples: int, generator: torch.Generator | None) -> ELBOTerms:
        """``elbo(self, x, n_samples=n_samples, generator=generator)`` (S6) without reading any value to check it.

        For a training loop that checked its data once and checks the loss at every step (``fit``): the
        value checks would cost a pass over every tensor and a device synchronization each. The same draws
        and the same numbers as ``elbo``; for a diagonal q these are the formulas of ``reparameterize`` (S8)
        and ``gaussian_kl`` (S7), and tests hold them equal.
        """
        q_z = self.encoder(x)
        eps = torch.randn((n_samples, *q_z.mu.shape), generator=generator, dtype=q_z.mu.dtype, device=q_z.mu.device)
        if isinstance(q_z, DiagonalGaussian):
            z = q_z.mu + torch.exp(0.5 * q_z.logvar) * eps  # (S, B, L)
            kl = 0.5 * (q_z.mu.pow(2) + torch.expm1(q_z.logvar) - q_z.logvar).sum(-1)
        else:  # full covariance: the checked functions (their checks read (B, L, L) tensors only)
            z, kl = reparameterize_full(q_z.mu, q_z.scale_tril, eps), q_z.kl()
        reconstruction = self.decoder.log_prob_of_output(x, self.decoder(z)).mean(0)
        return ELBOTerms(reconstruction, kl, reconstruction - kl)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """E[x|z] at z = the posterior mean of q_phi(z|x): ``(B, D)``."""
        return self.decoder.mean(self.encode(x).mu)
