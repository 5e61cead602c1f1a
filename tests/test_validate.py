"""The one validation helper: accepted inputs and every rejection naming its argument."""

import numpy as np
import pytest
import torch

from latentalign._validate import as_labels, as_matrix, check_paired, check_positive


def test_accepts_numpy_torch_and_lists_as_float64():
    for x in (np.ones((3, 2), dtype=np.int32), torch.ones(3, 2), [[1, 2], [3, 4], [5, 6]]):
        t = as_matrix(x, "X")
        assert t.dtype == torch.float64 and t.shape[1] == 2


def test_keep_dtype_and_autograd():
    x = torch.ones(3, 2, dtype=torch.float32, requires_grad=True)
    assert as_matrix(x, "X", dtype=None).requires_grad
    assert as_matrix(x, "X", dtype=None).dtype == torch.float32
    assert as_matrix(np.ones((2, 2), dtype=np.int64), "X", dtype=None).dtype == torch.float32


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: as_matrix(np.ones((3, 2)), "Z", min_samples=4), "at least 4"),
        (lambda: as_matrix(np.ones((3, 2)), "Z", allow_constant=False), "zero variance"),
        (lambda: as_matrix(np.ones((3, 2), dtype=complex), "Z"), "real numbers"),
        (lambda: as_matrix("abc", "Z"), "numpy array or torch tensor"),
        (lambda: as_matrix(np.array([[object()]]), "Z"), "numeric"),
        (lambda: as_labels(np.array([0.5, 1.0]), "Z"), "integer class labels"),
        (lambda: as_labels(np.array([0, 3]), "Z", n_classes=3), "< n_classes=3"),
        (lambda: as_labels(np.array([0, -1]), "Z"), ">= 0"),
        (lambda: as_labels(np.array([0, 1]), "Z", n_samples=3), "expected 3 labels"),
        (lambda: check_positive(-1.0, "Z"), "positive"),
        (lambda: check_positive(float("nan"), "Z"), "positive"),
        (lambda: check_positive("1", "Z"), "positive number"),
        (lambda: check_paired(torch.ones(3, 1), torch.ones(2, 1), ("A", "Z")), "same number"),
    ],
)
def test_rejections_name_the_argument(call, words):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value).startswith("Z:") and words in str(info.value)


def test_labels_from_float_integers():
    assert as_labels(np.array([0.0, 2.0]), "y").tolist() == [0, 2]


def test_overflowing_sum_of_finite_values_is_accepted():
    big = np.full((4, 2), np.finfo(np.float64).max)
    assert torch.isfinite(as_matrix(big, "X")).all()
