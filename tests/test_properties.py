"""Property-based tests (Hypothesis) of the public functions on arbitrary inputs: random
shapes (empty and size-1 batches included), dtypes, NaN and infinity. Every outcome is either
a correct result (checked by a property) or a ``TypeError``/``ValueError`` whose message
names the argument; any other exception, or a wrong result, fails."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutorial_lib.applications.anomaly import (
    complexity_corrected_scores,
    compression_bits,
    roc_auc,
    roc_curve,
)
from tutorial_lib.data.images import binarize, load_images, make_loader, random_shift
from tutorial_lib.data.toy import ring8
from tutorial_lib.gan import losses as L
from tutorial_lib.gan import mode_coverage
from tutorial_lib.metrics import (
    class_coverage,
    copy_fraction,
    fid_from_features,
    kid,
    nearest_neighbours,
    precision_recall,
)
from tutorial_lib.plotting import image_grid
from tutorial_lib.vae import VAE, VAEConfig, elbo, kl_to_standard_normal, reparameterize
from tutorial_lib.vae.objectives import log_mean_exp
from tutorial_lib.validation import check_images

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
DTYPES = (torch.float32, torch.float64, torch.float16, torch.int64, torch.bool)
SPECIAL = (math.nan, math.inf, -math.inf)


@st.composite
def tensors(draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, ...]] | None = None,
            dtypes: Sequence[torch.dtype] = DTYPES, low: float = -5.0, high: float = 5.0,
            special: float = 0.2) -> torch.Tensor:
    """A tensor of a drawn shape and dtype, values in [low, high]; with probability
    ``special`` one entry is NaN or +-inf (floating dtypes)."""
    shape = draw(shapes if shapes is not None
                 else st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple))
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2**16))
    x = low + (high - low) * torch.rand(shape, generator=torch.Generator().manual_seed(seed),
                                        dtype=torch.float64)
    if x.numel() and draw(st.floats(0, 1)) < special:
        x.view(-1)[draw(st.integers(0, x.numel() - 1))] = draw(st.sampled_from(SPECIAL))
    if dtype == torch.bool:
        return x > (low + high) / 2
    if not dtype.is_floating_point:
        return torch.nan_to_num(x, nan=0.0, posinf=high, neginf=low).round().to(dtype)
    return x.to(dtype)


def images(max_batch: int = 4, dtypes: Sequence[torch.dtype] = DTYPES,
           special: float = 0.2) -> st.SearchStrategy[torch.Tensor]:
    """Mostly (B, C, H, W) with values in [0, 1] (sometimes out of range or another rank)."""
    shape = st.one_of(
        st.tuples(st.integers(0, max_batch), st.sampled_from([1, 3]), st.integers(1, 6),
                  st.integers(1, 6)),
        st.lists(st.integers(0, 3), min_size=0, max_size=5).map(tuple),
    )
    return st.one_of(tensors(shape, dtypes, 0.0, 1.0, special),
                     tensors(shape, dtypes, -1.0, 255.0, special))


def outcome(call: Callable[[], Any], names: Sequence[str]) -> Any:
    """The result of ``call``, or None when it raised a TypeError or ValueError whose message
    names one of ``names``; any other exception propagates (and fails the test)."""
    try:
        return call()
    except (TypeError, ValueError) as err:
        assert any(name in str(err) for name in names), f"unnamed argument: {err!r}"
        return None


def _finite_float(*xs: torch.Tensor) -> bool:
    return all(x.is_floating_point() and bool(torch.isfinite(x).all()) for x in xs)


# ----------------------------------------------------------------- GAN losses
logits = tensors(st.one_of(st.tuples(st.integers(0, 5)), st.tuples(st.integers(0, 5),
                                                                    st.integers(0, 2)),
                           st.lists(st.integers(0, 3), max_size=3).map(tuple)),
                 dtypes=(torch.float32, torch.float64, torch.int64), low=-30, high=30)
TWO_SIDED = (L.discriminator_loss, L.critic_loss_wasserstein, L.discriminator_loss_hinge)
ONE_SIDED = (L.generator_loss_saturating, L.generator_loss_nonsaturating,
             L.generator_loss_wasserstein, L.generator_loss_hinge)


@SETTINGS
@given(real=logits, fake=logits, which=st.integers(0, len(TWO_SIDED) - 1))
def test_two_sided_gan_losses(real: torch.Tensor, fake: torch.Tensor, which: int) -> None:
    loss = TWO_SIDED[which]
    value = outcome(lambda: loss(real, fake), ["real_", "fake_"])
    if value is None:
        return
    assert value.ndim == 0
    if _finite_float(real, fake):
        assert torch.isfinite(value)
        if loss is not L.critic_loss_wasserstein:
            assert value >= 0  # cross-entropy and hinge losses are sums of non-negatives


@SETTINGS
@given(fake=logits, which=st.integers(0, len(ONE_SIDED) - 1))
def test_one_sided_gan_losses(fake: torch.Tensor, which: int) -> None:
    loss = ONE_SIDED[which]
    value = outcome(lambda: loss(fake), ["fake_"])
    if value is not None and _finite_float(fake):
        assert value.ndim == 0 and torch.isfinite(value)
        if loss is L.generator_loss_nonsaturating:
            assert value >= 0
        if loss is L.generator_loss_saturating:
            assert value <= 0


# ----------------------------------------------------------------- VAE: Gaussians, ELBO
gaussian = tensors(st.one_of(st.tuples(st.integers(0, 4), st.integers(1, 3)),
                             st.lists(st.integers(0, 3), max_size=3).map(tuple)),
                   dtypes=(torch.float32, torch.float64, torch.int64))


@SETTINGS
@given(mu=gaussian, log_var=gaussian, n_samples=st.one_of(st.none(), st.integers(-1, 3)))
def test_kl_and_reparameterize(mu: torch.Tensor, log_var: torch.Tensor,
                               n_samples: int | None) -> None:
    kl = outcome(lambda: kl_to_standard_normal(mu, log_var), ["mu", "log_var"])
    if kl is None:
        return
    assert kl.shape == mu.shape[:1]
    if _finite_float(mu, log_var):
        assert (kl >= -1e-5).all()  # KL >= 0 (up to rounding)
    z = outcome(lambda: reparameterize(mu, log_var, n_samples), ["n_samples"])
    if z is not None:
        assert z.shape == (mu.shape if n_samples is None else (n_samples, *mu.shape))


@SETTINGS
@given(log_weights=tensors(st.lists(st.integers(0, 4), max_size=3).map(tuple),
                           dtypes=(torch.float32, torch.float64, torch.int64), low=-50,
                           high=50, special=0.0))
def test_log_mean_exp_lies_between_the_max_minus_log_k_and_the_max(
        log_weights: torch.Tensor) -> None:
    value = outcome(lambda: log_mean_exp(log_weights), ["log_weights"])
    if value is not None:
        top = log_weights.amax(0).double()
        k = log_weights.shape[0]
        assert (value.double() <= top + 1e-4).all()
        assert (value.double() >= top - math.log(k) - 1e-4).all()


_VAE = VAE(VAEConfig(image_shape=(1, 4, 4), latent_dim=2, hidden=(4,),
                     likelihood="gaussian")).eval()


@SETTINGS
@given(x=images(), beta=st.sampled_from([1.0, 0.0, -1.0, math.nan]))
def test_elbo_on_arbitrary_images(x: torch.Tensor, beta: float) -> None:
    with torch.no_grad():
        terms = outcome(lambda: elbo(_VAE, x, beta=beta), ["x", "beta"])
    if terms is not None:
        assert terms.elbo.shape == (len(x),) and torch.isfinite(terms.elbo).all()
        assert (terms.kl >= 0).all()


# ----------------------------------------------------------------- image checks and tools
@SETTINGS
@given(x=images())
def test_check_images_passes_exactly_the_finite_float_images_in_the_unit_interval(
        x: torch.Tensor) -> None:
    valid = (x.ndim == 4 and x.is_floating_point() and 0 not in x.shape[1:]
             and bool(((x >= 0) & (x <= 1)).all()))  # NaN fails both comparisons
    result = outcome(lambda: check_images(x, "x"), ["x"])
    assert (result is x) == valid


@SETTINGS
@given(max_train=st.one_of(st.none(), st.integers(-3, 3), st.integers(4, 3000),
                           st.sampled_from([1.5, "10"])))
def test_load_images_caps(max_train: Any) -> None:
    data = outcome(lambda: load_images("digits", "book", max_train=max_train), ["max_train"])
    if data is not None:
        full = len(load_images("digits", "book").x_train)
        assert len(data.x_train) == (full if max_train is None else min(max_train, full))
        assert len(data.y_train) == len(data.x_train)


@SETTINGS
@given(x=images(max_batch=6, dtypes=(torch.float32,)),
       y=tensors(st.one_of(st.tuples(st.integers(0, 6)), st.tuples(st.integers(0, 6),
                                                                   st.just(1))),
                 dtypes=(torch.int64, torch.float32), low=0, high=9, special=0.0),
       batch_size=st.sampled_from([1, 2, 64, 0, -1]))
def test_make_loader_delivers_every_image_once(x: torch.Tensor, y: torch.Tensor,
                                               batch_size: int) -> None:
    loader = outcome(lambda: make_loader(x, y, batch_size=batch_size, shuffle=False,
                                         device="cpu"), ["x", "y", "batch_size"])
    if loader is not None:
        batches = list(loader)
        assert all(len(xb) <= batch_size for xb, _ in batches)
        if len(x):
            assert torch.equal(torch.cat([xb for xb, _ in batches]), x)
            assert torch.equal(torch.cat([yb for _, yb in batches]), y)


@SETTINGS
@given(x=images(), mode=st.sampled_from(["dynamic", "fixed", "threshold", "other"]))
def test_binarize(x: torch.Tensor, mode: str) -> None:
    b = outcome(lambda: binarize(x, mode), ["x", "binarization"])
    if b is not None:
        assert b.shape == x.shape and b.dtype == x.dtype
        assert bool(((b == 0) | (b == 1)).all())
        if mode == "threshold":
            assert torch.equal(b, (x > 0.5).to(x.dtype))


@SETTINGS
@given(x=images(), shift=st.sampled_from([0, 1, 2, -1, 1.5]))
def test_random_shift_keeps_shape_and_values(x: torch.Tensor, shift: Any) -> None:
    out = outcome(lambda: random_shift(x, shift, torch.Generator().manual_seed(0)),
                  ["x", "max_shift"])
    if out is not None:
        assert out.shape == x.shape
        assert set(out.unique().tolist()) <= set(x.unique().tolist()) | {0.0}


@SETTINGS
@given(x=images(max_batch=6), nrow=st.sampled_from([None, 1, 2, 0, -1]),
       padding=st.sampled_from([0, 1, 2, -1]))
def test_image_grid_has_the_tiled_shape(x: torch.Tensor, nrow: int | None,
                                        padding: int) -> None:
    grid = outcome(lambda: image_grid(x, nrow, padding), ["x", "nrow", "padding"])
    if grid is not None:
        b, c, h, w = x.shape
        ncol = nrow or math.ceil(math.sqrt(b))
        rows = math.ceil(b / ncol)
        expected = (rows * (h + padding) + padding, ncol * (w + padding) + padding)
        assert grid.shape == (expected if c == 1 else (*expected, 3))


# ----------------------------------------------------------------- metrics
features = st.one_of(
    tensors(st.tuples(st.integers(0, 12), st.integers(0, 3)),
            dtypes=(torch.float32, torch.float64, torch.int64)),
    tensors(st.lists(st.integers(0, 3), max_size=3).map(tuple)),
)


@SETTINGS
@given(a=features, b=features)
def test_fid_kid_and_precision_recall_on_arbitrary_features(a: torch.Tensor,
                                                            b: torch.Tensor) -> None:
    fid = outcome(lambda: fid_from_features(a, b), ["features"])
    if fid is not None:
        assert math.isfinite(fid) and fid >= 0
    k = outcome(lambda: kid(a, b, blocks=2), ["features_a", "features_b", "blocks"])
    if k is not None:
        assert math.isfinite(k.value)
    pr = outcome(lambda: precision_recall(a, b, k=2), ["real", "fake", "k ="])
    if pr is not None:
        assert 0 <= pr.precision <= 1 and 0 <= pr.recall <= 1


@SETTINGS
@given(labels=tensors(st.lists(st.integers(0, 6), max_size=2).map(tuple),
                      dtypes=(torch.int64, torch.float32, torch.bool), low=-1, high=11,
                      special=0.0),
       num_classes=st.integers(1, 10))
def test_class_coverage(labels: torch.Tensor, num_classes: int) -> None:
    cover = outcome(lambda: class_coverage(labels, num_classes), ["predicted"])
    if cover is not None:
        assert sum(cover.counts) == len(labels)
        assert -1e-12 <= cover.tv <= 1 - 1 / num_classes + 1e-12


@SETTINGS
@given(x=tensors(), reference=tensors())
def test_nearest_neighbours(x: torch.Tensor, reference: torch.Tensor) -> None:
    nn = outcome(lambda: nearest_neighbours(x, reference), ["x", "reference"])
    if nn is not None:
        assert nn.distance.shape == nn.index.shape == (len(x),)
        assert (nn.distance >= 0).all() and (nn.index < len(reference)).all()


@SETTINGS
@given(samples=images(max_batch=5), train=images(max_batch=5),
       quantile=st.sampled_from([0.01, 0.5, 0.0, 1.0, math.nan]))
def test_copy_fraction(samples: torch.Tensor, train: torch.Tensor, quantile: float) -> None:
    value = outcome(lambda: copy_fraction(samples, train, train, quantile),
                    ["samples", "train", "held_out", "quantile"])
    if value is not None:
        assert 0 <= value <= 1


@SETTINGS
@given(samples=tensors(st.one_of(st.tuples(st.integers(0, 6), st.just(2)),
                                 st.lists(st.integers(0, 3), max_size=3).map(tuple))),
       n_std=st.sampled_from([3.0, 0.0, -1.0, math.nan]))
def test_mode_coverage(samples: torch.Tensor, n_std: float) -> None:
    target = ring8()
    cover = outcome(lambda: mode_coverage(samples, target, n_std), ["samples", "n_std"])
    if cover is not None:
        assert 0 <= cover.modes_captured <= target.n_modes
        assert sum(cover.samples_per_mode) <= len(samples)
        assert 0 <= cover.high_quality <= 100


# ----------------------------------------------------------------- anomaly detection
@SETTINGS
@given(scores=tensors(st.one_of(st.tuples(st.integers(0, 8)),
                                st.lists(st.integers(0, 3), max_size=3).map(tuple)),
                      dtypes=(torch.float32, torch.float64, torch.int64)),
       truth=tensors(st.one_of(st.tuples(st.integers(0, 8)),
                               st.lists(st.integers(0, 3), max_size=2).map(tuple)),
                     dtypes=(torch.bool, torch.int64, torch.float32), low=0, high=1,
                     special=0.0))
def test_roc_auc_and_curve(scores: torch.Tensor, truth: torch.Tensor) -> None:
    auc = outcome(lambda: roc_auc(scores, truth), ["scores", "is_anomaly"])
    if auc is None:
        return
    assert 0 <= auc <= 1
    t = truth.bool()
    pos, neg = scores[t].double(), scores[~t].double()
    wins = (pos[:, None] > neg[None]).double() + 0.5 * (pos[:, None] == neg[None]).double()
    assert auc == pytest.approx(float(wins.mean()))  # the probability definition
    fpr, tpr, _ = roc_curve(scores, truth)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


@SETTINGS
@given(x=images(), scores=tensors(st.tuples(st.integers(0, 4)),
                                  dtypes=(torch.float32, torch.float64)))
def test_compression_bits_and_corrected_scores(x: torch.Tensor, scores: torch.Tensor) -> None:
    bits = outcome(lambda: compression_bits(x), ["x"])
    if bits is None:
        return
    assert bits.shape == (len(x),) and (bits > 0).all() and bits.dtype == torch.float64
    corrected = outcome(lambda: complexity_corrected_scores(scores, x), ["scores", "x"])
    if corrected is not None:
        torch.testing.assert_close(corrected, scores.double() / math.log(2) - bits)
