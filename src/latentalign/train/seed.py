"""Seeding: the global RNGs (python, numpy, torch) and private torch generators.

>>> import torch
>>> _ = seed_everything(3); a = torch.rand(2)
>>> _ = seed_everything(3); bool((a == torch.rand(2)).all())
True
>>> torch.rand(1, generator=torch_generator(0)).item() == torch.rand(1, generator=torch_generator(0)).item()
True
"""

from __future__ import annotations

import random

import numpy as np
import torch

from .._validate import check_seed

__all__ = ["seed_everything", "torch_generator", "epoch_seed", "rng_state", "set_rng_state"]


def seed_everything(seed: int) -> int:
    """Seed python's ``random``, numpy's global RNG and torch (CPU and every CUDA device); return ``seed``."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` seeded with ``seed``."""
    seed = check_seed(seed)
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed that depends only on ``(seed, epoch)`` (numpy ``SeedSequence``): the shuffling
    or augmentation of epoch ``e`` is the same whether or not training was interrupted.
    """
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1, dtype=np.uint32)[0])


def rng_state() -> dict:
    """The global RNG states (python, numpy, torch CPU, CUDA if any) as tensors and plain python,
    so a checkpoint holding them loads with ``torch.load(weights_only=True)``.
    """
    py = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": [py[0], torch.tensor(py[1], dtype=torch.int64), py[2]],
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the global RNG states saved by :func:`rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal.tolist()), gauss))
    npd = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": npd["key"].numpy().astype(np.uint32), "pos": int(npd["pos"])},
            "has_gauss": int(npd["has_gauss"]),
            "gauss": float(npd["gauss"]),
        }
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
