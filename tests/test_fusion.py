"""Kernel fusion as a Trainer option: `Trainer(fuse="auto" | True | False)` trains any
nn.Sequential's Conv2d -> ReLU -> BatchNorm2d -> MaxPool2d stages through the native kernel,
keeping the plain model's state_dict; where the kernel cannot run, "auto" trains the plain
layers and True is an error."""

import warnings

import pytest
import torch
from torch import nn

from dllab.engine import Trainer, fusion, seed_everything
from dllab.engine.fusion import FusedSequential, fuse_stages
from dllab.errors import ConfigError
from dllab.kernels import relu_bn_maxpool as kernel
from dllab.models import create_model
from helpers import needs_compiler, same_weights

CPU = torch.device("cpu")


def keras_trainer(fuse, **options) -> Trainer:
    seed_everything(0)
    model = create_model("keras_cifar_cnn")
    return Trainer(model, "sgd", lr=0.01, device="cpu", quiet=True, fuse=fuse, **options)


def images(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


@needs_compiler
def test_a_fused_training_is_the_plain_models_and_its_checkpoint_loads_into_it(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(fusion, "has_avx512", lambda: True)  # where "auto" fuses
    trainers = {fuse: keras_trainer(fuse) for fuse in (True, "auto", False)}
    assert type(trainers[True].model) is type(trainers["auto"].model) is FusedSequential
    assert type(trainers[False].model) is nn.Sequential
    plain_keys = list(create_model("keras_cifar_cnn").state_dict())
    assert all(list(t.weights()) == plain_keys for t in trainers.values())
    stages = []
    original = fusion.relu_batch_norm_max_pool
    monkeypatch.setattr(fusion, "relu_batch_norm_max_pool", lambda *a: stages.append(1)
                        or original(*a))  # fmt: skip
    for trainer in trainers.values():
        trainer.fit(images(), num_epochs=1, batch_size=8)
    assert len(stages) == 2 * 2 * 2  # two trainers, two steps, two stages
    fused, plain = trainers[True].weights(), trainers[False].weights()
    for key in plain_keys:  # weights and running statistics, up to float rounding
        torch.testing.assert_close(fused[key], plain[key], rtol=1e-3, atol=1e-4)
    trainers[True].save(tmp_path)
    restored = Trainer(create_model("keras_cifar_cnn"), "sgd", device="cpu", quiet=True, fuse=False)
    restored.load(tmp_path)
    assert type(restored.model) is nn.Sequential
    assert same_weights(restored, trainers[True])


def test_fuse_true_where_the_kernel_cannot_run_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"^fuse=True, but .* float32, not in torch.float64"):
        Trainer(create_model("keras_cifar_cnn").double(), device="cpu", quiet=True, fuse=True)
    with pytest.raises(ConfigError, match="runs on the CPU, not on cuda; use fuse='auto'"):
        fuse_stages(create_model("keras_cifar_cnn"), True, torch.device("cuda"), torch.float32)
    with pytest.raises(ConfigError, match="fuse must be 'auto', True or False, not 'yes'"):
        keras_trainer("yes")


def test_auto_keeps_the_plain_layers_silently_where_the_kernel_cannot_run(monkeypatch):
    def no_build():
        raise AssertionError("the kernel was built for a model that cannot use it")

    monkeypatch.setattr(kernel, "native", no_build)
    model = create_model("keras_cifar_cnn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for device, dtype in [(torch.device("cuda"), torch.float32), (CPU, torch.float64)]:
            assert fuse_stages(model, "auto", device, dtype) is model
        with pytest.raises(AssertionError, match="was built"):  # where it can, it is asked
            fuse_stages(model, "auto", CPU, torch.float32)
    trainer = Trainer(model.double(), "sgd", device="cpu", quiet=True)
    trainer.fit((images()[0].double(), images()[1]), num_epochs=1, batch_size=8)
    assert type(trainer.model) is nn.Sequential
    mlp = Trainer(create_model("digits_mlp"), device="cpu", quiet=True, fuse=True)
    assert type(mlp.model) is type(create_model("digits_mlp"))  # nothing to fuse, nothing built


class Features(nn.Module):
    """A model whose stage sits in a nested nn.Sequential, beside a Sequential subclass."""

    def __init__(self):
        super().__init__()
        stage = [nn.Conv2d(3, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2)]
        self.body = nn.Sequential(nn.Identity(), nn.Sequential(*stage))
        self.custom = type("Custom", (nn.Sequential,), {})(nn.ReLU(), nn.BatchNorm2d(16),
                                                          nn.MaxPool2d(2))  # fmt: skip

    def forward(self, x):
        return self.custom(self.body(x))


@needs_compiler
def test_auto_fuses_only_on_avx512_cpus_and_true_fuses_wherever_the_kernel_runs(monkeypatch):
    """The kernel's 16-float blocks fill an AVX-512 register; with narrower vectors the plain
    layers can be faster, so "auto" leaves them."""
    monkeypatch.setattr(fusion, "has_avx512", lambda: False)
    assert type(keras_trainer("auto").model) is nn.Sequential
    assert type(keras_trainer(True).model) is FusedSequential
    monkeypatch.setattr(fusion, "has_avx512", lambda: True)
    assert type(keras_trainer("auto").model) is FusedSequential


@needs_compiler
def test_any_sequential_holding_a_stage_is_fused_in_place_and_turned_back():
    model = Features()
    before = {k: v.data_ptr() for k, v in model.state_dict().items()}
    layers = list(model.body[1])
    assert fuse_stages(model, True, CPU, torch.float32) is model
    assert type(model.body[1]) is FusedSequential and list(model.body[1]) == layers
    assert type(model.body) is nn.Sequential  # no stage of its own
    assert type(model.custom).__name__ == "Custom"  # a subclass keeps its own forward
    assert {k: v.data_ptr() for k, v in model.state_dict().items()} == before  # same tensors
    x = torch.randn(2, 3, 10, 10).contiguous(memory_format=torch.channels_last)
    assert "dllab_relu_bn_maxpool" in type(model.body(x).grad_fn).__name__
    assert fuse_stages(model, False, CPU, torch.float32) is model
    assert type(model.body[1]) is nn.Sequential and list(model.body[1]) == layers


@needs_compiler
def test_a_gradient_penalty_through_a_fused_stage_asks_for_fuse_false():
    model = keras_trainer(True).model.train()
    x = images(4)[0].contiguous(memory_format=torch.channels_last).requires_grad_()
    (gradient,) = torch.autograd.grad(model(x).logsumexp(1).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="no second derivative; train with fuse=False"):
        gradient.square().sum().backward()
