"""The fused (Conv2d ->) ReLU -> BatchNorm2d -> MaxPool2d stages against PyTorch's layers and
autograd: outputs, gradients and running statistics."""

import copy

import pytest
import torch
from torch import nn

from dllab.engine import fusion
from dllab.engine.fusion import FusedSequential, fuse_stages
from dllab.kernels import relu_bn_maxpool as kernel
from dllab.models import create_model
from helpers import needs_compiler

pytestmark = needs_compiler
CL = torch.channels_last


def stage(channels: int, k: int = 2, **bn) -> nn.Sequential:
    torch.manual_seed(1)
    layers = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(channels, **bn), nn.MaxPool2d(k))
    if layers[1].affine:
        with torch.no_grad():
            layers[1].weight.copy_(torch.randn(channels))  # some negative scales
            layers[1].weight[0] = 0.0  # and a zero one: every window ties
            layers[1].bias.copy_(torch.randn(channels))
    return layers


def train_step(model: nn.Module, x: torch.Tensor, dtype=torch.float32):
    """(output, input gradient, parameter gradients) of one training step in `dtype`."""
    model = copy.deepcopy(model).to(dtype)
    x = x.detach().to(dtype).contiguous(memory_format=CL).requires_grad_()
    out = model(x)
    out.backward(torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out))
    return model, out.detach(), x.grad, [p.grad for p in model.parameters()]


def test_the_kernel_builds_here():
    assert kernel.available()


@pytest.mark.parametrize(
    "shape, k, bn",
    [
        ((8, 16, 12, 12), 2, {}),
        ((4, 32, 13, 13), 2, {"eps": 1e-3, "momentum": 0.01}),  # odd: a row and column left over
        ((3, 16, 10, 11), 3, {"momentum": None}),  # 3x3 windows; a cumulative running average
        ((2, 48, 4, 4), 4, {"affine": False}),
    ],
)
def test_the_fused_stage_trains_as_the_three_layers_do(shape, k, bn):
    layers = stage(shape[1], k, **bn)
    x = torch.randn(shape) * 2 + 0.5
    reference = train_step(layers, x, torch.float64)
    plain = train_step(layers, x)
    fast = train_step(FusedSequential(*layers), x)
    for ref, got, eager in zip(reference[1:3], fast[1:3], plain[1:3]):
        # the fused stage is as close to float64 as PyTorch's own float32 layers, or closer
        error = (got.double() - ref).abs().max().item()
        assert error <= 2 * (eager.double() - ref).abs().max().item() + 1e-6
    for ref, got in zip(reference[3], fast[3]):
        torch.testing.assert_close(got.double(), ref, rtol=1e-4, atol=1e-4)
    for name, buffer in reference[0][1].named_buffers():
        torch.testing.assert_close(fast[0][1].get_buffer(name).double(), buffer.double())
    assert ran_fused(FusedSequential(*layers), x.contiguous(memory_format=CL))  # not layers


@pytest.mark.parametrize("bias", [True, False])
def test_a_convolution_before_the_stage_hands_its_bias_to_the_kernel(bias):
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 16, 3, padding=1, bias=bias)
    layers = nn.Sequential(conv, *stage(16))
    x = torch.randn(4, 3, 9, 9)
    reference = train_step(layers, x, torch.float64)
    plain, fast = train_step(layers, x), train_step(FusedSequential(*layers), x)
    outputs = [[out, dx, *grads] for _, out, dx, grads in (reference, fast, plain)]
    for ref, got, eager in zip(*outputs):
        error = (got.double() - ref).abs().max().item()
        assert error <= 2 * (eager.double() - ref).abs().max().item() + 1e-5
    calls = []  # the convolution's own forward runs only when it has no bias to hand over
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nn.Conv2d, "forward", lambda m, x: calls.append(m) or m._conv_forward(
            x, m.weight, m.bias))  # fmt: skip
        assert ran_fused(FusedSequential(*layers), x.contiguous(memory_format=CL))
    assert len(calls) == (0 if bias else 1)


def stages_run(model: nn.Module, x: torch.Tensor) -> list[bool]:
    """For each stage the kernel ran when the model ran on x: whether it took over the weight
    gradient of the convolution before it (it was handed that convolution's input)."""
    calls = []
    original = fusion.relu_batch_norm_max_pool
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fusion, "relu_batch_norm_max_pool", lambda *a: calls.append(len(a) > 4)
                      or original(*a))  # fmt: skip
        model(x)
    return calls


def ran_fused(model: nn.Module, x: torch.Tensor) -> bool:
    return bool(stages_run(model, x))


@pytest.mark.parametrize(
    "in_channels, kernel_size, threads",
    # 27, 25, 144 and 2 taps; on 1 channel the convolution's output comes NCHW
    [(3, 3, 1), (3, 3, 2), (1, 5, 1), (16, 3, 2), (2, 1, 1)],
)
def test_a_first_convolution_gets_its_weight_gradient_from_the_kernel(
    in_channels, kernel_size, threads
):
    torch.manual_seed(4)
    layers = nn.Sequential(nn.Conv2d(in_channels, 32, kernel_size), *stage(32))
    x = torch.randn(5, in_channels, 11, 12).contiguous(memory_format=CL)  # no gradient wanted
    fast = FusedSequential(*copy.deepcopy(layers))
    assert stages_run(fast, x) == [True]
    results = {}
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for name, model, dtype in [("ref", layers, torch.float64), ("eager", layers, None),
                                   ("fast", fast, None)]:  # fmt: skip
            model = copy.deepcopy(model).to(dtype or torch.float32)
            out = model(x.to(dtype or torch.float32))
            out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
            results[name] = [out.detach(), *(p.grad for p in model.parameters())]
    finally:
        torch.set_num_threads(previous)
    assert results["fast"][1].shape == layers[0].weight.shape
    for ref, got, eager in zip(results["ref"], results["fast"], results["eager"]):
        error = (got.double() - ref).abs().max().item()
        assert error <= 2 * (eager.double() - ref).abs().max().item() + 1e-5


def test_the_kernel_takes_a_weight_gradient_only_where_it_can():
    torch.manual_seed(5)
    x = torch.randn(2, 3, 10, 10).contiguous(memory_format=CL)
    plain = FusedSequential(nn.Conv2d(3, 16, 3), *stage(16))
    assert stages_run(plain, x) == [True]
    assert stages_run(plain, x.clone().requires_grad_()) == [False]  # x wants its gradient
    for conv in (nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(3, 16, 3, stride=2)):
        assert stages_run(FusedSequential(conv, *stage(16)), x) == [False]
    frozen = FusedSequential(nn.Conv2d(3, 16, 3), *stage(16))
    frozen[0].weight.requires_grad_(False)
    assert stages_run(frozen, x) == [False]
    with torch.no_grad():
        assert stages_run(plain, x) == [False]


def test_the_fused_stage_leaves_its_input_as_it_was():
    x = torch.randn(2, 16, 6, 6).contiguous(memory_format=CL)
    before = x.clone()
    FusedSequential(*stage(16))(x)
    assert torch.equal(x, before)


def test_ties_go_to_the_first_position_and_nan_propagates():
    x = torch.zeros(2, 16, 4, 4).contiguous(memory_format=CL)  # after the ReLU, all ties
    x[0, 1, 0, 0] = float("nan")
    x.requires_grad_()
    layers = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2))
    out = FusedSequential(*layers)(x)
    assert torch.isnan(out[:, 1]).all()  # the NaN poisons its channel's statistics
    assert not torch.isnan(out[:, 2:]).any()
    out[:, 2:].sum().backward()
    expected = train_step(layers, x.detach())[2]
    torch.testing.assert_close(x.grad[:, 2:], expected[:, 2:])


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_split_the_batch_without_changing_the_result(threads):
    x = torch.randn(6, 16, 12, 12)
    torch.manual_seed(3)
    model = FusedSequential(nn.Conv2d(16, 32, 3), *stage(32))
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = train_step(model, x)
        torch.set_num_threads(threads)
        many = train_step(model, x)
    finally:
        torch.set_num_threads(previous)
    for a, b in zip([one[1], one[2], *one[3]], [many[1], many[2], *many[3]]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_layer_by_layer_where_the_kernel_does_not_apply():
    x = torch.randn(2, 16, 8, 8).contiguous(memory_format=CL)
    model = FusedSequential(*stage(16))
    assert ran_fused(model, x)
    assert not ran_fused(model, x.contiguous())  # NCHW
    assert not ran_fused(copy.deepcopy(model).double(), x.double().contiguous(memory_format=CL))
    assert not ran_fused(FusedSequential(*stage(8)), x[:, :8].contiguous(memory_format=CL))
    assert not ran_fused(FusedSequential(nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(3, 2)), x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not ran_fused(model, x)
    model.eval()
    assert not ran_fused(model, x)
    model.train()
    seen = []
    model[1].register_forward_hook(lambda *args: seen.append(1))
    assert not ran_fused(model, x) and seen  # a hook on a layer still fires


def test_the_keras_cnn_trains_fused_with_the_plain_models_state_dict():
    plain = create_model("keras_cifar_cnn").to(memory_format=CL)
    assert type(plain) is nn.Sequential
    model = fuse_stages(copy.deepcopy(plain), True, torch.device("cpu"), torch.float32)
    assert type(model) is FusedSequential
    assert set(model.state_dict()) == set(plain.state_dict())
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=CL)
    assert stages_run(model, x) == [True, False]  # the first layer's weight gradient
    fast, slow = train_step(model, x), train_step(plain, x)
    torch.testing.assert_close(fast[1], slow[1], rtol=1e-4, atol=1e-4)
    for a, b in zip(fast[3], slow[3]):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
