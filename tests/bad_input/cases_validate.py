"""The shared validation layer on the families every public function inherits from it."""

import numpy as np
import torch

from latentalign._validate import as_matrix, check_bool, check_int, check_positive

from .harness import Case

_X = np.arange(12.0).reshape(4, 3)

CASES = [
    Case("rank_dtype_order", "validate-big-endian", lambda: as_matrix(_X.astype(">f8"), "X"), None,
         check=lambda t: torch.equal(t, torch.from_numpy(_X))),
    Case("rank_dtype_order", "validate-longdouble", lambda: as_matrix(_X.astype(np.longdouble), "X"), None,
         check=lambda t: t.dtype == torch.float64 and torch.equal(t, torch.from_numpy(_X))),
    Case("rank_dtype_order", "validate-big-endian-int", lambda: as_matrix(_X.astype(">i4"), "X"), None,
         check=lambda t: torch.equal(t, torch.from_numpy(_X))),
    Case("rank_dtype_order", "validate-3d", lambda: as_matrix(np.ones((2, 2, 2)), "X"), arg="X", words="2-D"),
    Case("rank_dtype_order", "validate-strings", lambda: as_matrix(np.array([["a"]]), "X"), TypeError, "X",
         "numeric"),
    Case("non_finite", "validate-inf", lambda: as_matrix(np.array([[1.0, np.inf]]), "X"), arg="X", words="Inf"),
    Case("flag_type", "validate-flag-none", lambda: check_bool(None, "center"), TypeError, "center"),
    Case("flag_type", "validate-flag-string", lambda: check_bool("yes", "squared"), TypeError, "squared"),
    Case("flag_type", "validate-flag-int", lambda: check_bool(1, "unbiased"), TypeError, "unbiased"),
    Case("flag_type", "validate-int-float", lambda: check_int(2.0, "k"), TypeError, "k"),
    Case("out_of_range", "validate-positive-zero", lambda: check_positive(0.0, "sigma"), arg="sigma",
         words="positive"),
]
