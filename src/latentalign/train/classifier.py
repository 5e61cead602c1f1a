"""Train any torch classifier with Lightning: deterministic, quiet, resumable.

``fit_classifier`` wraps the model in :class:`ClassifierModule` (cross-entropy,
Adam/AdamW/SGD), trains it on CPU with ``deterministic=True`` and, given a
``ckpt_dir``, writes ``last.ckpt`` atomically at every epoch end and resumes from
it. Training 4 epochs in one go and training 2 epochs, stopping, then calling
again with ``epochs=4`` give bit-identical weights (the checkpoint carries the
optimizer, the loop counters and the global RNG states; loaders from
:func:`~latentalign.train.make_loader` shuffle per ``(seed, epoch)``).

Examples
--------
>>> import torch
>>> from latentalign.models import MLP
>>> from latentalign.train import make_loader
>>> X, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
>>> module = fit_classifier(MLP(4, 8, 2), make_loader(X, y, batch_size=16, shuffle=True), epochs=2)
>>> predict_logits(module.model, make_loader(X, y)).shape
torch.Size([64, 2])
"""

from __future__ import annotations

import logging
import numbers
import os
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._extras import require
from .._io import atomic_path
from .._threads import thread_policy
from .._validate import check_choice, check_int, check_seed
from .data import split_batch
from .divergence import check_loss, check_lr, diverged
from .seed import rng_state, seed_everything, set_rng_state

L = require("lightning", "classifier training")
Callback, ModelCheckpoint = L.pytorch.callbacks.Callback, L.pytorch.callbacks.ModelCheckpoint
TorchCheckpointIO = require("lightning.fabric.plugins.io.torch_io", "classifier training").TorchCheckpointIO

__all__ = [
    "ClassifierModule",
    "LastCheckpoint",
    "check_checkpoint",
    "fit_classifier",
    "predict_logits",
    "evaluate_classifier",
    "split_batch",
    "quiet_lightning",
]

OPTIMIZERS = ("adam", "adamw", "sgd")


class ClassifierModule(L.LightningModule):
    """Cross-entropy training of ``model`` (any ``nn.Module`` mapping ``x`` to logits).

    Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc`` (epoch means, weighted
    by batch size; also ``test/*``). Batches are ``(x, y, idx)``, ``(x, y)`` or dicts.
    ``optimizer``: ``"adam"``, ``"adamw"`` or ``"sgd"`` (with ``momentum``).
    ``training_step`` returns the loss tensor.
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adam",
        *,
        momentum: float = 0.9,
    ):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        lr = check_lr(lr)
        if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real) or not (
            np.isfinite(weight_decay) and weight_decay >= 0
        ):
            raise ValueError(f"weight_decay: must be a finite number >= 0, got {weight_decay!r}")
        check_choice(optimizer, "optimizer", OPTIMIZERS)
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum < 1:
            raise ValueError(f"momentum: must be in [0, 1), got {momentum!r}")
        self.model = model
        self.lr, self.weight_decay = lr, float(weight_decay)
        self.optimizer_name, self.momentum = optimizer, float(momentum)
        self.save_hyperparameters(ignore=["model"])

    def forward(self, x):
        """Run the wrapped model.

        Parameters
        ----------
        x : torch.Tensor of shape (B, ...)
            Inputs.

        Returns
        -------
        torch.Tensor of shape (B, n_classes)
            The logits.
        """
        return self.model(x)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y, _ = split_batch(batch)
        if y is None:
            raise ValueError("batch: training a classifier needs labels, as (x, y, idx), (x, y) or dict key 'y'")
        logits = self(x)
        y = y.long().reshape(-1)
        loss = F.cross_entropy(logits, y)
        acc = (logits.detach().argmax(dim=1) == y).float().mean()
        n = int(y.shape[0])
        self.log(f"{stage}/loss", loss.detach(), on_step=False, on_epoch=True, batch_size=n, prog_bar=True)
        self.log(f"{stage}/acc", acc, on_step=False, on_epoch=True, batch_size=n, prog_bar=stage != "train")
        return loss

    def training_step(self, batch, batch_idx):
        """Lightning hook: cross-entropy of one ``(x, y, idx)`` batch, logged as ``train_loss``."""
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        """Lightning hook: validation loss and accuracy."""
        return self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        """Lightning hook: test loss and accuracy."""
        return self._step(batch, "test")

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        """Lightning hook: the logits of a batch."""
        x, _, _ = split_batch(batch)
        return self(x)

    def configure_optimizers(self):
        """Lightning hook: Adam, AdamW or SGD over the model's parameters."""
        params = self.model.parameters()
        if self.optimizer_name == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer_name == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(params, lr=self.lr, weight_decay=self.weight_decay, momentum=self.momentum)


# -- checkpoints ----------------------------------------------------------------------
class DivergenceCheck(Callback):
    """Stop training with a ``ValueError`` naming the epoch and step whose loss is NaN or Inf
    (:func:`~latentalign.train.divergence.check_loss`); :func:`fit_classifier` always adds it.
    """

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            check_loss(loss, epoch=trainer.current_epoch, step=batch_idx)


class LastCheckpoint(Callback):
    """Write ``dirpath/filename`` at every training-epoch end, atomically (temp file, then rename).

    The checkpoint is Lightning's full one (weights, optimizer, loop counters) plus,
    in this callback's state, the global RNG states (python, numpy, torch), which are
    restored on resume so dropout and augmentation continue as if never stopped, and
    ``config`` (plain values describing the run), which :func:`check_checkpoint` compares
    on resume. Only global rank 0 writes; every rank must run the callback (Lightning's barrier).
    """

    def __init__(self, dirpath: str | os.PathLike, filename: str = "last.ckpt", *, save_rng: bool = True,
                 config: dict | None = None):
        super().__init__()
        if not isinstance(filename, str) or not filename or os.sep in filename:
            raise ValueError(f"filename: expected a plain file name, got {filename!r}")
        self.dirpath = Path(dirpath)
        self.filename = filename
        self.save_rng = bool(save_rng)
        self.config = dict(config or {})

    @property
    def path(self) -> Path:
        """The checkpoint file, ``dirpath / filename``."""
        return self.dirpath / self.filename

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Lightning hook: save the checkpoint at every epoch end."""
        self.save(trainer)

    def save(self, trainer: L.Trainer) -> None:
        """Write the checkpoint atomically (rank 0 writes; every rank joins the barrier)."""
        if trainer.is_global_zero:
            with atomic_path(self.path) as tmp:
                trainer.save_checkpoint(tmp)
        else:  # the strategy writes on rank 0 only, but every rank joins its barrier
            trainer.save_checkpoint(self.path)

    def state_dict(self) -> dict[str, Any]:
        """The run config (and the RNG states when ``save_rng``) stored in the checkpoint."""
        return {"config": self.config, **({"rng": rng_state()} if self.save_rng else {})}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the RNG states saved with the checkpoint (when ``save_rng``)."""
        if self.save_rng and "rng" in state_dict:
            set_rng_state(state_dict["rng"])


class _PlainCheckpointIO(TorchCheckpointIO):
    """``torch.save`` straight into the path given: :class:`LastCheckpoint` already gives a
    temporary file of the atomic writer (Lightning's own ``fsspec`` transaction would add a
    second, private-mode temporary file in the system's temp folder).
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        torch.save(checkpoint, path)


def check_checkpoint(path: str | os.PathLike, module: nn.Module, config: dict | None = None,
                     *, name: str = "resume") -> dict:
    """Load the checkpoint at ``path`` to resume ``module`` from, or raise a ``ValueError`` starting
    with ``name`` that says which check failed: the file is not a readable Lightning checkpoint;
    its weights have other names or shapes than ``module``'s (a different architecture); or the
    ``config`` stored by :class:`LastCheckpoint` differs from ``config`` (each differing field named).
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)  # noqa: S614 - the run's own checkpoint
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise ValueError(f"{name}: cannot read {path} as a checkpoint: {err}".splitlines()[0]) from err
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise ValueError(f"{name}: {path} is not a Lightning checkpoint (no state_dict)")
    saved = {k: tuple(v.shape) for k, v in ckpt["state_dict"].items()}
    wanted = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    for key in sorted(saved.keys() | wanted.keys()):
        if saved.get(key) != wanted.get(key):
            raise ValueError(f"{name}: {path} holds another architecture: {key} has shape {saved.get(key)} there, "
                             f"{wanted.get(key)} in this run")
    stored = ckpt.get("callbacks", {}).get(LastCheckpoint.__qualname__, {}).get("config")
    if config and stored is not None:  # a checkpoint written without a config is checked by architecture only
        differ = [f"{k}={stored.get(k)!r} there, {config.get(k)!r} now"
                  for k in sorted(stored.keys() | config.keys()) if stored.get(k) != config.get(k)]
        if differ:
            raise ValueError(f"{name}: {path} was trained with another configuration: {'; '.join(differ)}")
    return ckpt


# -- quiet, side-effect free training -------------------------------------------------
_LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
_NOISY_WARNINGS = (
    r".*does not have many workers.*",
    r".*is smaller than the logging interval.*",
    r".*GPU available but not used.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*You defined a `validation_step` but have no `val_dataloader`.*",
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",  # Lightning 2.6 on torch >= 2.10
)


@contextmanager
def quiet_lightning():
    """Silence Lightning's info logs ("GPU available: ...", "`Trainer.fit` stopped ...") and
    its performance hints (few workers, logging interval) inside the block.
    """
    saved = {}
    for name in _LIGHTNING_LOGGERS:
        lg = logging.getLogger(name)
        saved[name] = lg.level
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in _NOISY_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def _restore_torch_flags():
    """Lightning's ``deterministic=`` flips process-wide torch flags; put them back afterwards."""
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    bench = torch.backends.cudnn.benchmark
    cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det, warn_only=warn_only)
        torch.backends.cudnn.benchmark = bench
        if cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas


def fit_classifier(
    model: nn.Module,
    train_loader: Iterable,
    *,
    val_loader: Iterable | None = None,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: str = "adam",
    seed: int = 0,
    ckpt_dir: str | os.PathLike | None = None,
    resume: bool = True,
    run_config: dict | None = None,
    progress: bool = False,
    **trainer_kwargs,
) -> ClassifierModule:
    """Train ``model`` (trained in place) with cross-entropy for ``epochs`` epochs; return the module.

    ``model`` is an ``nn.Module`` (wrapped in :class:`ClassifierModule` with ``lr``,
    ``weight_decay``, ``optimizer``) or a ready ``LightningModule`` (used as is; then
    those three are ignored). The Trainer runs on CPU, ``deterministic=True``, without
    logger, model summary, sanity check or progress bar (``progress=True`` shows it);
    any ``trainer_kwargs`` override these (e.g. ``accelerator="gpu"``,
    ``logger=...``, ``callbacks=[...]``). The global RNGs are seeded with ``seed`` first.

    With ``ckpt_dir``, ``ckpt_dir/last.ckpt`` is written atomically at every epoch
    end; with ``resume=True`` an existing one is resumed from (``epochs`` is the total,
    so a finished run returns at once with the checkpoint's weights). The checkpoint
    stores ``run_config`` (plain values); resuming first checks the file with
    :func:`check_checkpoint` (readable, same architecture, same ``run_config``).
    A loss that turns NaN/Inf stops training with a ``ValueError`` naming the epoch and step
    (:class:`DivergenceCheck`, always added). Process-wide torch flags that ``deterministic`` changes
    are restored on return.
    Training runs under the thread policy (:mod:`latentalign._threads`) with a step's work
    estimated as ``6 x parameters x batch size``.
    """
    epochs = check_int(epochs, "epochs")
    seed = check_seed(seed)
    if isinstance(model, L.LightningModule):
        module = model
    elif isinstance(model, nn.Module):
        module = ClassifierModule(model, lr=lr, weight_decay=weight_decay, optimizer=optimizer)
    else:
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")

    callbacks = trainer_kwargs.pop("callbacks", None) or []
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    callbacks.append(DivergenceCheck())
    ckpt_path = None
    if ckpt_dir is not None:
        saver = LastCheckpoint(ckpt_dir, config=run_config)
        callbacks.append(saver)
        if resume and saver.path.exists():
            check_checkpoint(saver.path, module, run_config)
            ckpt_path = str(saver.path)
        trainer_kwargs.setdefault("plugins", [_PlainCheckpointIO()])
        trainer_kwargs.setdefault("default_root_dir", str(ckpt_dir))
    has_mc = any(isinstance(cb, ModelCheckpoint) for cb in callbacks)
    options = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=int(epochs),
        deterministic=True,
        logger=False,
        enable_checkpointing=has_mc,
        enable_model_summary=False,
        enable_progress_bar=bool(progress),
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )
    options.update(trainer_kwargs)

    with _restore_torch_flags(), quiet_lightning(), thread_policy(step_work(module, train_loader)):
        seed_everything(seed)
        trainer = L.Trainer(**options)
        try:
            trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader, ckpt_path=ckpt_path)
        except ValueError as err:  # a loss refusing NaN activations after some steps: the run diverged
            if trainer.global_step > 0 and "non-finite" in str(err):
                raise diverged(trainer.current_epoch, trainer.global_step, str(err).partition(";")[0]) from err
            raise
    return module


def step_work(model: nn.Module, loader: Iterable) -> float:
    """Rough floating-point operations of one training step, for the thread policy: forward and
    backward are about ``6 x parameters x batch size`` (``batch_size`` of the loader, else 1).
    """
    params = sum(p.numel() for p in model.parameters())
    return 6.0 * params * (getattr(loader, "batch_size", None) or 1)


# -- inference ------------------------------------------------------------------------
def _predict(model: nn.Module, loader: Iterable, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    from ..models.recorder import _model_device, _to, first_by_id

    device = _model_device(model) if device is None else torch.device(device)
    flags = {m: m.training for m in model.modules()}
    logits, ys, ids = [], [], []
    try:
        model.eval()
        with torch.no_grad():
            for batch in loader:
                x, y, idx = split_batch(batch)
                logits.append(model(_to(x, device)).detach().to("cpu", torch.float32))
                ys.append(None if y is None else torch.as_tensor(y).reshape(-1).long().cpu())
                ids.append(None if idx is None else torch.as_tensor(idx).reshape(-1).long().cpu())
    finally:
        for m, flag in flags.items():
            m.training = flag
    if not logits:
        raise ValueError("loader: yielded no batches")
    out = torch.cat(logits)
    y = torch.cat(ys) if all(v is not None for v in ys) else None
    if all(v is not None for v in ids):
        _, first = first_by_id(torch.cat(ids))
        out = out[first]
        y = None if y is None else y[first]
    return out, y


def predict_logits(model: nn.Module, loader: Iterable, *, device=None) -> torch.Tensor:
    """Logits ``(n, C)`` (CPU float32) of ``model`` over ``loader``, in eval mode, under ``no_grad``.

    With sample ids in the batches, rows are ordered by increasing id (first
    occurrence kept); otherwise in loader order. ``training`` flags are restored.
    """
    return _predict(model, loader, device)[0]


def evaluate_classifier(model: nn.Module, loader: Iterable, *, device=None) -> dict[str, float]:
    """``{"loss": mean cross-entropy, "acc": accuracy, "n": samples}`` of ``model`` over ``loader``."""
    logits, y = _predict(model, loader, device)
    if y is None:
        raise ValueError("loader: batches carry no labels to evaluate against")
    return {
        "loss": float(F.cross_entropy(logits, y)),
        "acc": float((logits.argmax(dim=1) == y).float().mean()),
        "n": int(y.shape[0]),
    }
