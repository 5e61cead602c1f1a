"""TextClassifier: head over a masked mean of the encoder's tokens; padding-proof; saved as a model directory."""

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from latentalign.models.pretrained import load_pretrained
from latentalign.models.text_classifier import TextClassifier


def _tiny(seed=0):
    torch.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))


def test_logits_are_the_head_of_a_hand_masked_mean():
    model = TextClassifier(_tiny(), n_classes=3).eval()
    ids = torch.tensor([[2, 5, 6, 3, 0, 0], [2, 7, 8, 9, 4, 3]])
    mask = (ids != 0).long()
    with torch.no_grad():
        tokens = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.double()
        m = mask.double().unsqueeze(-1)
        expected = (tokens * m).sum(1) / m.sum(1) @ model.head.weight.double().T + model.head.bias.double()
        got = model(input_ids=ids, attention_mask=mask)
    assert got.shape == (2, 3) and torch.allclose(got.double(), expected, atol=1e-6)


def test_padding_does_not_change_the_logits():
    model = TextClassifier(_tiny(), n_classes=4).eval()
    short = torch.tensor([[2, 5, 6, 3]])
    padded = torch.tensor([[2, 5, 6, 3, 0, 0, 0]])
    with torch.no_grad():
        a = model(input_ids=short, attention_mask=torch.ones_like(short))
        b = model(input_ids=padded, attention_mask=(padded != 0).long())
    assert torch.allclose(a, b, atol=1e-6)


def test_save_pretrained_writes_a_directory_load_pretrained_reads(tmp_path, minilm):
    encoder, tokenizer = minilm
    model = TextClassifier(_tiny(), n_classes=3)
    path = model.save_pretrained(tmp_path / "clf", tokenizer)
    loaded, tok = load_pretrained(path)
    assert isinstance(tok, BertTokenizerFast)
    state = model.encoder.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
    head = torch.load(path / "head.pt", weights_only=True)
    assert head["pool"] == "mean" and torch.equal(head["state_dict"]["weight"], model.head.weight)


def test_bad_input():
    with pytest.raises(TypeError, match="encoder: expected a transformers model"):
        TextClassifier(torch.nn.Linear(3, 3), n_classes=2)
    with pytest.raises(ValueError, match="pool:"):
        TextClassifier(_tiny(), n_classes=2, pool=None)
    with pytest.raises(ValueError, match="n_classes:"):
        TextClassifier(_tiny(), n_classes=1)
