"""The VAE of S5: shapes, the full-covariance encoder, config round trip, and learning on digits."""

import pytest
import torch
from sklearn.datasets import load_digits
from torch import distributions as td

import lecture_vae as lv
from lecture_vae import toys


@pytest.mark.parametrize("posterior", ["diagonal", "full"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_shapes_and_ranges(posterior, likelihood):
    torch.manual_seed(0)
    vae = lv.VAE(64, 3, (32, 16), likelihood=likelihood, posterior=posterior)
    x = torch.rand(5, 64)
    q = vae.encode(x)
    assert q.mu.shape == (5, 3)
    if posterior == "full":
        assert q.scale_tril.shape == (5, 3, 3)
        assert torch.equal(q.scale_tril, q.scale_tril.tril())
        assert (q.scale_tril.diagonal(dim1=-2, dim2=-1) > 0).all()
    assert vae.decode(q.mu).shape == (5, 64)
    assert vae.log_likelihood(x, q.rsample(7)).shape == (7, 5)
    s, r = vae.sample(4, generator=torch.Generator().manual_seed(0)), vae.reconstruct(x)
    assert s.shape == (4, 64) and r.shape == (5, 64)
    if likelihood == "bernoulli":
        assert (s >= 0).all() and (s <= 1).all()


def test_full_posterior_log_prob_matches_torch():
    torch.manual_seed(1)
    vae = lv.VAE(20, 4, (16,), posterior="full")
    x = torch.rand(6, 20)
    q = vae.encode(x)
    z = q.rsample(3)
    ref = td.MultivariateNormal(q.mu, scale_tril=q.scale_tril).log_prob(z)
    torch.testing.assert_close(q.log_prob(z), ref)


def test_bernoulli_decoder_log_likelihood_is_minus_bce():
    torch.manual_seed(2)
    vae = lv.VAE(10, 2, (8,))
    x, z = torch.rand(4, 10), torch.randn(4, 2)
    bce = torch.nn.functional.binary_cross_entropy(torch.sigmoid(vae.decode(z)), x, reduction="none").sum(-1)
    torch.testing.assert_close(vae.log_likelihood(x, z), -bce, atol=1e-4, rtol=1e-5)


def test_config_round_trip_rebuilds_the_same_function():
    torch.manual_seed(3)
    vae = lv.VAE(12, 2, (7, 5), likelihood="gaussian", posterior="full", activation="tanh", dataset="toy")
    clone = lv.VAE.from_config(vae.config_dict())
    clone.load_state_dict(vae.state_dict())
    x = torch.rand(3, 12)
    torch.testing.assert_close(clone.encode(x).scale_tril, vae.encode(x).scale_tril)
    assert clone.config == vae.config and clone.config.extra == {"dataset": "toy"}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"likelihood": "poisson"}, "likelihood"),
        ({"posterior": "flow"}, "posterior"),
        ({"activation": "gelu"}, "activation"),
        ({"z_dim": 0}, "z_dim"),
        ({"hidden": (32, -1)}, "hidden"),
    ],
)
def test_bad_config_names_the_argument(kwargs, name):
    args = {"x_dim": 8, "z_dim": 2, **kwargs}
    with pytest.raises((ValueError, TypeError), match=name):
        lv.VAE(**args)


def test_encode_rejects_wrong_width():
    vae = lv.VAE(8, 2, (4,))
    with pytest.raises(ValueError, match=r"x must have last dimension 8.*\(3, 5\)"):
        vae.encode(torch.rand(3, 5))


@pytest.mark.parametrize("posterior", ["diagonal", "full"])
def test_vae_overfits_one_batch_of_digits(posterior):
    """A few hundred Adam steps on 64 digits raise the ELBO by far more than noise could."""
    torch.manual_seed(0)
    x = torch.tensor(load_digits().data[:64] / 16.0, dtype=torch.float32)
    vae = lv.VAE(64, 4, (64,), posterior=posterior)
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        start = lv.elbo(vae, x, n_samples=8, generator=g).elbo.mean().item()
    for _ in range(300):
        loss = -lv.elbo(vae, x, generator=g).elbo.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = lv.elbo(vae, x, n_samples=8, generator=g).elbo.mean().item()
        naive_mse = ((x - x.mean(0)) ** 2).sum(-1).mean()
        recon_mse = ((vae.reconstruct(x) - x) ** 2).sum(-1).mean()
    assert start < -40 and end > start + 15, (start, end)  # an untrained decoder gives ~ -64 log 2
    assert recon_mse < 0.6 * naive_mse  # better than predicting the mean digit


@pytest.mark.parametrize("posterior", ["diagonal", "full"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("n_samples", [1, 3])
def test_elbo_unchecked_is_elbo_bit_for_bit(posterior, likelihood, n_samples):
    """fit's hot path: the same draws and the same numbers (and gradients) as the checked elbo."""
    torch.manual_seed(0)
    vae = lv.VAE(12, 3, (8,), likelihood=likelihood, posterior=posterior)
    x = torch.rand(5, 12)
    a = lv.elbo(vae, x, n_samples=n_samples, generator=torch.Generator().manual_seed(1))
    b = vae.elbo_unchecked(x, n_samples=n_samples, generator=torch.Generator().manual_seed(1))
    for name, u, v in zip(a._fields, a, b, strict=True):
        assert torch.equal(u, v), name
    ga = torch.autograd.grad(a.elbo.sum(), list(vae.parameters()))
    gb = torch.autograd.grad(b.elbo.sum(), list(vae.parameters()))
    assert all(torch.equal(u, v) for u, v in zip(ga, gb, strict=True))


def test_models_are_model_like():
    """The bounds' model interface is a Protocol: what elbo, iwae_bound and log_marginal_estimate accept."""
    assert isinstance(lv.VAE(4, 2), lv.ModelLike)
    assert isinstance(lv.LinearGaussian.random(4, 2), lv.ModelLike)
    assert not isinstance(toys.NonlinearGaussian.spiral(), lv.ModelLike)  # no encoder: needs q_z
    assert isinstance(toys.NonlinearGaussian.spiral(), lv.LikelihoodModel)
    assert not isinstance(torch.zeros(3), lv.LikelihoodModel)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_log_likelihood_broadcasts_grid_points_against_rows(likelihood):
    """z (N, 1, L) on a grid against x (B, D) -> (N, B), each entry the log-density of one pair."""
    torch.manual_seed(0)
    vae = lv.VAE(6, 2, (5,), likelihood=likelihood).double()
    x, z = torch.rand(3, 6, dtype=torch.float64).round(), torch.randn(4, 1, 2, dtype=torch.float64)
    out = vae.log_likelihood(x, z)
    assert out.shape == (4, 3)
    for n in range(4):
        for b in range(3):
            logits = vae.decode(z[n])  # (1, D)
            if likelihood == "bernoulli":
                expected = td.Bernoulli(logits=logits[0]).log_prob(x[b]).sum()
            else:
                scale = vae.decoder.x_logvar.exp().sqrt()
                expected = td.Normal(logits[0], scale).log_prob(x[b]).sum()
            torch.testing.assert_close(out[n, b], expected)
