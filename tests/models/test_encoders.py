import pytest
import torch
from torch import nn

from latentalign.models import MLP, CNN1d, CNN2d, build_model, layer_names

torch.set_num_threads(1)


def test_mlp_layer_names_and_shapes():
    m = MLP(64, (64, 64, 32, 16), 10)
    assert layer_names(m) == ["input", "hidden1", "hidden2", "hidden3", "penultimate", "logits"]
    assert m(torch.zeros(3, 64)).shape == (3, 10)
    assert m(torch.zeros(3, 8, 8)).shape == (3, 10)  # flattened
    pen = m.get_submodule("penultimate")
    assert isinstance(pen[0], nn.Linear) and pen[0].out_features == 16 and isinstance(pen[1], nn.ReLU)
    assert m.get_submodule("logits").in_features == 16
    # one module never sits under two names
    ids = [id(mod) for _, mod in m.named_modules()]
    assert len(ids) == len(set(ids))
    assert layer_names(MLP(4, 8, 2)) == ["input", "penultimate", "logits"]
    assert layer_names(MLP(4, (), 2)) == ["input", "logits"]


def test_mlp_forward_is_composition_of_named_layers():
    torch.manual_seed(0)
    m = MLP(5, (7, 3), 2, activation="tanh")
    x = torch.randn(4, 5)
    h = x
    for name in layer_names(m):
        h = m.get_submodule(name)(h)
    assert torch.allclose(h, m(x))
    assert isinstance(m.hidden1[1], nn.Tanh)


def test_cnn2d_digits_shapes():
    m = CNN2d()
    assert m.flat_dim == 1024
    assert layer_names(m) == ["input", "conv1", "conv2", "pool", "flatten", "penultimate", "logits"]
    assert m(torch.zeros(2, 64)).shape == (2, 10)  # digits come flat
    assert m(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert m(torch.zeros(2, 8, 8)).shape == (2, 10)
    assert m.get_submodule("penultimate")[0].out_features == 64
    with pytest.raises(ValueError, match="^x"):
        m(torch.zeros(2, 63))


def test_cnn1d_mnist1d_shapes():
    m = CNN1d()
    assert m.flat_dim == 160
    assert layer_names(m) == ["input", "conv1", "conv2", "conv3", "flatten", "penultimate", "logits"]
    assert m(torch.zeros(2, 40)).shape == (2, 10)
    assert m(torch.zeros(2, 1, 40)).shape == (2, 10)
    convs = [m.get_submodule(f"conv{i}")[0] for i in (1, 2, 3)]
    assert [c.kernel_size[0] for c in convs] == [5, 3, 3] and all(c.stride[0] == 2 for c in convs)


def test_build_model():
    assert isinstance(build_model("mlp", in_dim=64, n_classes=10), MLP)
    assert layer_names(build_model("mlp", in_dim=64, n_classes=10))[-2:] == ["penultimate", "logits"]
    assert build_model("mlp", in_shape=(1, 40), n_classes=10).in_dim == 40
    assert isinstance(build_model("cnn", in_shape=(1, 8, 8), n_classes=10), CNN2d)
    c1 = build_model("cnn", in_shape=(1, 40), n_classes=10)
    assert isinstance(c1, CNN1d) and c1.flat_dim == 160
    assert isinstance(build_model("cnn1d", in_dim=40, n_classes=10), CNN1d)
    assert build_model("cnn2d", in_shape=(1, 8, 8), n_classes=3, channels=(4,)).flat_dim == 64
    with pytest.raises(ValueError, match="^name"):
        build_model("resnet", in_dim=3, n_classes=2)
    with pytest.raises(ValueError, match="^in_shape"):
        build_model("cnn", in_dim=64, n_classes=10)
    with pytest.raises(ValueError, match="^in_dim"):
        build_model("mlp", n_classes=10)


@pytest.mark.parametrize(
    "factory, arg",
    [
        (lambda: MLP(0, 8, 2), "in_dim"),
        (lambda: MLP(4, (8, -1), 2), "hidden"),
        (lambda: MLP(4, 8, 0), "out_dim"),
        (lambda: MLP(4, 8, 2, activation="swish"), "activation"),
        (lambda: CNN2d(in_shape=(8, 8)), "in_shape"),
        (lambda: CNN2d(channels=()), "channels"),
        (lambda: CNN2d(n_classes=0), "n_classes"),
        (lambda: CNN2d(kernel_size=2), "kernel_size"),
        (lambda: CNN1d(channels=(8, 8)), "channels"),
        (lambda: CNN1d(length=0), "length"),
        (lambda: CNN1d(stride=0), "stride"),
        (lambda: CNN1d(hidden=0), "hidden"),
    ],
)
def test_constructor_errors_name_the_argument(factory, arg):
    with pytest.raises(ValueError, match=f"^{arg}"):
        factory()


def test_constructor_type_errors():
    with pytest.raises(TypeError, match="^in_dim"):
        MLP(4.5, 8, 2)
    with pytest.raises(TypeError, match="^hidden"):
        MLP(4, "8", 2)
    with pytest.raises(TypeError, match="^model"):
        layer_names("mlp")


def test_layer_names_fallback_for_any_module():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert layer_names(seq) == ["0", "1", "1.0", "1.1"]
