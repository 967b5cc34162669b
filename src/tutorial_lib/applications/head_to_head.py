"""Chapter 10's head-to-head: train any of the book's image models for the same
wall-clock time, then score them all the same way.

:func:`train_for` trains one model by name (``MODELS``) with the book's recipe for it and
a time budget, and returns a :class:`Trained` that can draw images. :func:`score` draws
samples and scores them with chapter 9's digit-feature metrics against the training
images; models with an ELBO (the VAE and the VAE-GAN) also get a test NLL estimate.

:func:`save_trained` stores a trained model as a verified checkpoint (safetensors, sha256
in the manifest, with the command that made it) and :func:`load_trained` rebuilds it, so
the chapter can score the reference models, trained once for 20 minutes each, without
training them again. :func:`reference_name` names them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tutorial_lib.applications.reference_seeds import locate
from tutorial_lib.checkpoints import (
    CheckpointError,
    ManifestEntry,
    load_checkpoint,
    save_checkpoint,
)
from tutorial_lib.data.images import ImageDataset, binarize, train_validation_split
from tutorial_lib.device import get_device
from tutorial_lib.diffusion.images import ImageDiffusion, ImageDiffusionConfig
from tutorial_lib.diffusion.images import to_model_space as to_diffusion_space
from tutorial_lib.diffusion.recipes import image_recipe
from tutorial_lib.diffusion.train import train_diffusion
from tutorial_lib.gan import recipes
from tutorial_lib.gan.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    GANConfig,
    make_generator,
    to_model_space,
)
from tutorial_lib.gan.train import train_gan
from tutorial_lib.hybrids import (
    AAE,
    VAEGAN,
    AAEConfig,
    HybridTrainConfig,
    VAEGANConfig,
    train_hybrid,
)
from tutorial_lib.metrics.evaluate import digit_scores
from tutorial_lib.seeding import set_seed
from tutorial_lib.training import TrainingDiverged
from tutorial_lib.vae.models import VAE, VAEConfig
from tutorial_lib.vae.objectives import estimate_log_likelihood
from tutorial_lib.vae.recipes import REFERENCE, likelihood_for
from tutorial_lib.vae.sampling import sample_images
from tutorial_lib.vae.train import VAETrainConfig, train_vae

MODELS = ("vae", "gan", "vae-gan", "aae")
DESCRIPTIONS = {
    "vae": "reference conv VAE (Bernoulli decoder; samples are decoder means)",
    "gan": "DCGAN, non-saturating loss + R1, EMA generator",
    "vae-gan": "VAE-GAN: pixel + discriminator-feature reconstruction, adversarial decoder",
    "aae": "adversarial autoencoder, 8-D codes matched to N(0, I)",
}
# Chapter 16's diffusion model: trained, shipped and scored alike, with rows in chapter
# 10's stored tables, but not trained by chapter 10's notebook (drawing 1,000 digits
# through 100 denoising steps takes minutes on a CPU)
EXTRA_MODELS = ("diffusion",)
ALL_MODELS = MODELS + EXTRA_MODELS
DESCRIPTIONS["diffusion"] = ("DDPM: a U-Net noise predictor, cosine schedule, sampled on a "
                             "respaced chain")
LIKELIHOOD = ("vae", "vae-gan", "diffusion")  # models with an ELBO: a test NLL or its bound
STEPS_CAP = 10**9  # training is stopped by the time budget


@dataclass
class Trained:
    """A trained model that draws images."""

    name: str
    model: nn.Module  # the network that samples (for the GAN, the averaged generator)
    sample: Callable[[int, torch.Generator], torch.Tensor]  # (n, gen) -> (n, C, H, W) [0, 1]
    seconds: float  # training wall-clock
    steps: int  # parameter updates (epochs for the VAE)
    history: dict[str, list[float]] = field(default_factory=dict)
    diverged: str | None = None  # the error message if training diverged
    vae: nn.Module | None = None  # the part with an ELBO (VAE and VAE-GAN)
    nll_bound: Callable[[torch.Tensor, int], float] | None = None  # (binary x, seed) ->
    #   -ELBO in nats per image, for a model whose NLL is bounded another way (diffusion)


def _vae_sampler(vae) -> Callable[[int, torch.Generator], torch.Tensor]:

    return lambda n, gen: sample_images(vae, n, generator=gen)


def train_for(name: str, data: ImageDataset, seconds: float, seed: int = 0,
              device: torch.device | str | None = None, progress: bool = False,
              budget: Any = None, gan_changes: dict[str, Any] | None = None) -> Trained:
    """Train model ``name`` (one of ``MODELS``) on ``data.x_train`` for ``seconds``.

    Every model uses its recipe (the settings its chapter chose by measurement) and stops
    when the wall-clock budget is spent; a model that diverges keeps its last good state
    and reports the error in ``diverged``. ``gan_changes`` (the GAN only, for tuning
    trials) replaces fields of its recipe: of ``GANConfig`` (e.g. ``hidden``) or of
    ``GANTrainConfig`` (e.g. ``batch_size``, ``lr_g``, ``augment``).
    """

    if name not in ALL_MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(ALL_MODELS)}")
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if gan_changes and name != "gan":
        raise ValueError(f"gan_changes applies to the GAN only, not to {name!r}")
    device = get_device(device)
    set_seed(seed)
    start = time.perf_counter()
    if name == "vae":
        return _train_vae(data, seconds, seed, device, progress, start)
    if name == "gan":
        return _train_gan(data, seconds, seed, device, progress, start, budget,
                          gan_changes or {})
    if name == "diffusion":
        return _train_diffusion(data, seconds, seed, device, progress, start, budget)
    return _train_hybrid(name, data, seconds, seed, device, progress, start)


def _train_vae(data, seconds, seed, device, progress, start) -> Trained:

    return train_reference_vae(data, seconds=seconds, seed=seed, device=device,
                               progress=progress, start=start)


def train_reference_vae(data: ImageDataset, *, seconds: float | None = None,
                        epochs: int | None = None, seed: int = 0,
                        device: torch.device | str | None = None, progress: bool = False,
                        start: float | None = None) -> Trained:
    """The reference VAE (``vae.recipes.REFERENCE``) on ``data.x_train``, stopped after
    ``seconds`` of wall-clock or ``epochs`` passes, whichever is given (one of them must
    be). An eighth of the training images is held out for early stopping."""

    if (seconds is None) == (epochs is None):
        raise ValueError("give exactly one of seconds and epochs")
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    start = time.perf_counter() if start is None else start
    device = get_device(device)
    set_seed(seed)
    recipe = REFERENCE.get(data.name, REFERENCE["mnist5k"])
    n_val = max(1, len(data.x_train) // 8)
    x_tr, _, x_val, _ = train_validation_split(data.x_train, data.y_train, n_val, seed=seed)
    model = VAE(VAEConfig(image_shape=data.image_shape, likelihood=likelihood_for(data.name),
                          **recipe.model))
    config = VAETrainConfig(epochs=epochs or STEPS_CAP, max_seconds=seconds, seed=seed,
                            **recipe.train)
    diverged, history = None, {}
    try:
        history = train_vae(model, x_tr, x_val, config=config, device=device,
                            progress=progress)
    except TrainingDiverged as err:
        diverged = str(err)
    return Trained("vae", model, _vae_sampler(model), time.perf_counter() - start,
                   len(history.get("epoch", [])), history, diverged, vae=model)


def _split_changes(changes: dict[str, Any], *configs: Any) -> list[dict[str, Any]]:
    """Sort ``changes`` by the config dataclass that has each field (the first that does)."""
    parts: list[dict[str, Any]] = [{} for _ in configs]
    for key, value in changes.items():
        owner = next((i for i, c in enumerate(configs)
                      if key in {f.name for f in dataclasses.fields(c)}), None)
        if owner is None:
            names = sorted({f.name for c in configs for f in dataclasses.fields(c)})
            raise ValueError(f"unknown recipe field {key!r}; expected one of "
                             f"{', '.join(names)}")
        parts[owner][key] = value
    return parts


def _train_gan(data, seconds, seed, device, progress, start, budget, changes) -> Trained:

    model_config, train_config = recipes.image_recipe(data.image_shape, budget, seed=seed)
    model_changes, train_changes = _split_changes(changes, model_config, train_config)
    model_config = replace(model_config, **model_changes)
    train_config = replace(train_config, **train_changes, steps=STEPS_CAP,
                           max_seconds=seconds)
    x = to_model_space(data.x_train).to(device)
    index_gen = torch.Generator().manual_seed(seed)

    def sample_real(n: int) -> torch.Tensor:
        return x[torch.randint(len(x), (n,), generator=index_gen).to(device)]

    g, d = DCGANGenerator(model_config), DCGANDiscriminator(model_config)
    diverged, history, final = None, {}, g
    try:
        run = train_gan(g, d, sample_real, train_config, device=device, progress=progress)
        history = run.history
        final = run.ema_generator if run.ema_generator is not None else g
    except TrainingDiverged as err:
        diverged = str(err)
    final.eval()

    @torch.no_grad()
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, model_config.latent_dim, generator=gen).to(device)
        return final.images(z).clamp(0, 1).cpu()

    return Trained("gan", final, sample, time.perf_counter() - start,
                   len(history.get("step", [])), history, diverged)


def _diffusion_trained(model: ImageDiffusion, seconds: float, steps: int,
                       history: dict[str, list[float]], diverged: str | None,
                       nll_draws: int) -> Trained:
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        return model.sample_images(n, gen)

    def nll_bound(x_binary: torch.Tensor, seed: int) -> float:
        return model.nll_bound(x_binary, draws=nll_draws,
                               generator=torch.Generator().manual_seed(30_000 + seed))[0]

    return Trained("diffusion", model, sample, seconds, steps, history, diverged,
                   nll_bound=nll_bound)


def _train_diffusion(data, seconds, seed, device, progress, start, budget) -> Trained:

    recipe = image_recipe(budget)
    model = ImageDiffusion(replace(recipe.model, image_shape=data.image_shape))
    config = replace(recipe.train, steps=STEPS_CAP, max_seconds=seconds)
    x = to_diffusion_space(data.x_train)
    diverged, run = None, None
    try:
        run = train_diffusion(model, x, model.schedule, config, device=device,
                              generator=torch.Generator().manual_seed(seed), progress=progress)
    except TrainingDiverged as err:
        diverged = str(err)
    final = run.ema_model if run is not None and run.ema_model is not None else model
    final.eval()
    return _diffusion_trained(final, time.perf_counter() - start,
                              run.steps if run is not None else 0,
                              run.history if run is not None else {}, diverged,
                              recipe.nll_draws)


def _train_hybrid(name, data, seconds, seed, device, progress, start) -> Trained:

    model: nn.Module = (VAEGAN(VAEGANConfig(image_shape=data.image_shape)) if name == "vae-gan"
                        else AAE(AAEConfig(image_shape=data.image_shape)))
    config = HybridTrainConfig(steps=STEPS_CAP, max_seconds=seconds, seed=seed)
    diverged, history = None, {}
    try:
        history = train_hybrid(model, data.x_train, config, device=device, progress=progress)
    except TrainingDiverged as err:
        diverged = str(err)
    model.eval()

    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        return model.sample_images(n, gen).cpu()

    return Trained(name, model, sample, time.perf_counter() - start,
                   len(history.get("step", [])), history, diverged,
                   vae=model.vae if name == "vae-gan" else None)


def score(trained: Trained, data: ImageDataset, classifier: nn.Module, *, n_samples: int,
          nll_samples: int = 0, seed: int = 0) -> dict[str, Any]:
    """Digit-feature scores of ``n_samples`` images against ``data.x_train``, plus the test
    NLL (k = ``nll_samples`` importance samples; 0 skips it) where the model has an ELBO.

    Returns plain floats: fid, kid, kid_stderr, precision, recall, class_tv,
    classes_present, nll (None where undefined), seconds, steps, diverged.
    """

    images = trained.sample(n_samples, torch.Generator().manual_seed(20_000 + seed))
    scores = digit_scores(images, data.x_train, classifier, seed=seed).as_dict()
    nll = None
    if trained.nll_bound is not None and nll_samples > 0:
        nll = trained.nll_bound(binarize(data.x_test, "fixed", seed=12345), seed)
    elif trained.vae is not None and nll_samples > 0:
        x_test = binarize(data.x_test, "fixed", seed=12345)
        nll = estimate_log_likelihood(trained.vae, x_test.to(next(trained.vae.parameters())
                                                             .device),
                                      k=nll_samples, progress=False, seed=seed).nll
    return {**scores, "nll": nll, "seconds": trained.seconds, "steps": trained.steps,
            "diverged": trained.diverged}


# --- reference checkpoints -----------------------------------------------------------------

REFERENCE_SECONDS = 1200.0  # the reference models' training budget: 20 minutes each
_CONFIGS: dict[str, type] = {"vae": VAEConfig, "gan": GANConfig, "vae-gan": VAEGANConfig,
                             "aae": AAEConfig, "diffusion": ImageDiffusionConfig}


def reference_name(model: str, seed: int) -> str:
    """The checkpoint name of a reference model: ``compare-<model>-s<seed>``."""
    if model not in ALL_MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(ALL_MODELS)}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return f"compare-{model}-s{seed}"


def _config_to_json(config: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(config).items()}


def _config_from_json(cls: type, raw: dict[str, Any]) -> Any:
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except TypeError as err:
        raise CheckpointError(f"the manifest's config is not a {cls.__name__}: {err}") from err


def save_trained(trained: Trained, directory: str | Path, name: str, *, command: str,
                 data: str, seed: int, metrics: dict[str, Any] | None = None
                 ) -> ManifestEntry:
    """Store ``trained.model`` (for the GAN, the averaged generator that samples) as a
    verified checkpoint; the manifest keeps its config, the command, the training seconds
    and updates, and ``metrics``."""

    if trained.name not in ALL_MODELS:
        raise ValueError(f"trained.name must be one of {', '.join(ALL_MODELS)}, got "
                         f"{trained.name!r}")
    entry_metrics = {"seconds": round(trained.seconds, 1), "updates": trained.steps,
                     "diverged": trained.diverged, **(metrics or {})}
    model = trained.model
    return save_checkpoint(model.state_dict(), directory, name, command=command, data=data,
                           steps=trained.steps, seed=seed, model=f"compare.{trained.name}",
                           config=_config_to_json(model.config), metrics=entry_metrics)


def load_trained(name: str, directory: str | Path | None = None,
                 device: torch.device | str | None = None) -> Trained:
    """Rebuild a model saved by :func:`save_trained` from its verified checkpoint, in eval
    mode, ready to sample and score. Default folder: where
    :func:`~tutorial_lib.applications.reference_seeds.locate` finds the reference
    checkpoint ``name`` (the package for seed 0; seeds 1 and 2 are fetched once, verified)."""

    if directory is None:
        directory = locate(name)
    tensors, entry = load_checkpoint(name, directory)
    kind = entry.model.removeprefix("compare.")
    if not entry.model.startswith("compare.") or kind not in _CONFIGS:
        raise CheckpointError(f"checkpoint {name!r} holds a {entry.model}, not one of the "
                              f"head-to-head's models")
    config = _config_from_json(_CONFIGS[kind], entry.config)
    device = get_device(device)
    model: nn.Module = {"vae": VAE, "gan": make_generator, "vae-gan": VAEGAN,
                        "aae": AAE, "diffusion": ImageDiffusion}[kind](config)
    model.load_state_dict(tensors)
    model = model.to(device).eval()
    seconds = float(entry.metrics.get("seconds", 0.0))
    if kind == "diffusion":
        return _diffusion_trained(model, seconds, entry.steps, {},
                                  entry.metrics.get("diverged"),
                                  image_recipe("book").nll_draws)
    if kind == "vae":
        sample, vae = _vae_sampler(model), model
    elif kind == "gan":
        @torch.no_grad()
        def sample(n: int, gen: torch.Generator) -> torch.Tensor:
            z = torch.randn(n, config.latent_dim, generator=gen).to(device)
            return model.images(z).clamp(0, 1).cpu()
        vae = None
    else:
        def sample(n: int, gen: torch.Generator) -> torch.Tensor:
            return model.sample_images(n, gen).cpu()
        vae = model.vae if kind == "vae-gan" else None
    return Trained(kind, model, sample, seconds, entry.steps, {},
                   entry.metrics.get("diverged"), vae=vae)
