"""``retained_components`` and ``draw_variances`` (issue 15's additions to ``latentalign.ssl``)."""

import numpy as np

from latentalign.ssl.noise_model import draw_variances
from latentalign.ssl.theory import retained_components

from .harness import Case

_S, _TH, _GA = [4.0, 1.0], [1.0, 1.0, 3.0], [2.0]

CASES = [
    Case(
        "non_finite",
        "ssl-retained-nan-signal",
        lambda: retained_components([np.nan, 1.0], _TH, _GA, 0.0, 2),
        arg="signal_var",
        words="non-finite",
    ),
    Case(
        "degenerate",
        "ssl-retained-zero-noise",
        lambda: retained_components(_S, _TH, [0.0], 0.0, 2),
        arg="gamma_noise",
        words="> 0",
    ),
    Case(
        "rank_dtype_order",
        "ssl-retained-theta-length",
        lambda: retained_components(_S, [1.0, 1.0], _GA, 0.0, 2),
        arg="theta",
        words="3 values",
    ),
    Case("out_of_range", "ssl-retained-k-too-large", lambda: retained_components(_S, _TH, _GA, 0.0, 4), arg="k"),
    Case(
        "out_of_range", "ssl-retained-negative-alpha", lambda: retained_components(_S, _TH, _GA, -1.0, 2), arg="alpha"
    ),
    Case("flag_type", "ssl-retained-k-float", lambda: retained_components(_S, _TH, _GA, 0.0, 2.0), TypeError, "k"),
    Case(
        "extreme_scale",
        "ssl-retained-tiny-scale",
        lambda: retained_components(1e-150 * np.array(_S), 1e-150 * np.array(_TH), 1e-150 * np.array(_GA), 0.0, 2),
        None,
        check=lambda kept: kept["reconstruction"].tolist() == [0, 2] and kept["joint_embedding"].tolist() == [0, 1],
    ),
    Case(
        "degenerate",
        "ssl-draw-nonpositive-signal",
        lambda: draw_variances([1.0, 0.0], 3, 1.0, 1.0),
        arg="signal_var",
        words="> 0",
    ),
    Case("out_of_range", "ssl-draw-negative-gamma", lambda: draw_variances(_S, 3, -1.0, 1.0), arg="gamma_max"),
    Case("flag_type", "ssl-draw-noise-float", lambda: draw_variances(_S, 3.0, 1.0, 1.0), TypeError, "n_noise"),
]
