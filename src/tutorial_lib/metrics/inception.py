"""Inception FID and KID through ``torch-fidelity``: an optional extra.

The book's numbers use the digit classifier (:mod:`tutorial_lib.metrics.classifier`)
and work offline. To compare with papers, install the extra,
``pip install "tutorial-lib[inception]"``, on a machine with a network (Colab):
torch-fidelity downloads the Inception-v3 weights on first use. Nothing in the book calls
this module; it adapts our image tensors to what torch-fidelity expects.
"""

from __future__ import annotations

import torch

from tutorial_lib.validation import check_images


class _UInt8RGB(torch.utils.data.Dataset):
    """Images (N, C, H, W) in [0, 1] as the uint8 tensors (3, H, W) torch-fidelity reads."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = check_images(x, "images").detach().cpu()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = (self.x[i] * 255).round().to(torch.uint8)
        return img.expand(3, -1, -1).contiguous() if img.shape[0] == 1 else img


def inception_scores(real: torch.Tensor, fake: torch.Tensor, kid: bool = True,
                     cuda: bool | None = None) -> dict[str, float]:
    """Inception FID (and KID) of ``fake`` against ``real``, images (N, C, H, W) in [0, 1]
    with C = 1 or 3. Returns torch-fidelity's dictionary, e.g.
    ``frechet_inception_distance`` and ``kernel_inception_distance_mean``.

    Raises ImportError with the install command when torch-fidelity is missing.
    """
    try:
        import torch_fidelity
    except ImportError as err:
        raise ImportError(
            "Inception FID needs the optional extra: pip install 'tutorial-lib[inception]' "
            "(torch-fidelity; it downloads the Inception weights on first use, so it needs "
            "a network). The book's offline digit-feature metrics need neither: see "
            "tutorial_lib.metrics.digit_scores"
        ) from err
    cuda = torch.cuda.is_available() if cuda is None else cuda
    subset = min(1000, len(real), len(fake))
    return dict(torch_fidelity.calculate_metrics(
        input1=_UInt8RGB(fake), input2=_UInt8RGB(real), cuda=cuda, fid=True, kid=kid,
        kid_subset_size=subset, verbose=False))
