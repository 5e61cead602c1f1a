"""Shared test settings: one torch thread (CI has 2 cores), a fixed hypothesis profile, a free port."""

import os
import socket

import pytest
import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(1)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("ci")


@pytest.fixture
def free_port() -> int:
    """A free localhost TCP port for a two-process gloo rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def minilm():
    """The bundled MiniLM (a transformers BertModel, eval mode) and its tokenizer, loaded once, offline.
    Tests must not change it: perturb a ``copy.deepcopy``."""
    from latentalign.models.pretrained import bundled_minilm_path, load_pretrained

    return load_pretrained(bundled_minilm_path())
