"""Fine-tune the bundled MiniLM on digit comparisons: the split, the model, the loop, the read-outs.

Used by :mod:`latentalign.studies.finetune_layers` (each job runs these in its own
process). The model is :class:`~latentalign.models.text_classifier.TextClassifier`: the
MiniLM encoder, mean pooling over the attention mask, a linear head. The embeddings are
frozen (the word-embedding table is half the parameters, and its AdamW update a third of
a step's time); the six transformer blocks and the head train. Batches are
``transformers`` dicts with ``"labels"`` and ``"idx"``; the batch order and the dropout
masks of epoch ``e`` depend only on ``(seed, e)``, so arms that start from the same
checkpoint see the same batches.

Examples
--------
>>> split = make_split(20, 10, 10, seed=0)
>>> len(split.texts["train"]), split.labels["val"].shape
(20, (10,))
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..data import (
    COMPARISON_TEST_TEMPLATES,
    COMPARISON_TRAIN_TEMPLATES,
    COMPARISON_VAL_TEMPLATES,
    digit_comparisons,
)
from ..lcc import ClusterCorrection
from ..models import LayerRecorder, bundled_minilm_path, load_pretrained
from ..models.text_classifier import TextClassifier
from ..train import epoch_seed, seed_everything, torch_generator

__all__ = ["TextSplit", "make_split", "build_classifier", "make_optimizer", "train_epochs", "accuracy",
           "hidden_states", "PENULTIMATE"]

PENULTIMATE = "encoder"
"""The classifier's sub-module whose pooled output feeds the head (what LCC corrects)."""
N_CLASSES = 10


@dataclass
class TextSplit:
    """Sentences and labels of each part (``"train"``, ``"val"``, ``"test"``), each from its own templates."""

    texts: dict[str, list[str]]
    labels: dict[str, np.ndarray]


def make_split(n_train: int, n_val: int, n_test: int, *, seed: int = 0) -> TextSplit:
    """Digit comparisons: training, validation and test sentences from disjoint template sets."""
    parts = {"train": (n_train, COMPARISON_TRAIN_TEMPLATES), "val": (n_val, COMPARISON_VAL_TEMPLATES),
             "test": (n_test, COMPARISON_TEST_TEMPLATES)}
    texts, labels = {}, {}
    for i, (part, (n, templates)) in enumerate(parts.items()):
        texts[part], labels[part] = digit_comparisons(n, templates=templates, seed=seed + i)
    return TextSplit(texts, labels)


class _Sentences(torch.utils.data.Dataset):
    def __init__(self, texts, labels):
        self.texts, self.labels = texts, labels

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        return self.texts[i], int(self.labels[i]), i


def loader(tokenizer, split: TextSplit, part: str, *, batch_size: int, max_length: int,
           generator: torch.Generator | None = None) -> DataLoader:
    """Dict batches (``input_ids``, ``attention_mask``, ``token_type_ids``, ``labels``, ``idx``) of one
    part, shuffled by ``generator`` when given, each padded to its own longest sentence.
    """

    def collate(items):
        texts, labels, idx = zip(*items)
        batch = dict(tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                               return_tensors="pt"))
        return {**batch, "labels": torch.tensor(labels), "idx": torch.tensor(idx)}

    return DataLoader(_Sentences(split.texts[part], split.labels[part]), batch_size=batch_size,
                      shuffle=generator is not None, generator=generator, collate_fn=collate)


def build_classifier(seed: int):
    """``(TextClassifier, tokenizer)``: the bundled MiniLM, embeddings frozen, a head seeded by ``seed``."""
    encoder, tokenizer = load_pretrained(bundled_minilm_path())
    seed_everything(seed)
    model = TextClassifier(encoder, N_CLASSES)
    for p in model.encoder.embeddings.parameters():
        p.requires_grad_(False)
    return model, tokenizer


def make_optimizer(model: TextClassifier, config: dict) -> torch.optim.AdamW:
    """AdamW: ``lr`` for the encoder's blocks, ``head_lr`` for the fresh head, ``weight_decay``."""
    blocks = [p for p in model.encoder.parameters() if p.requires_grad]
    return torch.optim.AdamW([{"params": blocks, "lr": config["lr"]},
                              {"params": model.head.parameters(), "lr": config["head_lr"]}],
                             weight_decay=config["weight_decay"])


def trainable_state(model: TextClassifier) -> dict[str, torch.Tensor]:
    """The parameters that train (blocks and head): what a phase-1 checkpoint must hold."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def train_epochs(model, optimizer, tokenizer, split: TextSplit, epochs: int, config: dict, *, seed: int,
                 first_epoch: int = 0, corr: ClusterCorrection | None = None) -> list[dict]:
    """Train ``epochs`` epochs of CE (+ ``corr``'s LCC term; its schedule counts from 0 here).

    Returns one record per epoch: ``train_s``, ``cluster_s``, the clustering's metrics
    (``mc_share``, ``purity``, ...) when it clustered, the mean unweighted LCC loss and ``n_mc``.
    """
    shape = {"batch_size": config["batch_size"], "max_length": config["max_length"]}
    clean = loader(tokenizer, split, "train", **shape)
    records = []
    for e in range(epochs):
        epoch = first_epoch + e
        record = {"epoch": epoch, "cluster_s": 0.0}
        if corr is not None:
            t0 = time.perf_counter()
            if corr.update(model, clean, e):
                record["metrics"] = corr.history[-1]["layers"][PENULTIMATE]["metrics"]
            record["cluster_s"] = time.perf_counter() - t0
        use_lcc = corr is not None and corr.weight > 0 and corr.active
        torch.manual_seed(epoch_seed(seed, epoch))  # the dropout masks of this epoch
        model.train()
        t0, lcc_sum, n_mc, n_batches = time.perf_counter(), 0.0, 0, 0
        for batch in loader(tokenizer, split, "train", generator=torch_generator(epoch_seed(seed, epoch)), **shape):
            labels, idx = batch.pop("labels"), batch.pop("idx")
            if use_lcc:
                with corr.capture(model, mask=batch["attention_mask"]) as latents:
                    logits = model(**batch)
                loss = F.cross_entropy(logits, labels) + corr.loss(latents, labels, idx)
                lcc_sum, n_mc, n_batches = lcc_sum + corr.stats["loss"], n_mc + corr.stats["n_mc"], n_batches + 1
            else:
                loss = F.cross_entropy(model(**batch), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        record.update(train_s=time.perf_counter() - t0, lcc_loss=lcc_sum / n_batches if n_batches else None,
                      n_mc=n_mc)
        if corr is not None:
            corr.end_epoch()
        records.append(record)
    return records


def accuracy(model, tokenizer, split: TextSplit, part: str, config: dict) -> float:
    """Accuracy on ``part`` (eval mode, no grad; the model is left in eval mode)."""
    model.eval()
    right = 0
    with torch.no_grad():
        for batch in loader(tokenizer, split, part, batch_size=128, max_length=config["max_length"]):
            labels = batch.pop("labels")
            batch.pop("idx")
            right += int((model(**batch).argmax(1) == labels).sum())
    return right / len(split.texts[part])


def hidden_states(encoder, tokenizer, split: TextSplit, part: str, config: dict) -> torch.Tensor:
    """``(L + 1, n, d)``: every block's output (embeddings first), mean-pooled over the attention
    mask, for the sentences of ``part``, rows in sentence order.
    """
    rec = LayerRecorder(encoder, "hidden_states", pool="mean").record(
        loader(tokenizer, split, part, batch_size=128, max_length=config["max_length"]))
    return torch.stack([rec.activations[n] for n in sorted(rec.activations, key=lambda n: int(n.split(".")[-1]))])
