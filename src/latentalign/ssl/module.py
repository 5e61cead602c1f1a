r"""Lightning training of any encoder with any SSL loss, an online linear probe, and ``fit_ssl``.

:class:`SSLModule` dispatches on the loss's ``kind``:

* ``"joint_embedding"`` (VICReg, NT-Xent): ``loss(head(enc(v1)), head(enc(v2)))`` on two views;
* ``"byol"``: online ``predictor(head(enc(v)))`` regresses an EMA target ``head(enc(v'))``
  (momentum schedule of :class:`~latentalign.ssl.losses.EMA`, updated after every batch);
* ``"denoising"``: ``loss(decoder(enc(v)), x)`` with ``v`` one view of ``x``;
* ``"masked"``: ``loss(decoder(enc(mask(v))), x, mask)``.

The online probe is a ``Linear`` on the *detached* encoder features of the first view
(the encoder's input), trained with its own Adam optimiser on the batch labels;
SSL gradients never reach it and its gradients never reach the encoder. Both
optimisers step once per batch (manual optimisation), so the module runs under
Lightning DDP unchanged (the VICReg and NT-Xent losses gather across ranks by default, ``gather="auto"``).

``fit_ssl(method, X, y, ...)`` builds the spec's networks (MLP encoder with BatchNorm
``D → 256 → 256 → 16``, projector ``16 → 256 → 256 → 256``, decoder ``16 → 256 → 256 → D``,
BYOL predictor ``256 → 1024 → 256``) and trains with Adam (lr 1e-3, wd 1e-5, batch 128).

The example is :func:`fit_ssl`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._deprecate import renamed_kwargs
from .._extras import require
from .._validate import check_choice, check_int, check_nonnegative, check_positive, check_seed
from ..models import MLP
from ..train import make_loader, seed_everything, split_batch
from ..train.divergence import check_lr
from .augment import Compose, GaussianNoise, RandomShift
from .losses import EMA, BYOLLoss, DenoisingLoss, MaskedReconstructionLoss, NTXentLoss, VICRegLoss, byol_predictor

L = require("lightning", "SSL training")

__all__ = ["SSLModule", "fit_ssl", "build_networks", "default_augment", "make_loss", "split_dataset",
           "SSLData", "METHODS", "DATASETS"]

METHODS = ("vicreg", "simclr", "byol", "dae", "mae")
DATASETS = ("digits", "mnist1d")
KINDS = ("joint_embedding", "byol", "denoising", "masked")


class SSLModule(L.LightningModule):
    """Self-supervised training of ``encoder`` with ``loss`` on views from ``augment(x, generator)``.

    ``head`` (projector, default identity) maps features to the loss space for joint
    embedding / BYOL; ``decoder`` is required for reconstruction losses and
    ``predictor`` for BYOL. ``online_probe`` needs ``n_classes`` (and ``feature_dim``
    when the encoder's last ``Linear`` does not tell it). ``seed`` seeds the
    augmentation generator (offset by the global rank under DDP).

    Parameters
    ----------
    encoder : torch.nn.Module
        Inputs ``(B, ...)`` to features ``(B, f)``.
    loss : torch.nn.Module
        An :mod:`latentalign.ssl.losses` loss (its ``kind`` picks the training step).
    augment : callable
        ``augment(x, generator)``, one view of a batch.
    head : torch.nn.Module, optional
        The projector from features to the loss space (default identity).
    decoder : torch.nn.Module, optional
        Required by the reconstruction losses.
    predictor : torch.nn.Module, optional
        Required by BYOL (e.g. :func:`~latentalign.ssl.byol_predictor`).
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 1e-5
        Adam weight decay.
    online_probe : bool, default True
        Train a linear probe on detached features alongside (needs ``n_classes``).
    n_classes : int, optional
        Classes of the online probe.
    feature_dim : int, optional
        The probe's input width, when the encoder's last ``Linear`` does not tell it.
    probe_lr : float, default 1e-3
        The probe's learning rate.
    base_momentum : float, default 0.99
        BYOL's EMA momentum ``m_0``.
    seed : int, default 0
        Seeds the augmentation generator (offset by the global rank under DDP).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from latentalign.ssl import VICRegLoss
    >>> from latentalign.ssl.augment import GaussianNoise
    >>> module = SSLModule(nn.Linear(8, 4), VICRegLoss(), GaussianNoise(0.1), n_classes=3)
    >>> module(torch.zeros(5, 8)).shape
    torch.Size([5, 4])
    """

    def __init__(
        self,
        encoder: nn.Module,
        loss: nn.Module,
        augment: Callable,
        *,
        head: nn.Module | None = None,
        decoder: nn.Module | None = None,
        predictor: nn.Module | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        online_probe: bool = True,
        n_classes: int | None = None,
        feature_dim: int | None = None,
        probe_lr: float = 1e-3,
        base_momentum: float = 0.99,
        seed: int = 0,
    ):
        super().__init__()
        for name, part in (("encoder", encoder), ("loss", loss)):
            if not isinstance(part, nn.Module):
                raise TypeError(f"{name}: expected a torch.nn.Module, got {type(part).__name__}")
        kind = getattr(loss, "kind", None)
        check_choice(kind, "loss", KINDS)
        if not callable(augment):
            raise TypeError(f"augment: expected a callable (x, generator) -> view, got {type(augment).__name__}")
        if kind in ("denoising", "masked") and decoder is None:
            raise ValueError(f"decoder: a {type(loss).__name__} needs a decoder")
        if kind == "byol" and predictor is None:
            raise ValueError("predictor: BYOL needs a predictor (e.g. byol_predictor(dim))")
        self.kind = kind
        self.encoder, self.loss, self.augment = encoder, loss, augment
        self.head = head if head is not None else nn.Identity()
        self.decoder, self.predictor = decoder, predictor
        self.lr, self.weight_decay = check_lr(lr), check_nonnegative(weight_decay, "weight_decay")
        self.probe_lr, self.seed = check_positive(probe_lr, "probe_lr"), check_seed(seed)
        self.target, self._ema = None, None
        if kind == "byol":
            self.online = nn.Sequential(self.encoder, self.head)
            self._ema = EMA(self.online, base_momentum=base_momentum)
            self.target = self._ema.target
        self.probe = None
        if online_probe and n_classes is not None:
            dim = feature_dim if feature_dim is not None else _last_linear_width(encoder)
            self.probe = nn.Linear(check_int(dim, "feature_dim"), check_int(n_classes, "n_classes", minimum=2))
        self.automatic_optimization = False
        self._generator: torch.Generator | None = None
        self._saved_generator: torch.Tensor | None = None  # from a checkpoint, applied at fit start

    # -- the SSL objective -------------------------------------------------------------
    def _views(self, x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        v1 = self.augment(x, g)
        return v1, (self.augment(x, g) if self.kind in ("joint_embedding", "byol") else None)

    def ssl_loss(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """``(loss, features of the first view)`` for a batch ``x``."""
        v1, v2 = self._views(x, generator)
        if self.kind == "masked":
            v1, mask = self.loss.mask(v1, generator)
        h1 = self.encoder(v1)
        if self.kind == "joint_embedding":
            return self.loss(self.head(h1), self.head(self.encoder(v2))), h1
        if self.kind == "byol":
            p1, p2 = self.predictor(self.head(h1)), self.predictor(self.online(v2))
            with torch.no_grad():
                t1, t2 = self.target(v1), self.target(v2)
            return self.loss(p1, p2, t1, t2), h1
        x_hat = self.decoder(h1).reshape(x.shape)
        if self.kind == "denoising":
            return self.loss(x_hat, x), h1
        return self.loss(x_hat, x, mask), h1

    # -- Lightning hooks ---------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Lightning hook: seed the views' generator per rank (or restore it when resuming)."""
        self._generator = torch.Generator().manual_seed(self.seed + 7919 * self.global_rank)
        if self._saved_generator is not None:  # resuming: the views continue where they stopped
            self._generator.set_state(self._saved_generator)
            self._saved_generator = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Lightning hook: store the views' generator state in the checkpoint."""
        if self._generator is not None:
            checkpoint["ssl_augment_generator"] = self._generator.get_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Lightning hook: keep the checkpoint's generator state for :meth:`on_fit_start`."""
        self._saved_generator = checkpoint.get("ssl_augment_generator")

    def training_step(self, batch, batch_idx):
        """Lightning hook: the SSL loss of two augmented views, plus the online probe's cross-entropy."""
        x, y, _ = split_batch(batch)
        if self._generator is None:
            self.on_fit_start()
        loss, features = self.ssl_loss(x, self._generator)
        total = loss
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        n = int(x.shape[0])
        if self.probe is not None and y is not None and bool((y >= 0).all()):
            logits = self.probe(features.detach().flatten(1))
            probe_loss = F.cross_entropy(logits, y.long())
            total = loss + probe_loss
            acc = (logits.argmax(dim=1) == y).float().mean()
            self.log("train/probe_acc", acc, on_step=False, on_epoch=True, batch_size=n, prog_bar=True)
        for opt in optimizers:
            opt.zero_grad()
        self.manual_backward(total)
        for opt in optimizers:
            opt.step()
        self.log("train/loss", loss.detach(), on_step=False, on_epoch=True, batch_size=n, prog_bar=True)
        return loss.detach()

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        """Lightning hook: update the EMA target (BYOL)."""
        if self._ema is not None:
            per_epoch = max(int(self.trainer.num_training_batches), 1)
            step = self.current_epoch * per_epoch + batch_idx + 1
            self._ema.update(step, max(int(self.trainer.max_epochs or 1), 1) * per_epoch)

    def validation_step(self, batch, batch_idx):
        """Lightning hook: log the online probe's validation accuracy."""
        x, y, _ = split_batch(batch)
        if self.probe is not None and y is not None:
            acc = (self.probe(self.encoder(x).flatten(1)).argmax(dim=1) == y).float().mean()
            self.log("val/probe_acc", acc, on_step=False, on_epoch=True, batch_size=int(x.shape[0]), prog_bar=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a batch with the encoder.

        Parameters
        ----------
        x : torch.Tensor of shape (B, ...)
            Inputs.

        Returns
        -------
        torch.Tensor
            The encoder's features ``(B, ...)`` (before the projector).
        """
        return self.encoder(x)

    def configure_optimizers(self):
        """Lightning hook: Adam on the trained networks (not a frozen target), and a separate Adam for the probe."""
        probe_params = set(self.probe.parameters()) if self.probe is not None else set()
        frozen = set(self.target.parameters()) if self.target is not None else set()
        params = [p for p in self.parameters() if p not in probe_params and p not in frozen]
        ssl_opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        if self.probe is None:
            return ssl_opt
        return [ssl_opt, torch.optim.Adam(self.probe.parameters(), lr=self.probe_lr)]


def _last_linear_width(encoder: nn.Module) -> int:
    widths = [m.out_features for m in encoder.modules() if isinstance(m, nn.Linear)]
    if not widths:
        raise ValueError("feature_dim: cannot infer the encoder's output width (no nn.Linear); pass feature_dim")
    return widths[-1]


# ------------------------------------------------------------------ ready-made pieces
class SSLData(NamedTuple):
    """A train / test split with the image shape of the rows (None for sequences)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple | None


def split_dataset(name: str, seed: int = 0, *, n_train: int = 1200) -> SSLData:
    """``"digits"``: stratified ``n_train`` / rest split (seeded), ``image_shape=(8, 8)``;
    ``"mnist1d"``: its published 4000 / 1000 split.
    """
    check_choice(name, "data", DATASETS)
    if name == "digits":
        from sklearn.model_selection import train_test_split

        from ..data import digits

        ds = digits()
        X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, train_size=n_train, stratify=ds.y,
                                                  random_state=check_seed(seed))
        return SSLData(X_tr, y_tr, X_te, y_te, ds.image_shape)
    from ..data import mnist1d

    ds = mnist1d()
    tr, te = ds.split["train"], ds.split["test"]
    return SSLData(ds.X[tr], ds.y[tr], ds.X[te], ds.y[te], None)


@renamed_kwargs(gather_distributed="gather")
def make_loss(method: str, *, gather="auto", mask_ratio: float = 0.5) -> nn.Module:
    """The loss of ``method`` with its documented defaults (``gather``: see :mod:`~latentalign.ssl.losses`)."""
    check_choice(method, "method", METHODS)
    if method == "vicreg":
        return VICRegLoss(gather=gather)
    if method == "simclr":
        return NTXentLoss(0.5, gather=gather)
    if method == "byol":
        return BYOLLoss()
    if method == "dae":
        return DenoisingLoss()
    return MaskedReconstructionLoss(mask_ratio)


def default_augment(image_shape: Sequence[int] | None) -> nn.Module:
    """``RandomShift(1) + GaussianNoise(0.1)`` for images, ``GaussianNoise(0.1)`` otherwise."""
    if image_shape is None:
        return Compose([GaussianNoise(0.1)])
    return Compose([RandomShift(1, image_shape=image_shape), GaussianNoise(0.1)])


def build_networks(method: str, in_dim: int, *, embed_dim: int = 16, hidden: int = 256,
                   encoder: nn.Module | None = None) -> dict[str, nn.Module | None]:
    """Encoder ``in_dim → hidden → hidden → embed_dim`` (BN, ReLU) unless given; projector
    ``embed_dim → hidden → hidden → hidden`` (joint embedding, BYOL); BYOL predictor;
    decoder ``embed_dim → hidden → hidden → in_dim`` (reconstruction).
    """
    check_choice(method, "method", METHODS)
    in_dim, embed_dim = check_int(in_dim, "in_dim"), check_int(embed_dim, "embed_dim")
    hidden = check_int(hidden, "hidden")
    nets: dict[str, nn.Module | None] = {
        "encoder": encoder if encoder is not None else MLP(in_dim, [hidden, hidden], embed_dim, batch_norm=True),
        "head": None, "decoder": None, "predictor": None,
    }
    if method in ("vicreg", "simclr", "byol"):
        nets["head"] = MLP(embed_dim, [hidden, hidden], hidden, batch_norm=True)
    if method == "byol":
        nets["predictor"] = byol_predictor(hidden)
    if method in ("dae", "mae"):
        nets["decoder"] = MLP(embed_dim, [hidden, hidden], in_dim, batch_norm=True)
    return nets


def fit_ssl(
    method: str,
    X,
    y=None,
    *,
    epochs: int,
    seed: int = 0,
    augment: Callable | None = None,
    image_shape: Sequence[int] | None = None,
    encoder: nn.Module | None = None,
    embed_dim: int = 16,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 1e-5,
    val: tuple | None = None,
    devices: int = 1,
    strategy: str = "auto",
    ckpt_dir=None,
    progress: bool = False,
    **trainer_kwargs,
) -> SSLModule:
    """Train ``method`` (``vicreg``, ``simclr``, ``byol``, ``dae``, ``mae``) on ``X`` (n, D) for ``epochs``.

    ``X`` may be a data set name (``"digits"``, ``"mnist1d"``): its training split
    (:func:`split_dataset` with ``seed``), labels and image shape are used. ``y`` (optional)
    feeds the online probe; ``val=(X_val, y_val)`` logs its accuracy.
    ``augment`` defaults to :func:`default_augment` of ``image_shape``. ``devices=2,
    strategy="ddp"`` trains with Lightning DDP (gloo on CPU); the losses then gather
    statistics across ranks. Training is Lightning's (``deterministic``, seeded by
    ``seed``, checkpoint/resume with ``ckpt_dir``) via :func:`latentalign.train.fit_classifier`.

    Parameters
    ----------
    method : {"vicreg", "simclr", "byol", "dae", "mae"}
        The objective (its loss and networks from :func:`make_loss` and :func:`build_networks`).
    X : array-like of shape (n, D) or str
        Training inputs, or a data set name (``"digits"``, ``"mnist1d"``).
    y : array-like of shape (n,), optional
        Labels for the online probe.
    epochs : int
        Training epochs.
    seed : int, default 0
        Seeds the split, the initialisation, the batches and the views.
    augment : callable, optional
        ``augment(x, generator)`` (default :func:`default_augment` of ``image_shape``).
    image_shape : sequence of int, optional
        The shape each row reshapes to, for image augmentations.
    encoder : torch.nn.Module, optional
        The encoder (default an MLP ``D -> 256 -> 256 -> embed_dim``).
    embed_dim : int, default 16
        The default encoder's output width.
    batch_size : int, default 128
        Rows per batch.
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 1e-5
        Adam weight decay.
    val : tuple, optional
        ``(X_val, y_val)``: the online probe's validation accuracy is logged.
    devices : int, default 1
        Processes (with ``strategy="ddp"``).
    strategy : str, default "auto"
        Lightning's strategy.
    ckpt_dir : str or os.PathLike, optional
        Checkpoint folder (resume from its ``last.ckpt``).
    progress : bool, default False
        Show the progress bar.
    **trainer_kwargs
        Passed to ``lightning.Trainer``.

    Returns
    -------
    SSLModule
        The trained module (``module.encoder`` embeds new inputs).

    Examples
    --------
    >>> from latentalign.ssl.module import fit_ssl, split_dataset
    >>> data = split_dataset("digits", seed=0)
    >>> module = fit_ssl("vicreg", data.X_train, data.y_train, epochs=1)  # doctest: +SKIP
    >>> module.encoder(torch.as_tensor(data.X_test)).shape  # doctest: +SKIP
    torch.Size([597, 16])
    """
    from ..train import fit_classifier

    check_choice(method, "method", METHODS)
    check_choice(strategy, "strategy", ("auto", "ddp"))
    if isinstance(X, str):
        data = split_dataset(X, seed)
        X, y = data.X_train, data.y_train if y is None else y
        image_shape = data.image_shape if image_shape is None else image_shape
    devices = check_int(devices, "devices")
    seed = check_seed(seed)
    loader = make_loader(X, y, batch_size=batch_size, shuffle=True, seed=seed,
                         drop_last=len(X) > batch_size)
    in_dim = int(np.prod(loader.dataset.X.shape[1:]))
    seed_everything(seed)  # network initialisation
    distributed = devices > 1 or strategy == "ddp"
    nets = build_networks(method, in_dim, embed_dim=embed_dim, encoder=encoder)
    n_classes = None if y is None else int(np.max(np.asarray(y))) + 1
    module = SSLModule(
        nets["encoder"], make_loss(method, gather=distributed),
        augment if augment is not None else default_augment(image_shape),
        head=nets["head"], decoder=nets["decoder"], predictor=nets["predictor"], lr=lr,
        weight_decay=weight_decay, n_classes=n_classes if n_classes and n_classes > 1 else None, seed=seed,
    )
    val_loader = None if val is None else make_loader(val[0], val[1], batch_size=512)
    if distributed:
        trainer_kwargs.setdefault("strategy", "ddp" if strategy == "auto" else strategy)
        if trainer_kwargs["strategy"] == "ddp":
            from lightning.pytorch.strategies import DDPStrategy

            trainer_kwargs["strategy"] = DDPStrategy(process_group_backend="gloo")
    fit_classifier(module, loader, val_loader=val_loader, epochs=epochs, seed=seed, ckpt_dir=ckpt_dir,
                   progress=progress, devices=devices, **trainer_kwargs)
    return module
