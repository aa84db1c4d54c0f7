"""CNN families: parameter counts of the papers and torchvision, torchvision's state-dict layout,
shortcut options, plain vs residual, auxiliary heads, 1D inputs, and state-dict round trips.

The big models are built once per module and never run at 224x224: counting needs no forward.
"""

import io

import pytest
import torch
from torch import nn

from dllab.errors import ConfigError
from dllab.models import create_model
from dllab.models.googlenet import Inception, NaiveInception
from dllab.models.resnet import BasicBlock, PadShortcut, cifar_resnet
from dllab.models.vgg import CONFIGS, make_features


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def imagenet_models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    names = ["vgg16", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18"]
    models = {name: create_model(name) for name in names}
    # torchvision's GoogLeNet: 3x3 convolutions in branch 3; the paper's has 5x5.
    models["googlenet_tv"] = create_model("googlenet", branch3_kernel=3)
    models["googlenet_tv_no_aux"] = create_model("googlenet", branch3_kernel=3, aux_logits=False)
    models["googlenet_paper_no_aux"] = create_model("googlenet", aux_logits=False)
    models["resnet18_A"] = create_model("resnet18", shortcut="A")
    return models


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vgg16", 138_357_544),  # torchvision vgg16; the paper's Table 2: 138M
        ("resnet18", 11_689_512),  # torchvision resnet18 .. resnet152
        ("resnet34", 21_797_672),
        ("resnet50", 25_557_032),
        ("resnet101", 44_549_160),
        ("resnet152", 60_192_808),
        ("googlenet_tv_no_aux", 6_624_904),  # torchvision googlenet(aux_logits=False)
        ("googlenet_tv", 13_004_888),  # torchvision googlenet(aux_logits=True)
        ("googlenet_paper_no_aux", 7_005_832),  # 5x5 in branch 3: 380,928 more
    ],
)
@pytest.mark.slow
def test_imagenet_parameter_counts(imagenet_models, name, expected):
    assert num_params(imagenet_models[name]) == expected


def test_vgg16_batch_norm_adds_scale_and_shift_per_conv_channel():
    plain = make_features(CONFIGS["D"], batch_norm=False)
    with_bn = make_features(CONFIGS["D"], batch_norm=True)
    assert num_params(with_bn) - num_params(plain) == 2 * sum(c for c in CONFIGS["D"] if c != "M")
    assert num_params(with_bn) - num_params(plain) + 138_357_544 == 138_365_992  # vgg16_bn
    assert shapes(with_bn)["40.weight"] == (512, 512, 3, 3)  # torchvision vgg16_bn.features.40


@pytest.mark.parametrize(
    ("name", "key", "shape"),
    [
        ("resnet18", "conv1.weight", (64, 3, 7, 7)),
        ("resnet18", "layer2.0.downsample.0.weight", (128, 64, 1, 1)),
        ("resnet18", "layer2.0.downsample.1.running_var", (128,)),
        ("resnet18", "layer4.1.bn2.weight", (512,)),
        ("resnet18", "fc.weight", (1000, 512)),
        ("resnet50", "layer1.0.downsample.0.weight", (256, 64, 1, 1)),
        ("resnet50", "layer2.0.conv2.weight", (128, 128, 3, 3)),
        ("resnet50", "layer3.5.conv3.weight", (1024, 256, 1, 1)),
        ("resnet50", "fc.weight", (1000, 2048)),
        ("vgg16", "features.0.weight", (64, 3, 3, 3)),
        ("vgg16", "features.28.weight", (512, 512, 3, 3)),
        ("vgg16", "classifier.0.weight", (4096, 25088)),
        ("vgg16", "classifier.3.weight", (4096, 4096)),
        ("vgg16", "classifier.6.weight", (1000, 4096)),
        ("googlenet_tv", "conv1.conv.weight", (64, 3, 7, 7)),
        ("googlenet_tv", "conv1.bn.running_mean", (64,)),
        ("googlenet_tv", "conv3.conv.weight", (192, 64, 3, 3)),
        ("googlenet_tv", "inception3a.branch1.conv.weight", (64, 192, 1, 1)),
        ("googlenet_tv", "inception3a.branch2.1.conv.weight", (128, 96, 3, 3)),
        ("googlenet_tv", "inception3a.branch3.1.conv.weight", (32, 16, 3, 3)),
        ("googlenet_tv", "inception5b.branch4.1.conv.weight", (128, 832, 1, 1)),
        ("googlenet_tv", "aux1.conv.conv.weight", (128, 512, 1, 1)),
        ("googlenet_tv", "aux1.fc1.weight", (1024, 2048)),
        ("googlenet_tv", "aux2.conv.conv.weight", (128, 528, 1, 1)),
        ("googlenet_tv", "aux2.fc2.weight", (1000, 1024)),
        ("googlenet_tv", "fc.weight", (1000, 1024)),
        ("googlenet_paper_no_aux", "inception3a.branch3.1.conv.weight", (32, 16, 5, 5)),
    ],
)
def test_state_dict_layout_matches_torchvision(imagenet_models, name, key, shape):
    assert shapes(imagenet_models[name])[key] == shape


def test_state_dict_keys_of_torchvision_resnet18(imagenet_models):
    keys = list(imagenet_models["resnet18"].state_dict())
    assert len(keys) == 122  # 62 parameters + 60 batch-norm buffers, as in torchvision
    assert keys[:2] == ["conv1.weight", "bn1.weight"] and keys[-2:] == ["fc.weight", "fc.bias"]
    downsample = [k for k in keys if "downsample" in k]
    assert {k.split(".downsample")[0] for k in downsample} == {"layer2.0", "layer3.0", "layer4.0"}


def test_option_a_vs_b_shortcuts(imagenet_models):
    # Option B adds a 1x1 projection and its batch norm wherever the shape changes.
    projections = sum(
        c_in * c_out + 2 * c_out for c_in, c_out in [(64, 128), (128, 256), (256, 512)]
    )
    difference = num_params(imagenet_models["resnet18"]) - num_params(imagenet_models["resnet18_A"])
    assert difference == projections == 173_824
    assert num_params(cifar_resnet(20, shortcut="B")) - num_params(cifar_resnet(20)) == 2_752


def test_plain_and_residual_networks_have_the_same_layers(imagenet_models):
    plain, residual = shapes(imagenet_models["plain18"]), shapes(imagenet_models["resnet18"])
    assert plain == {k: v for k, v in residual.items() if "downsample" not in k}
    assert plain == shapes(imagenet_models["resnet18_A"])
    assert shapes(create_model("plain56")) == shapes(create_model("resnet56"))


@pytest.mark.parametrize(
    ("name", "expected", "paper"),
    [  # §4.2, Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters (option A shortcuts)
        ("resnet20", 269_722, 0.27e6),
        ("resnet32", 464_154, 0.46e6),
        ("resnet44", 658_586, 0.66e6),
        ("resnet56", 853_018, 0.85e6),
        ("resnet110", 1_727_962, 1.7e6),
    ],
)
def test_cifar_resnet_parameter_counts(name, expected, paper):
    count = num_params(create_model(name))
    assert count == expected
    assert float(f"{count:.2g}") == paper  # the paper's two significant digits


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("keras_cifar_cnn", 122_762),  # Keras summary: 122,954 incl. 192 moving mean/variance
        ("mnist1d_cnn", 5_210),  # MNIST-1D ConvBase
        ("mnist1d_mlp", 15_210),  # MNIST-1D MLPBase
        ("digits_mlp", 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10),
    ],
)
def test_small_model_parameter_counts(name, expected):
    assert num_params(create_model(name)) == expected


def test_keras_cifar_cnn_layer_shapes():
    model = create_model("keras_cifar_cnn").eval()
    sizes = []
    x = torch.zeros(2, 3, 32, 32)
    for layer in model:
        x = layer(x)
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
            sizes.append(x.shape[-1])
    assert sizes == [30, 15, 13, 6, 4]
    assert x.shape == (2, 10)


def test_option_a_shortcut_subsamples_and_pads_with_zeros():
    x = torch.randn(2, 16, 8, 8)
    y = PadShortcut(extra_channels=16, stride=2, dims=2)(x)
    assert y.shape == (2, 32, 4, 4)
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert (y[:, 16:] == 0).all()


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_residual_block_with_zero_residual_is_the_identity(shortcut):
    # y = relu(F(x) + x) with F(x) = 0 gives x for x >= 0 (Eq. 1): the block can learn identity.
    block = BasicBlock(16, 16, shortcut=shortcut).eval()
    nn.init.zeros_(block.bn2.weight)
    x = torch.rand(2, 16, 8, 8)
    torch.testing.assert_close(block(x), x)
    plain = BasicBlock(16, 16, shortcut="none").eval()
    nn.init.zeros_(plain.bn2.weight)
    assert (plain(x) == 0).all()


def test_resnet_option_and_depth_errors():
    with pytest.raises(ConfigError, match="6n \\+ 2"):
        cifar_resnet(21)
    with pytest.raises(ConfigError, match="unknown shortcut 'C'"):
        create_model("resnet18", shortcut="C")


@pytest.mark.slow
def test_googlenet_auxiliary_outputs_only_in_training():
    torch.manual_seed(0)
    model = create_model("googlenet_small", aux_logits=True)
    x = torch.randn(2, 3, 32, 32)
    logits, aux1, aux2 = model.train()(x)
    assert logits.shape == aux1.shape == aux2.shape == (2, 10)
    assert model.eval()(x).shape == (2, 10)
    assert create_model("googlenet_small").train()(x).shape == (2, 10)


def test_inception_modules_widths_and_cost():
    x = torch.randn(2, 192, 8, 8)
    reduced = Inception(192, 64, 96, 128, 16, 32, 32)
    naive = NaiveInception(192, 64, 128, 32)
    assert reduced(x).shape == (2, 64 + 128 + 32 + 32, 8, 8)
    assert naive(x).shape == (2, 192 + 64 + 128 + 32, 8, 8)  # the pooling passes 192 through
    assert num_params(naive) > 2 * num_params(reduced)  # §4: the 1x1 reductions cut the cost
    small, naive_small = create_model("googlenet_small"), create_model("googlenet_naive_small")
    assert num_params(naive_small) > 10 * num_params(small)


@pytest.mark.parametrize(
    ("name", "num_pools"), [("vgg11_cifar", 5), ("vgg11_mnist", 4), ("vgg11_digits", 3)]
)
def test_small_vggs_keep_the_poolings_the_input_allows(name, num_pools):
    model = create_model(name)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == num_pools


def test_vgg_batch_norm_option_follows_torchvision_layout():
    features = make_features(CONFIGS["A"], batch_norm=True, width=8, input_size=32)
    assert [type(m) for m in features[:4]] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d]


def test_one_dimensional_models_take_vectors_or_one_channel_sequences():
    torch.manual_seed(0)
    x = torch.randn(4, 40)
    for name in ["resnet1d_20", "plain1d_20", "mnist1d_cnn", "mnist1d_cnn_modern"]:
        model = create_model(name).eval()
        torch.testing.assert_close(model(x), model(x.unsqueeze(1)))
        assert model(x).shape == (4, 10)


def test_builders_take_num_classes_and_in_channels():
    for name in ["resnet20", "vgg11_cifar", "googlenet_small", "cnn", "keras_cifar_cnn"]:
        model = create_model(name, num_classes=7, in_channels=1)
        assert model.eval()(torch.randn(2, 1, 32, 32)).shape == (2, 7)


@pytest.mark.parametrize(
    "name", ["resnet18", "resnet20", "googlenet_small", "vgg11_cifar", "mnist1d_cnn_modern"]
)
def test_state_dict_round_trip_into_a_fresh_model(name):
    torch.manual_seed(0)
    kwargs = {"aux_logits": True} if name.startswith("googlenet") else {}
    source = create_model(name, **kwargs)
    source.train()(torch.randn(2, *((3, 32, 32) if "1d" not in name else (40,))))  # move BN stats
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    torch.manual_seed(1)
    target = create_model(name, **kwargs)
    assert target.load_state_dict(saved, strict=True)  # no missing or unexpected keys
    loaded = target.state_dict()
    assert shapes(target) == shapes(source)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key
