"""Decoder likelihoods p_theta(x | z), each returning log p(x | z) summed over pixels.

The decoder network outputs one number per pixel; the likelihood turns it into a
distribution over the pixel:

- :class:`BernoulliLikelihood`: the output is a logit l, p(x = 1 | z) = sigmoid(l), for
  binary images. log p(x | z) = sum_pixels [x l - log(1 + e^l)], computed stably by
  ``binary_cross_entropy_with_logits``.
- :class:`BinomialLikelihood`: for counts 0..n stored as x = c / n (the 8x8 digits, n = 16),
  p(c | z) = Binomial(n, sigmoid(l)): an exact discrete likelihood for grey levels.
- :class:`GaussianLikelihood`: the output is the mean m, p(x | z) = N(x; m, s^2) with one
  variance s^2 for all pixels, either fixed or learned. log p(x | z) =
  -1/2 sum_pixels [log(2 pi s^2) + (x - m)^2 / s^2]. With a fixed s, maximizing it is
  minimizing the squared error: the "MSE VAE". The log-variance is clamped to
  [LOG_VARIANCE_MIN, LOG_VARIANCE_MAX] wherever it is used, so that a learned s^2 cannot
  run to 0 (where the likelihood of a perfectly reconstructed pixel is unbounded) and so
  that ``sample`` draws from the distribution ``log_prob`` scores.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.validation import check_images

LOG_VARIANCE_MIN = -12.0  # s^2 >= e^-12, about 6e-6
LOG_VARIANCE_MAX = 4.0  # s^2 <= e^4, about 55


class BernoulliLikelihood(nn.Module):
    """p(x | z) = prod_pixels Bernoulli(x; sigmoid(logits)). Needs binary x in {0, 1}."""

    binary = True

    def log_prob(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """log p(x | z): x (B, C, H, W) binary, logits (B, C, H, W) -> (B,) in nats."""
        _check_pair(x, logits)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """E[x | z] = sigmoid(logits), the grey-level picture of the distribution."""
        return torch.sigmoid(logits)

    def sample(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.bernoulli(torch.sigmoid(logits))

    def extra_repr(self) -> str:
        return "binary pixels, decoder outputs logits"


class BinomialLikelihood(nn.Module):
    """p(x | z) = prod_pixels Binomial(n x; n, sigmoid(logits)), for counts stored as x = c/n.

    scikit-learn's 8x8 digits are counts: each pixel is the number of inked pixels (0 to
    16) in a 4x4 block of a 32x32 bitmap, divided here by n = 16. A binomial is the exact
    discrete likelihood for such data, so its log p(x) is a proper log-probability and the
    NLL in nats is comparable across models.
    """

    binary = False
    discrete = True

    def __init__(self, total_count: int = 16) -> None:
        super().__init__()
        if total_count < 1:
            raise ValueError(f"total_count must be at least 1, got {total_count}")
        self.total_count = total_count

    def counts(self, x: torch.Tensor) -> torch.Tensor:
        c = x * self.total_count
        if not torch.allclose(c, c.round(), atol=1e-4):
            raise ValueError(
                f"x: a binomial likelihood needs values that are multiples of "
                f"1/{self.total_count} (counts divided by {self.total_count}); got other values"
            )
        return c.round()

    def log_prob(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """log p(x | z) summed over pixels; x (B, C, H, W) in [0, 1] -> (B,) in nats."""
        _check_pair(x, logits, binary=False)
        c = self.counts(x)
        n = float(self.total_count)
        log_choose = torch.lgamma(torch.tensor(n + 1)) - torch.lgamma(c + 1) - torch.lgamma(
            n - c + 1)
        log_p = -F.softplus(-logits)  # log sigmoid
        log_1mp = -F.softplus(logits)  # log (1 - sigmoid)
        return (log_choose + c * log_p + (n - c) * log_1mp).flatten(1).sum(1)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)

    def sample(self, logits: torch.Tensor) -> torch.Tensor:
        counts = torch.distributions.Binomial(self.total_count, logits=logits).sample()
        return counts / self.total_count

    def extra_repr(self) -> str:
        return f"counts 0..{self.total_count}, decoder outputs logits"


class GaussianLikelihood(nn.Module):
    """p(x | z) = prod_pixels N(x; mean, s^2), with s^2 fixed or learned (one for all pixels)."""

    binary = False

    def __init__(self, variance: float = 0.1, learned: bool = False) -> None:
        super().__init__()
        if not math.exp(LOG_VARIANCE_MIN) <= variance <= math.exp(LOG_VARIANCE_MAX):
            raise ValueError(
                f"variance must lie in [e^{LOG_VARIANCE_MIN:g}, e^{LOG_VARIANCE_MAX:g}] = "
                f"[{math.exp(LOG_VARIANCE_MIN):.2g}, {math.exp(LOG_VARIANCE_MAX):.3g}], the range "
                f"the likelihood clamps log s^2 to; got {variance}"
            )
        log_var = torch.tensor(math.log(variance))
        self.learned = learned
        if learned:
            self.log_var = nn.Parameter(log_var)
        else:
            self.register_buffer("log_var", log_var)

    def log_variance(self) -> torch.Tensor:
        """log s^2, clamped to [LOG_VARIANCE_MIN, LOG_VARIANCE_MAX]: the value every method uses."""
        return self.log_var.clamp(LOG_VARIANCE_MIN, LOG_VARIANCE_MAX)

    def log_prob(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """log p(x | z): x (B, C, H, W) in [0, 1], mean (B, C, H, W) -> (B,) in nats."""
        _check_pair(x, mean, binary=False)
        log_var = self.log_variance()
        sq = ((x - mean) ** 2 / log_var.exp()).flatten(1).sum(1)
        return -0.5 * (sq + x[0].numel() * (math.log(2 * math.pi) + log_var))

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def sample(self, out: torch.Tensor) -> torch.Tensor:
        """x ~ N(out, s^2) per pixel, (B, C, H, W), with the clamped s^2 of ``log_prob``."""
        return out + torch.randn_like(out) * (0.5 * self.log_variance()).exp()

    def extra_repr(self) -> str:
        kind = "learned" if self.learned else "fixed"
        return f"{kind} variance {float(self.log_variance().exp()):.4g}"


def _check_pair(x: torch.Tensor, out: torch.Tensor, binary: bool = True) -> None:
    check_images(x, "x", binary=binary)
    if out.shape != x.shape:
        raise ValueError(
            f"decoder output has shape {tuple(out.shape)} but the images have shape "
            f"{tuple(x.shape)}; they must match"
        )


def make_likelihood(name: str, variance: float = 0.1) -> nn.Module:
    """``"bernoulli"``, ``"binomial16"`` (counts 0..16, the 8x8 digits), ``"gaussian"``
    (fixed variance s^2 = ``variance``) or ``"gaussian-learned"`` (s^2 starts at
    ``variance``). The two discrete likelihoods ignore ``variance``."""
    if not variance > 0:
        raise ValueError(f"variance must be positive, got {variance}")
    if name == "bernoulli":
        return BernoulliLikelihood()
    if name == "binomial16":
        return BinomialLikelihood(16)
    if name == "gaussian":
        return GaussianLikelihood(variance, learned=False)
    if name == "gaussian-learned":
        return GaussianLikelihood(variance, learned=True)
    raise ValueError(
        f"unknown likelihood {name!r}; expected 'bernoulli', 'binomial16', 'gaussian' or "
        "'gaussian-learned'"
    )
