"""Chapter 15: style transfer (Gram matrices, the losses, the feature networks, the
optimization over pixels, VGG-19's layout and its download against a loopback server)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch
from loopback import LoopbackServer

from tutorial_lib.data.download import DownloadError
from tutorial_lib.metrics import DigitClassifier
from tutorial_lib.style import (
    ClassifierFeatures,
    MultiScaleConfig,
    RandomMultiScaleNet,
    TransferConfig,
    content_loss,
    gram_matrix,
    gram_mmd2,
    load_sample_photo,
    style_loss,
    style_loss_layer,
    style_transfer,
    total_variation,
)
from tutorial_lib.style.vgg import (
    GATYS_CONTENT_LAYERS,
    GATYS_STYLE_LAYERS,
    VGG19_URL,
    VGGFeatures,
    download_vgg19,
    hash_prefix,
    load_vgg19,
    vgg_features_state,
)
from tutorial_lib.training import TrainingDiverged

TINY_BLOCKS = ((4, 4), (8, 8), (8, 8, 8, 8), (8, 8, 8, 8), (8, 8, 8, 8))  # VGG-19's shape


def _maps(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- the losses -------------------------------------------------------------------------


def test_gram_matrix_is_second_moments_over_positions() -> None:
    f = _maps(2, 3, 4, 5)
    g = gram_matrix(f)
    assert g.shape == (2, 3, 3)
    phi = f[1].reshape(3, 20)
    torch.testing.assert_close(g[1], phi @ phi.T / 20)
    torch.testing.assert_close(g, g.transpose(1, 2))
    assert torch.linalg.eigvalsh(g).min() > -1e-5  # positive semi-definite


def test_gram_matrix_forgets_where_features_are() -> None:
    f = _maps(1, 3, 4, 4)
    shuffled = f.flatten(2)[:, :, torch.randperm(16)].reshape(1, 3, 4, 4)
    torch.testing.assert_close(gram_matrix(shuffled), gram_matrix(f))
    torch.testing.assert_close(style_loss_layer(shuffled, gram_matrix(f)[0]), torch.tensor(0.0))


def test_style_loss_layer_is_gatys_formula() -> None:
    f, s = _maps(1, 3, 4, 5, seed=1), _maps(1, 3, 4, 5, seed=2)
    phi, psi, c, m = f[0].reshape(3, 20), s[0].reshape(3, 20), 3, 20
    expected = ((phi @ phi.T - psi @ psi.T) ** 2).sum() / (4 * c**2 * m**2)
    torch.testing.assert_close(style_loss_layer(f, gram_matrix(s)[0]), expected)


def test_style_loss_gradient_is_the_chapters_formula() -> None:
    # prop-ch15-style-gradient: dE/dPhi = (G - G_s) Phi / (C^2 M)
    f = _maps(1, 3, 4, 5, seed=7).double().requires_grad_(True)
    target = gram_matrix(_maps(1, 3, 4, 5, seed=8).double())[0]
    style_loss_layer(f, target).backward()
    phi = f.detach()[0].reshape(3, 20)
    expected = (phi @ phi.T / 20 - target) @ phi / (9 * 20)
    torch.testing.assert_close(f.grad[0].reshape(3, 20), expected)


def test_style_loss_on_a_hand_computable_input() -> None:
    # one channel, all ones, against a target Gram matrix of 0: (1 - 0)^2 / (4 * 1)
    f = torch.ones(1, 1, 2, 2)
    assert style_loss_layer(f, torch.zeros(1, 1)).item() == pytest.approx(0.25)


def test_style_loss_weights_the_layers() -> None:
    feats = {"a": _maps(1, 2, 3, 3, seed=3), "b": _maps(1, 4, 2, 2, seed=4)}
    targets = {"a": torch.zeros(2, 2), "b": torch.eye(4)}
    la = style_loss_layer(feats["a"], targets["a"])
    lb = style_loss_layer(feats["b"], targets["b"])
    torch.testing.assert_close(style_loss(feats, targets), (la + lb) / 2)
    torch.testing.assert_close(style_loss(feats, targets, {"a": 3.0, "b": 0.5}), 3 * la + 0.5 * lb)
    with pytest.raises(ValueError, match="no feature map for the style layers"):
        style_loss(feats, {"c": torch.eye(2)})
    with pytest.raises(ValueError, match="Gram matrices for features with 2 channels"):
        style_loss_layer(feats["a"], torch.eye(3))


def test_gram_loss_is_a_squared_mmd_with_the_quadratic_kernel() -> None:
    phi, psi = _maps(3, 7, seed=5), _maps(3, 7, seed=6)
    g_phi, g_psi = phi @ phi.T / 7, psi @ psi.T / 7
    torch.testing.assert_close(gram_mmd2(phi, psi), ((g_phi - g_psi) ** 2).sum())
    # against the V-statistic written as a double loop over the columns
    def k(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a @ b) ** 2
    v = sum(k(phi[:, i], phi[:, j]) + k(psi[:, i], psi[:, j]) - 2 * k(phi[:, i], psi[:, j])
            for i in range(7) for j in range(7)) / 49
    torch.testing.assert_close(gram_mmd2(phi, psi), v)
    # and the style loss of one layer is that MMD over 4 C^2
    f, s = phi.reshape(1, 3, 7, 1), psi.reshape(1, 3, 7, 1)
    torch.testing.assert_close(style_loss_layer(f, gram_matrix(s)[0]), gram_mmd2(phi, psi) / 36)
    with pytest.raises(ValueError, match="same number of channels"):
        gram_mmd2(phi, _maps(4, 7))


def test_content_loss_is_half_the_squared_error() -> None:
    f = torch.ones(2, 3, 2, 2)
    assert content_loss(f, torch.zeros(3, 2, 2)).item() == pytest.approx(0.5 * 12)
    g = _maps(2, 3, 2, 2)
    torch.testing.assert_close(content_loss(g, g), torch.tensor(0.0))
    with pytest.raises(ValueError, match="feature map of shape"):
        content_loss(f, torch.zeros(3, 3, 3))


def test_total_variation_on_hand_computable_images() -> None:
    stripes = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    assert total_variation(stripes).item() == pytest.approx(2.0)  # two horizontal steps of 1
    assert total_variation(stripes.transpose(2, 3)).item() == pytest.approx(2.0)
    assert total_variation(torch.full((2, 3, 5, 5), 0.7)).item() == pytest.approx(0.0)


def test_losses_reject_what_is_not_a_feature_map() -> None:
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        gram_matrix(torch.ones(3, 4, 4))
    with pytest.raises(ValueError, match="non-empty"):
        gram_matrix(torch.ones(0, 3, 4, 4))
    with pytest.raises(ValueError, match="NaN|finite"):
        total_variation(torch.full((1, 1, 2, 2), float("nan")))


# --- the feature networks ---------------------------------------------------------------


def test_classifier_features_are_the_classifiers_layers() -> None:
    torch.manual_seed(0)
    clf = DigitClassifier()
    ext = ClassifierFeatures(clf)
    x = torch.rand(3, 1, 28, 28)
    maps = ext(x)
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "conv1": (3, 32, 28, 28), "conv2": (3, 64, 14, 14), "fc": (3, 128, 1, 1)}
    torch.testing.assert_close(maps["fc"].flatten(1), clf.features(x))
    assert not any(p.requires_grad for p in clf.parameters())
    assert (maps["conv1"] >= 0).all()  # after the ReLU
    with pytest.raises(ValueError, match="shape"):
        ext(torch.rand(1, 1, 8, 8))
    with pytest.raises(TypeError, match="DigitClassifier"):
        ClassifierFeatures(torch.nn.Linear(2, 2))  # type: ignore[arg-type]


def test_random_net_is_fixed_by_its_seed() -> None:
    config = MultiScaleConfig(kernel_sizes=(3, 5), channels=4, seed=7)
    a, b = RandomMultiScaleNet(config), RandomMultiScaleNet(config)
    c = RandomMultiScaleNet(MultiScaleConfig(kernel_sizes=(3, 5), channels=4, seed=8))
    for name in ("k3", "k5"):
        torch.testing.assert_close(a.branches[name].weight, b.branches[name].weight)
        assert not torch.equal(a.branches[name].weight, c.branches[name].weight)
    x = torch.rand(2, 3, 9, 9)
    assert {k: tuple(v.shape) for k, v in a(x).items()} == {"k3": (2, 4, 9, 9),
                                                          "k5": (2, 4, 9, 9)}


def test_random_net_uses_he_scaling() -> None:
    net = RandomMultiScaleNet(MultiScaleConfig(kernel_sizes=(11,), channels=64))
    w = net.branches["k11"].weight
    assert w.std().item() == pytest.approx((2 / (3 * 121)) ** 0.5, rel=0.05)
    assert net.branches["k11"].bias.abs().max() == 0
    assert not any(p.requires_grad for p in net.parameters())


def test_random_net_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="odd filter sizes"):
        RandomMultiScaleNet(MultiScaleConfig(kernel_sizes=(4,)))
    with pytest.raises(ValueError, match="channels"):
        RandomMultiScaleNet(MultiScaleConfig(kernel_sizes=(3,), channels=2))(torch.rand(1, 1, 5, 5))


def test_sample_photo_is_a_colour_square_in_unit_range() -> None:
    x = load_sample_photo("china.jpg", 16)
    assert x.shape == (1, 3, 16, 16) and 0 <= x.min() and x.max() <= 1
    y = load_sample_photo("flower.jpg", 8, box=(100, 200, 160))
    assert y.shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="does not fit"):
        load_sample_photo("flower.jpg", 8, box=(400, 0, 100))
    with pytest.raises(ValueError, match="china.jpg"):
        load_sample_photo("lena.png", 8)


# --- the optimization -------------------------------------------------------------------


TINY_NET = MultiScaleConfig(kernel_sizes=(3, 5), channels=8)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_texture_synthesis_reduces_the_style_loss(optimizer: str, seed: int) -> None:
    net = RandomMultiScaleNet(TINY_NET)
    style = torch.rand(1, 3, 10, 10, generator=torch.Generator().manual_seed(100 + seed))
    config = TransferConfig(steps=40 if optimizer == "adam" else 5, optimizer=optimizer,
                            lr=0.05, init="noise", seed=seed)
    result = style_transfer(net, style, style_layers=("k3", "k5"), config=config,
                            progress=False)
    assert result.image.shape == style.shape
    assert 0 <= result.image.min() and result.image.max() <= 1
    assert result.final["content"] == 0
    assert result.style_reduction > 2  # the style loss at least halves
    assert len(result.history["style"]) == config.steps


def test_transfer_keeps_the_content_when_style_has_no_weight() -> None:
    net = RandomMultiScaleNet(TINY_NET)
    content, style = torch.rand(2, 3, 8, 8), torch.rand(1, 3, 8, 8)
    config = TransferConfig(steps=5, style_weight=0.0)
    result = style_transfer(net, style, content, style_layers=("k3",), content_layers=("k5",),
                            config=config, progress=False)
    torch.testing.assert_close(result.image, content)  # the gradient is zero at the start


def test_transfer_moves_a_digit_toward_the_style_digits_statistics() -> None:
    torch.manual_seed(0)
    ext = ClassifierFeatures(DigitClassifier())
    content = torch.zeros(1, 1, 28, 28)
    content[:, :, 6:22, 13:15] = 1.0  # a thin bar
    style = torch.zeros(1, 1, 28, 28)
    style[:, :, 6:22, 8:20] = 1.0  # a thick block
    config = TransferConfig(steps=30, lr=0.05, style_weight=1e4)
    result = style_transfer(ext, style, content, style_layers=("conv1", "conv2"),
                            content_layers=("conv2",), config=config, progress=False)
    assert result.final["style"] < result.history["style"][0]
    assert result.image.mean() > content.mean()  # more ink, as the style image has


def test_transfer_is_reproducible_under_a_seed() -> None:
    net = RandomMultiScaleNet(TINY_NET)
    style = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    config = TransferConfig(steps=5, init="noise", seed=4)
    a = style_transfer(net, style, style_layers=("k3",), config=config, progress=False)
    b = style_transfer(net, style, style_layers=("k3",), config=config, progress=False)
    torch.testing.assert_close(a.image, b.image)
    assert a.history == b.history


def test_transfer_stops_on_divergence() -> None:
    net = RandomMultiScaleNet(TINY_NET)
    style = torch.rand(1, 3, 8, 8)
    config = TransferConfig(steps=3, style_weight=float("inf"), init="noise")
    with pytest.raises(TrainingDiverged, match="diverged"):
        style_transfer(net, style, style_layers=("k3",), config=config, progress=False)


def test_transfer_rejects_bad_arguments() -> None:
    net = RandomMultiScaleNet(TINY_NET)
    style = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="'adam' or 'lbfgs'"):
        style_transfer(net, style, style, style_layers=("k3",),
                       config=TransferConfig(optimizer="sgd"), progress=False)
    with pytest.raises(ValueError, match="without a content image"):
        style_transfer(net, style, style_layers=("k3",), content_layers=("k3",),
                       config=TransferConfig(init="noise"), progress=False)
    with pytest.raises(ValueError, match="init='noise'"):
        style_transfer(net, style, style_layers=("k3",), progress=False)
    with pytest.raises(ValueError, match="one style image or one per content image"):
        style_transfer(net, torch.rand(2, 3, 8, 8), torch.rand(3, 3, 8, 8),
                       style_layers=("k3",), progress=False)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        style_transfer(net, style * 3, style, style_layers=("k3",), progress=False)


# --- VGG-19 ------------------------------------------------------------------------------


def test_vgg19_has_torchvisions_layout() -> None:
    model = VGGFeatures()
    convs = sorted(int(k.split(".")[1]) for k in model.state_dict() if k.endswith(".weight"))
    assert convs == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    assert model.state_dict()["features.34.weight"].shape == (512, 512, 3, 3)
    assert set(GATYS_STYLE_LAYERS + GATYS_CONTENT_LAYERS) <= set(model.names.values())


def test_vgg_returns_the_named_layers_and_stops_early() -> None:
    model = VGGFeatures(TINY_BLOCKS, layers=("relu1_1", "relu3_2"))
    maps = model(torch.rand(2, 3, 32, 32))
    assert {k: tuple(v.shape) for k, v in maps.items()} == {"relu1_1": (2, 4, 32, 32),
                                                          "relu3_2": (2, 8, 8, 8)}
    with pytest.raises(ValueError, match="unknown"):
        VGGFeatures(TINY_BLOCKS, layers=("relu9_9",))
    with pytest.raises(ValueError, match="RGB"):
        model(torch.rand(1, 1, 32, 32))


def _torchvision_like_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with torchvision's VGG keys, for the tiny network, plus a classifier."""
    torch.manual_seed(seed)
    state = {k: torch.randn_like(v) for k, v in VGGFeatures(TINY_BLOCKS).state_dict().items()
             if k.startswith("features.")}
    state["classifier.0.weight"] = torch.randn(5, 3)
    return state


def test_vgg_state_dict_keys_map() -> None:
    state = _torchvision_like_state()
    model = VGGFeatures(TINY_BLOCKS)
    model.load_state_dict(vgg_features_state(state, model))
    torch.testing.assert_close(model.features[5].weight, state["features.5.weight"])
    del state["features.5.bias"]
    with pytest.raises(ValueError, match="missing"):
        vgg_features_state(state, model)


def test_load_vgg19_from_a_file_is_frozen(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    import tutorial_lib.style.vgg as vgg

    monkeypatch.setattr(vgg, "VGG19_BLOCKS", TINY_BLOCKS)  # the layout, at a tiny width
    state = _torchvision_like_state(seed=3)
    torch.save(state, tmp_path / "tiny.pth")
    model = load_vgg19(tmp_path / "tiny.pth", layers=("relu2_1",))
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert isinstance(model.features[4], torch.nn.AvgPool2d)  # Gatys et al.'s pooling
    torch.testing.assert_close(model.features[34].bias, state["features.34.bias"])
    assert set(model(torch.rand(1, 3, 16, 16))) == {"relu2_1"}


def test_hash_prefix_follows_torch_hub() -> None:
    assert hash_prefix(VGG19_URL) == "dcbb9e9d"
    with pytest.raises(ValueError, match="name-<hex>"):
        hash_prefix("https://example.org/vgg19.pth")


@pytest.fixture
def weights_server(loopback) -> tuple[LoopbackServer, str, str]:
    """A loopback server of a tiny VGG state dict, once under its true hash prefix and
    once under a wrong one; gives the server and the two prefixes."""
    buffer = io.BytesIO()
    torch.save(_torchvision_like_state(), buffer)
    body = buffer.getvalue()
    prefix = hashlib.sha256(body).hexdigest()[:8]
    wrong = format(int(prefix, 16) ^ 1, "08x")
    server = loopback({f"tiny-{prefix}.pth": body, f"tiny-{wrong}.pth": body, "prefix": b""})
    return server, prefix, wrong


def test_download_checks_the_hash_prefix(weights_server, tmp_path: Path) -> None:
    server, prefix, wrong = weights_server
    base = server.url()
    path = download_vgg19(tmp_path, url=f"{base}tiny-{prefix}.pth", timeout=5, progress=False)
    assert path == tmp_path / "vgg" / f"tiny-{prefix}.pth"
    model = VGGFeatures(TINY_BLOCKS)
    model.load_state_dict(vgg_features_state(torch.load(path, weights_only=True), model))
    torch.testing.assert_close(model.features[0].weight,
                               _torchvision_like_state()["features.0.weight"])
    # a cached file is used without a request
    assert download_vgg19(tmp_path, url=f"{base}tiny-{prefix}.pth", progress=False) == path
    assert len(server.requests) == 1
    # a file whose hash does not start as its name says is refused and deleted
    with pytest.raises(DownloadError, match=f"does not start with {wrong}"):
        download_vgg19(tmp_path, url=f"{base}tiny-{wrong}.pth", timeout=5, progress=False)
    assert not (tmp_path / "vgg" / f"tiny-{wrong}.pth").exists()
    with pytest.raises(DownloadError, match="Could not download"):
        download_vgg19(tmp_path, url=f"{base}missing-{prefix}.pth", timeout=5, progress=False)
