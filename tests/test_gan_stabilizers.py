"""Chapter 8's stabilizers: the critic's output scale, each stabilizer's own recipe, the
``bench gan --recipes`` block, and a critic trained alone against a fixed "generator"."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tutorial_lib.bench import gan as bench_gan
from tutorial_lib.cli import main
from tutorial_lib.data import ring8
from tutorial_lib.gan import GANConfig, GANTrainConfig, make_discriminator, make_generator, recipes
from tutorial_lib.gan import losses as L
from tutorial_lib.gan.critic_surface import (
    critic_surface,
    fraction_at_clip,
    train_critic_against,
)
from tutorial_lib.gan.train import discriminator_step, generator_step
from tutorial_lib.results import load_result

# ---------------------------------------------------------------- the critic's output scale


@pytest.mark.parametrize("loss", ["hinge", "wgan-gp", "nonsaturating"])
def test_critic_scale_multiplies_the_scores_both_players_see(loss: str) -> None:
    """With scale s, both steps compute their losses on s * D(x): the same as a copy of D
    whose last layer is multiplied by s (penalties included)."""
    torch.manual_seed(0)
    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=8, layers=1)
    g, d = make_generator(config), make_discriminator(config)
    scaled_d = make_discriminator(config)
    scaled_d.load_state_dict(d.state_dict())
    with torch.no_grad():
        scaled_d.head.weight.mul_(7.0)
        scaled_d.head.bias.mul_(7.0)
    real = torch.randn(16, 2)
    state = torch.get_rng_state()
    terms = discriminator_step(g, d, torch.optim.SGD(d.parameters(), lr=0.0), real, None,
                               GANTrainConfig(loss=loss, critic_scale=7.0))
    torch.set_rng_state(state)
    reference = discriminator_step(g, scaled_d, torch.optim.SGD(scaled_d.parameters(), lr=0.0),
                                   real, None, GANTrainConfig(loss=loss))
    assert terms.loss == pytest.approx(reference.loss, rel=1e-5)
    state = torch.get_rng_state()
    loss_g = generator_step(g, d, torch.optim.SGD(g.parameters(), lr=0.0), 8, None,
                            GANTrainConfig(loss=loss, critic_scale=7.0))
    torch.set_rng_state(state)
    loss_ref = generator_step(g, scaled_d, torch.optim.SGD(g.parameters(), lr=0.0), 8, None,
                              GANTrainConfig(loss=loss))
    assert loss_g == pytest.approx(loss_ref, rel=1e-5)


def test_critic_scale_must_be_positive() -> None:
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="critic_scale"):
            GANTrainConfig(critic_scale=bad).check()


# ---------------------------------------------------------------- the recipes


def test_each_stabilizer_has_its_own_recipe_with_its_papers_loss() -> None:
    assert set(recipes.STABILIZER_RECIPES) == {"nonsaturating", "wgan-gp", "hinge-sn", "r1"}
    for name, recipe in recipes.STABILIZER_RECIPES.items():
        model, train = recipes.stabilizer_recipe(name, "book", seed=3)
        train.check()
        assert train.loss == recipes.TOY_VARIANTS[name].loss
        assert model.spectral_norm == (name == "hinge-sn")
        assert (train.steps, train.batch_size, train.lr_d, train.critic_scale, train.seed) == (
            recipe.book_steps, recipe.batch_size, recipe.lr, recipe.critic_scale, 3)
    with pytest.raises(ValueError, match="unknown stabilizer"):
        recipes.stabilizer_recipe("wgan-clip")


def test_the_equal_budget_recipes_are_unchanged_by_the_new_fields() -> None:
    for name in recipes.TOY_VARIANTS:
        _, train = recipes.toy_recipe(name, "book")
        assert (train.batch_size, train.r1_gamma, train.decay_from, train.gp_weight,
                train.critic_scale, train.n_critic) == (512, 0.1, 0.1, 10.0, 1.0, None)


def test_a_data_scale_trains_on_scaled_data_and_measures_unscaled_samples(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With data_scale s the sampler gives s * x and the samples are divided by s: a
    generator that outputs s * (a mode) is measured on the mode."""
    seen = {}

    def fake_train(g, d, sample_real, config, device=None, progress=True):
        seen["real"] = sample_real(1000)
        torch.nn.init.zeros_(g.net[-1].weight)
        with torch.no_grad():
            g.net[-1].bias.copy_(torch.tensor([20.0, 0.0]))  # 10 * the ring's first mode

    monkeypatch.setattr(bench_gan, "train_gan", fake_train)
    recipe = replace(recipes.STABILIZER_RECIPES["hinge-sn"], data_scale=10.0)
    r = bench_gan.train_and_measure(recipe, "ring8", 0, "smoke", "cpu")
    assert seen["real"].norm(dim=1).mean() == pytest.approx(20.0, rel=0.01)
    assert (r["modes"], r["high_quality"]) == (1, pytest.approx(100.0))


# ---------------------------------------------------------------- bench gan --recipes


def test_merge_recipes_keeps_every_stored_key_and_value() -> None:
    stored = {k: v for k, v in load_result("bench_gan").items()
              if k not in ("recipes", "recipes_run")}  # the equal-budget result alone
    measured = {"recipes": {"r1": {"summary": "x"}}, "recipes_run": {"seeds": 3}}
    merged = bench_gan.merge_recipes(stored, measured)
    assert {k: merged[k] for k in stored} == stored
    assert merged["recipes"] == measured["recipes"]
    again = bench_gan.merge_recipes(merged, {"recipes": {"hinge-sn": {"summary": "y"}},
                                             "recipes_run": {"seeds": 1}})
    assert again["recipes"] == {"r1": {"summary": "x"}, "hinge-sn": {"summary": "y"}}
    with pytest.raises(ValueError, match="equal-budget"):
        bench_gan.merge_recipes({"bench": "gan"}, measured)


def test_the_stored_recipes_block_has_every_stabilizer_on_both_mixtures() -> None:
    stored = load_result("bench_gan")
    if "recipes" not in stored:
        pytest.skip("no recipes block stored yet")
    assert set(stored["recipes"]) == set(recipes.STABILIZER_RECIPES)
    for row in stored["recipes"].values():
        for data, n_modes in (("ring8", 8), ("grid25", 25)):
            r = row[data]
            assert len(r["modes"]) == stored["recipes_run"]["seeds"]
            assert 0 <= r["modes_min"] <= r["modes_median"] <= n_modes
            assert 0 <= r["hq_median"] <= 100
    assert all(row["command"].startswith("python -m tutorial_lib bench gan --recipes")
               for row in stored["recipes"].values())


@pytest.mark.slow
def test_bench_gan_recipes_prints_its_table_and_merges_its_block(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stored = tmp_path / "bench_gan.json"
    stored.write_text(json.dumps(load_result("bench_gan")))
    assert main(["bench", "gan", "--recipes", "--budget", "smoke", "--seeds", "2",
                 "--variants", "hinge-sn,r1", "--data", "ring8", "--device", "cpu",
                 "--merge", str(stored)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert any(line.startswith("bench gan --recipes") for line in lines)
    before = load_result("bench_gan").get("recipes", {})
    assert set(result["recipes"]) == {"hinge-sn", "r1"} | set(before)
    for name in set(before) - {"hinge-sn", "r1"}:  # rows not measured again are kept
        assert result["recipes"][name] == before[name]
    for name in ("hinge-sn", "r1"):
        row = result["recipes"][name]
        assert any(line.startswith(name) for line in lines)
        if any("grid25" in r for r in before.values()):  # stored rows: both mixtures
            assert "grid25" not in row
            assert any(line.startswith(name) and line.rstrip().endswith("-") for line in lines)
        r = row["ring8"]
        assert len(r["modes"]) == 2 and r["modes_median"] == pytest.approx(sum(r["modes"]) / 2)
        assert row["settings"]["loss"] == recipes.STABILIZER_RECIPES[name].loss
    merged = json.loads(stored.read_text())
    assert merged["variants"] == load_result("bench_gan")["variants"]
    assert merged["recipes"] == result["recipes"]
    assert "--recipes" in merged["recipes_run"]["command"]
    assert all(merged["recipes"][name]["command"] == merged["recipes_run"]["command"]
               for name in ("hinge-sn", "r1"))
    assert main(["bench", "gan", "--recipes", "--variants", "wgan-clip",
                 "--budget", "smoke"]) == 2
    assert "unknown variant 'wgan-clip'" in capsys.readouterr().err


# ---------------------------------------------------------------- a critic alone


def _ring_and_noisy_ring(noise: float = 0.5):
    target = ring8()
    return target.sample, lambda n: target.sample(n) + noise * torch.randn(n, 2)


@pytest.mark.parametrize("constraint", ["clip", "gp"])
def test_a_critic_trained_alone_separates_real_from_fake(constraint: str) -> None:
    real, fake = _ring_and_noisy_ring()
    run = train_critic_against(real, fake, constraint, steps=150, hidden=32, lr=1e-3)
    assert len(run.w1) == 150 and all(math.isfinite(w) for w in run.w1)
    with torch.no_grad():
        gap = (run.critic(real(2000)).mean() - run.critic(fake(2000)).mean()).item()
    assert gap > 0  # the dual estimate of W1 is positive: real scores above fake
    if constraint == "clip":
        assert all(p.abs().max() <= 0.01 for p in run.critic.parameters())
    else:  # the penalty holds the gradient norm near 1 between real and fake
        assert L.gradient_penalty(run.critic, real(512), fake(512)).item() < 0.5


def test_clipping_pushes_weights_to_the_limit_and_the_surface_has_the_grid_layout() -> None:
    real, fake = _ring_and_noisy_ring()
    run = train_critic_against(real, fake, "clip", steps=200, hidden=32, lr=1e-3)
    assert fraction_at_clip(run.critic, 0.01) > 0.5  # Gulrajani et al., Figure 1b
    gp = train_critic_against(real, fake, "gp", steps=200, hidden=32, lr=1e-3)
    assert fraction_at_clip(gp.critic, 0.01) < 0.1  # no pile-up without clipping
    surface = critic_surface(run.critic, (-3.0, 3.0, -2.0, 2.0), resolution=5)
    assert surface.shape == (5, 5)
    with torch.no_grad():  # row i is y = ys[i], column j is x = xs[j]
        assert surface[0, 4] == pytest.approx(run.critic(torch.tensor([[3.0, -2.0]])).item(),
                                              rel=1e-5, abs=1e-7)
    with pytest.raises(ValueError, match="constraint"):
        train_critic_against(real, fake, "spectral")
    with pytest.raises(ValueError, match="bounds"):
        critic_surface(run.critic, (1.0, 0.0, 0.0, 1.0))


# ---------------------------------------------------------------- the trials' tool


def test_the_trial_tool_types_each_setting_like_the_recipe_field() -> None:
    import gan_recipe_trials as trials

    recipe = recipes.STABILIZER_RECIPES["wgan-gp"]
    assert trials.parse_setting("lr=5e-4", recipe) == ("lr", 5e-4)
    assert trials.parse_setting("book_steps=4000", recipe) == ("book_steps", 4000)
    assert trials.parse_setting("betas=0,0.9", recipe) == ("betas", (0.0, 0.9))
    assert trials.parse_setting("n_critic=None", recipe) == ("n_critic", None)
    assert trials.parse_setting("spectral_norm=true", recipe) == ("spectral_norm", True)
    for bad in ("lr", "loss=hinge", "width=3"):
        with pytest.raises(ValueError, match="FIELD=VALUE"):
            trials.parse_setting(bad, recipe)
    runs = [{"modes": m, "high_quality": h, "seed": s, "seconds": 1.0}
            for s, (m, h) in enumerate([(8, 90.0), (6, 50.0), (7, 95.0)])]
    summary = trials.median_summary(runs)
    assert (summary["modes_median"], summary["hq_median"]) == (7.0, 90.0)
