"""Each capability's face exports its entry points; names that left it warn for one release."""

import importlib
import warnings

import pytest

FACES = ["latentalign.align", "latentalign.ksm", "latentalign.ssl", "latentalign.contrastive", "latentalign.lcc"]

# name on the face before 0.2 -> where it lives now ("module:name")
MOVED = {
    "latentalign.align": {
        "dissimilarity_matrix": "latentalign.align.rsa:dissimilarity_matrix",
        "knn_adjacency": "latentalign.align.neighbor_metrics:knn_adjacency",
        "canonical_correlations": "latentalign.align.subspace_metrics:canonical_correlations",
    },
    "latentalign.ksm": {
        name: f"latentalign.ksm.objective:{name}"
        for name in ("dictionary_objective", "ksm_gradient", "ksm_sigma_gradient", "minmax_value",
                     "optimal_dictionary", "prediction_error")
    } | {"prox_latent": "latentalign.ksm.prox:prox_latent"},
    "latentalign.ssl": {
        **{name: f"latentalign.ssl.augment:{name}"
           for name in ("RandomShift", "GaussianNoise", "StructuredNoise", "RandomMask", "RandomFlip", "Compose",
                        "TwoViews", "random_mask")},
        "embed": "latentalign.ssl.evaluate:embed",
        "ProbeResult": "latentalign.ssl.evaluate:ProbeResult",
        "subspace_overlap": "latentalign.ssl.linear:subspace_overlap",
        "principal_angles": "latentalign.ssl.linear:principal_angles",
        "gaussian_signal": "latentalign.ssl.noise_model:gaussian_signal",
    },
    "latentalign.contrastive": {
        "build_loss": "latentalign.contrastive.cli:parse_loss",
        "TILTS": "latentalign.contrastive.tilts:TILTS",
        "NEGATIVES": "latentalign.contrastive.losses:NEGATIVES",
        "prompt_ensemble": "latentalign.contrastive.retrieval:prompt_ensemble",
    },
    "latentalign.lcc": {
        "MAX_BYTES": "latentalign.lcc.collect:MAX_BYTES",
        **{name: f"latentalign.lcc.graph:{name}" for name in ("knn_indices", "knn_graph", "pca_project")},
        **{name: f"latentalign.lcc.communities:{name}"
           for name in ("detect_communities", "modularity", "relabel_by_size")},
        **{name: f"latentalign.lcc.matching:{name}"
           for name in ("contingency", "match_clusters", "cluster_masks", "Masks", "shuffle_communities")},
        "cluster_options": "latentalign.lcc.state:cluster_options",
        **{name: f"latentalign.lcc.losses:{name}" for name in ("lcc_distances", "pack_banks", "PackedBanks")},
    },
}


@pytest.mark.parametrize("face", FACES)
def test_every_exported_name_resolves_without_a_warning(face):
    module = importlib.import_module(face)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in module.__all__:
            assert getattr(module, name) is not None, name


@pytest.mark.parametrize("face", FACES)
def test_moved_names_are_off_the_face(face):
    module = importlib.import_module(face)
    assert not set(MOVED[face]) & set(module.__all__)


@pytest.mark.parametrize(("face", "name", "target"),
                         [(f, n, t) for f, moves in MOVED.items() for n, t in moves.items()])
def test_a_moved_name_warns_and_gives_its_modules_object(face, name, target):
    home, attr = target.split(":")
    module = importlib.import_module(face)
    with pytest.warns(DeprecationWarning, match=rf"^{face}: '{name}' is deprecated, use '{home}\.{attr}' .*0\.3"):
        obj = getattr(module, name)
    assert obj is getattr(importlib.import_module(home), attr)


def test_an_unknown_name_is_still_an_attribute_error():
    from latentalign import lcc

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        lcc.nope  # noqa: B018


def test_ksm_face_saves_and_loads_models():
    from latentalign import ksm
    from latentalign.ksm import io

    assert {"save_model", "load_model"} <= set(ksm.__all__)
    assert (ksm.save_model, ksm.load_model) == (io.save_model, io.load_model)

