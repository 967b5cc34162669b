"""Chapter 1: a Gaussian mixture fitted by maximum likelihood.

The model (K components in d dimensions)

    p_theta(x) = sum_k pi_k N(x; mu_k, Sigma_k),   Sigma_k = L_k L_k^T,

is written with ``torch.distributions`` so that log-densities, sampling and gradients
come from well-tested code. Fitting maximizes the average log-likelihood by gradient
ascent (Adam), the same recipe the deep models of later chapters use; maximizing it is
minimizing KL(p_data || p_theta) (chapter 1's theorem).
"""

from __future__ import annotations

import math

import torch
from torch import distributions as dist
from torch import nn

from tutorial_lib.training import DivergenceGuard, ProgressBar, record
from tutorial_lib.validation import check_positive_int, check_tensor


class GaussianMixture(nn.Module):
    """A mixture of K full-covariance Gaussians in d dimensions.

    Parameters: mixing logits (K,), means (K, d), and per-component lower-triangular
    Cholesky factors whose diagonal is kept positive through a softplus.
    """

    def __init__(self, n_components: int, dim: int = 2, init_scale: float = 1.0) -> None:
        super().__init__()
        check_positive_int(n_components, "n_components")
        check_positive_int(dim, "dim")
        self.n_components, self.dim = n_components, dim
        self.logits = nn.Parameter(torch.zeros(n_components))
        self.means = nn.Parameter(torch.randn(n_components, dim))
        # Unconstrained lower triangle; the diagonal goes through softplus.
        inv_softplus = math.log(math.expm1(init_scale))
        self.raw_tril = nn.Parameter(
            torch.diag_embed(torch.full((n_components, dim), inv_softplus))
        )

    def scale_tril(self) -> torch.Tensor:
        """Cholesky factors L_k, shape (K, d, d), with positive diagonals."""
        strict = torch.tril(self.raw_tril, diagonal=-1)
        diag = nn.functional.softplus(torch.diagonal(self.raw_tril, dim1=-2, dim2=-1)) + 1e-5
        return strict + torch.diag_embed(diag)

    def distribution(self) -> dist.MixtureSameFamily:
        """p_theta as a ``torch.distributions`` object."""
        components = dist.MultivariateNormal(self.means, scale_tril=self.scale_tril())
        return dist.MixtureSameFamily(dist.Categorical(logits=self.logits), components)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_theta(x) in nats; x: (N, d) -> (N,)."""
        check_tensor(x, "x", ndim=2, last_dims=(self.dim,))
        return self.distribution().log_prob(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral sampling: k ~ Categorical(pi), then x ~ N(mu_k, Sigma_k). Returns (n, d)."""
        check_positive_int(n, "n")
        pi = torch.softmax(self.logits, 0)
        k = torch.multinomial(pi, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, 1, generator=generator, device=pi.device)
        return self.means[k] + (self.scale_tril()[k] @ eps).squeeze(-1)

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor, seed: int = 0, method: str = "kmeans") -> None:
        """Put the means at k-means centres (or random data points) and the scales at the
        data's spread per cluster; equal weights."""
        check_tensor(x, "x", ndim=2, last_dims=(self.dim,))
        if len(x) < self.n_components:
            raise ValueError(f"need at least {self.n_components} points, got {len(x)}")
        if method == "kmeans":
            from sklearn.cluster import KMeans

            km = KMeans(self.n_components, n_init=4, random_state=seed).fit(x.cpu().numpy())
            centres = torch.as_tensor(km.cluster_centers_, dtype=x.dtype)
            labels = torch.as_tensor(km.labels_)
        elif method == "random":
            g = torch.Generator().manual_seed(seed)
            centres = x.cpu()[torch.randperm(len(x), generator=g)[: self.n_components]]
            labels = torch.cdist(x.cpu(), centres).argmin(1)
        else:
            raise ValueError(f"unknown init method {method!r}; expected 'kmeans' or 'random'")
        self.means.copy_(centres.to(self.means))
        self.logits.zero_()
        for k in range(self.n_components):
            members = x.cpu()[labels == k]
            spread = members.std(0).mean() if len(members) > 1 else x.std(0).mean() / 4
            scale = float(spread.clamp_min(1e-3))
            self.raw_tril[k] = torch.diag(torch.full((self.dim,), math.log(math.expm1(scale))))


def fit_mle(
    model: GaussianMixture,
    x: torch.Tensor,
    steps: int = 1_000,
    lr: float = 0.05,
    batch_size: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Maximize the average log-likelihood (1/N) sum_i log p_theta(x_i) by Adam.

    Args:
        x: training data (N, d).
        steps: optimizer steps.
        batch_size: None uses all of x in every step (exact gradient).

    Returns:
        History ``{"step": [...], "log_likelihood": [...]}`` of plain floats (nats per point,
        on the batch used at that step).

    Raises:
        TrainingDiverged: the log-likelihood or a parameter stopped being finite; the
            model holds its parameters after the last good step.
    """
    check_tensor(x, "x", ndim=2, last_dims=(model.dim,))
    check_positive_int(steps, "steps")
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"step": [], "log_likelihood": []}
    guard = DivergenceGuard(model, history=history, hint=(
        "A component has probably collapsed onto a single point: lower lr or use fewer "
        "components."))
    with ProgressBar("fit mixture (MLE)", steps, progress, leave=False) as bar:
        for step in range(steps):
            batch = x if batch_size is None else x[torch.randint(len(x), (batch_size,),
                                                                 generator=g)]
            loss = -model.log_prob(batch).mean()  # negative log-likelihood, nats per point
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            log_likelihood = -loss.item()
            guard.check(step + 1, {"log_likelihood": log_likelihood})
            record(history, step=step, log_likelihood=log_likelihood)
            bar.advance({"loglik": log_likelihood} if step % 50 == 0 else None)
    return history
