"""ClusterCorrection on a transformer classifier: latents pooled over the attention mask (issue 14, item 5)."""

import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel

from latentalign.lcc import ClusterCorrection
from latentalign.models.text_classifier import TextClassifier


def _model(seed=0):
    torch.manual_seed(seed)
    encoder = BertModel(BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    return TextClassifier(encoder, n_classes=2)


def _batches(n=40, batch=8, seed=0):
    """Dict batches of token ids, padded at random lengths; class 1 sentences use ids 20-39, class 0 ids 5-19."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        y = torch.arange(start, start + batch) % 2
        lengths = torch.randint(3, 9, (batch,), generator=g)
        ids = torch.zeros(batch, 9, dtype=torch.long)
        for i in range(batch):
            low = 20 if y[i] else 5
            ids[i, :lengths[i]] = torch.randint(low, low + 15, (int(lengths[i]),), generator=g)
        out.append({"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": y,
                    "idx": torch.arange(start, start + batch)})
    return out


def test_capture_pools_the_encoder_tokens_over_the_mask_with_grad():
    model, batch = _model(), _batches()[0]
    corr = ClusterCorrection("encoder", n_classes=2, pool="mean")
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    with corr.capture(model, mask=batch["attention_mask"]) as latents:
        model(**inputs)
    tokens = model.encoder(**inputs).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    assert latents["encoder"].shape == (8, 8) and latents["encoder"].requires_grad
    assert torch.allclose(latents["encoder"], (tokens * m).sum(1) / m.sum(1), atol=1e-6)


def test_a_training_step_on_dict_batches_clusters_pooled_rows_and_backpropagates():
    model, batches = _model(), _batches()

    class Loader(list):
        dataset = range(40)

    corr = ClusterCorrection("encoder", n_classes=2, weight=1.0, k=5, warmup=0, matching="shuffled", pool="mean")
    assert corr.update(model, Loader(batches), epoch=0)
    assert corr.state["encoder"].latents.shape == (40, 8)
    batch = dict(batches[0])
    labels, idx = batch.pop("labels"), batch.pop("idx")
    with corr.capture(model, mask=batch["attention_mask"]) as latents:
        logits = model(**batch)
    loss = F.cross_entropy(logits, labels) + corr.loss(latents, labels, idx)
    loss.backward()
    assert corr.stats["n_mc"] > 0 and corr.stats["loss"] > 0  # the shuffled matching misclusters most samples
    assert model.encoder.encoder.layer[0].output.dense.weight.grad.abs().sum() > 0


def test_pool_must_give_one_row_per_sample():
    with pytest.raises(ValueError, match="pool: expected one of 'mean', 'cls', 'last', 'max'"):
        ClusterCorrection("encoder", n_classes=2, pool=None)
