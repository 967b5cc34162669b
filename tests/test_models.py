"""The GAN's networks: one class per network, picked by the factories from data_shape.

- make_generator / make_discriminator build the MLP for points and the DCGAN networks for
  28x28 and 8x8 images, and the same weights as the class itself under the same seed;
- each class maps its inputs to the shapes its docstring says, conditional or not, with
  spectral normalization or not;
- the base classes, a class given the wrong kind of data, and a malformed config are
  refused with a message that names the way out;
- the state-dict keys are those of the shipped reference checkpoint (it loads strictly).
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.parametrize import is_parametrized

from tutorial_lib.checkpoints import REFERENCE_DIR, load_checkpoint, read_manifest
from tutorial_lib.gan.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    Discriminator,
    GANConfig,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    make_discriminator,
    make_generator,
)
from tutorial_lib.gan.reference import GENERATOR, config_from_json

B = 3
# (config, generator class, discriminator class)
NETWORKS = {
    "mlp": (GANConfig(data_shape=(2,), hidden=8, layers=2), MLPGenerator, MLPDiscriminator),
    "mlp-no-hidden": (GANConfig(data_shape=(3,), layers=0), MLPGenerator, MLPDiscriminator),
    "dcgan-28": (GANConfig(data_shape=(1, 28, 28), latent_dim=5, hidden=4),
                 DCGANGenerator, DCGANDiscriminator),
    "dcgan-8": (GANConfig(data_shape=(1, 8, 8), latent_dim=5, hidden=4, batch_norm=False),
                DCGANGenerator, DCGANDiscriminator),
}
VARIANTS = {"plain": {}, "conditional": {"num_classes": 4},
            "spectral": {"spectral_norm": True},
            "conditional-spectral": {"num_classes": 4, "spectral_norm": True}}


def _config(network: str, variant: str) -> GANConfig:
    config = NETWORKS[network][0]
    return GANConfig(**{**vars(config), **VARIANTS[variant]})


@pytest.mark.parametrize("network", NETWORKS)
def test_the_factories_pick_the_class_and_build_its_weights(network: str) -> None:
    config, g_class, d_class = NETWORKS[network]
    for make, cls in ((make_generator, g_class), (make_discriminator, d_class)):
        torch.manual_seed(0)
        made = make(config)
        torch.manual_seed(0)
        direct = cls(config)
        assert type(made) is cls
        assert made.state_dict().keys() == direct.state_dict().keys()
        assert all(torch.equal(made.state_dict()[k], v) for k, v in direct.state_dict().items())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("network", NETWORKS)
def test_each_network_maps_its_inputs_to_the_shapes_it_says(network: str, variant: str) -> None:
    config = _config(network, variant)
    g, d = make_generator(config).eval(), make_discriminator(config)
    z = g.sample_latent(B, generator=torch.Generator().manual_seed(0))
    y = torch.arange(B) % config.num_classes if config.num_classes else None
    assert z.shape == (B, config.latent_dim)
    with torch.no_grad():
        x, images = g(z, y), g.images(z, y)
    assert x.shape == (B, *config.data_shape)
    if len(config.data_shape) == 3:  # tanh output mapped to [0, 1]
        assert float(images.min()) >= 0 and float(images.max()) <= 1
    torch.testing.assert_close(images, (x + 1) / 2)
    scores = d(x, y)
    assert scores.shape == (B,) and torch.isfinite(scores).all()
    layers = [m for m in d.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d
                                                   | torch.nn.Embedding)]
    assert all(is_parametrized(m, "weight") == config.spectral_norm for m in layers)


@pytest.mark.parametrize("network", ["dcgan-28", "dcgan-8"])
def test_the_dcgan_discriminator_scores_its_features(network: str) -> None:
    """VAE-GAN reads ``features``: the forward pass must score exactly those."""
    config = NETWORKS[network][0]
    d = DCGANDiscriminator(config)
    x = torch.rand(B, *config.data_shape) * 2 - 1
    h = d.features(x)
    side = 7 if config.data_shape[1] == 28 else 4
    assert h.shape == (B, 2 * config.hidden * side * side)
    torch.testing.assert_close(d(x), d.head(h).squeeze(1))


def test_labels_are_required_exactly_when_conditional() -> None:
    plain, conditional = NETWORKS["mlp"][0], _config("mlp", "conditional")
    z, x, y = torch.randn(B, 2), torch.randn(B, 2), torch.zeros(B, dtype=torch.long)
    with pytest.raises(ValueError, match="not conditional"):
        make_generator(plain)(z, y)
    with pytest.raises(ValueError, match="not conditional"):
        make_discriminator(plain)(x, y)
    with pytest.raises(ValueError, match="needs labels"):
        make_generator(conditional)(z)
    with pytest.raises(ValueError, match="needs labels"):
        make_discriminator(conditional)(x)


def test_bad_networks_and_configs_are_refused_with_the_way_out() -> None:
    points, images = NETWORKS["mlp"][0], NETWORKS["dcgan-28"][0]
    with pytest.raises(TypeError, match="make_generator"):
        Generator(points)
    with pytest.raises(TypeError, match="make_discriminator"):
        Discriminator(points)
    with pytest.raises(ValueError, match="MLPGenerator takes points"):
        MLPGenerator(images)
    with pytest.raises(ValueError, match="DCGANDiscriminator takes images"):
        DCGANDiscriminator(points)
    with pytest.raises(ValueError, match="28x28 and 8x8"):
        make_generator(GANConfig(data_shape=(1, 16, 16)))
    with pytest.raises(ValueError, match=r"\(D,\) for points or \(C, H, W\)"):
        make_discriminator(GANConfig(data_shape=(28, 28)))
    with pytest.raises(TypeError, match="expected a GANConfig"):
        make_generator({"data_shape": (2,)})
    with pytest.raises(ValueError, match="z: expected"):
        make_generator(points)(torch.randn(B, 3))


def test_the_reference_generators_keys_and_shapes_are_the_networks() -> None:
    """The shipped checkpoints were saved from the networks before the split into classes."""
    generators = {name: entry for name, entry in read_manifest(REFERENCE_DIR).items()
                  if entry.model == GENERATOR}
    assert generators
    for name in generators:
        tensors, entry = load_checkpoint(name)
        g = make_generator(config_from_json(entry.config))
        state = g.state_dict()
        assert state.keys() == tensors.keys(), name  # safetensors stores them sorted
        assert all(state[k].shape == v.shape for k, v in tensors.items()), name
