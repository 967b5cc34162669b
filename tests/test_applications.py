"""applications/: the complexity-corrected anomaly score."""

from __future__ import annotations

import math

import pytest
import torch

from tutorial_lib.applications.anomaly import complexity_corrected_scores, compression_bits


def test_the_corrected_score_is_bits_of_the_score_minus_the_compressed_length() -> None:
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    scores = torch.linspace(50.0, 80.0, 6)
    corrected = complexity_corrected_scores(scores, x)
    expected = scores.double() / math.log(2) - compression_bits(x)
    assert corrected.dtype == torch.float64
    assert torch.allclose(corrected, expected)
    # a blank image codes shorter than a noisy one: at an equal score the model is more
    # surprised by it than its simplicity explains, so its corrected score is higher
    blank_and_noisy = torch.cat([torch.zeros(1, 1, 8, 8), x[:1]])
    two = complexity_corrected_scores(torch.tensor([60.0, 60.0]), blank_and_noisy)
    assert two[0] > two[1]


def test_the_corrected_score_needs_one_score_per_image() -> None:
    with pytest.raises(ValueError, match="one score per image, got 3 scores for 2 images"):
        complexity_corrected_scores(torch.ones(3), torch.zeros(2, 1, 8, 8))
