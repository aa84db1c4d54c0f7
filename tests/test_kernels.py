"""The native kernels: the `dllab::relu_bn_maxpool` operator (torch.library's own checks, no
second derivative, refused layouts) and the builder (cache, portable flags, and the fallback
to PyTorch's layers when no library can be built or loaded)."""

import copy
import warnings

import pytest
import torch
from torch import nn

from dllab.engine import Trainer, seed_everything
from dllab.engine.fusion import FusedSequential
from dllab.errors import ConfigError
from dllab.kernels import build
from dllab.kernels import relu_bn_maxpool as kernel
from dllab.models import create_model
from helpers import needs_compiler

CL = torch.channels_last


def stage_inputs(C: int = 16, convolution: bool = False) -> tuple:
    """The operator's arguments for a (B, C, 8, 8) batch, k = 2; with `convolution`, x is a 3x3
    convolution of a 3-channel source that needs no gradient, whose weight wants one."""
    torch.manual_seed(0)
    source = torch.randn(4, 3, 10, 10).contiguous(memory_format=CL)
    conv_weight = torch.randn(C, 3, 3, 3).contiguous(memory_format=CL)
    x = nn.functional.conv2d(source, conv_weight) if convolution else torch.randn(4, C, 8, 8)
    x = x.contiguous(memory_format=CL).requires_grad_(not convolution)
    lead, weight, bias = (torch.randn(C, requires_grad=True) for _ in range(3))
    running = (torch.zeros(C), torch.ones(C))
    conv = (source, conv_weight.requires_grad_()) if convolution else (None, None)
    return x, lead, weight, bias, *running, 0.1, 1e-5, 2, *conv


@needs_compiler
@pytest.mark.slow  # traces the operator with AOTAutograd: seconds
@pytest.mark.parametrize("convolution", [False, True])
def test_the_operator_passes_torch_librarys_checks(convolution):
    # schema (no input changed: the running statistics come back as an output), autograd
    # registration, fake tensors, and AOTAutograd's forward and backward against eager
    args = stage_inputs(convolution=convolution)
    running = [t.clone() for t in args[4:6]]
    torch.library.opcheck(kernel.relu_bn_maxpool, args)
    assert all(torch.equal(a, b) for a, b in zip(args[4:6], running))


@needs_compiler
def test_the_backward_operator_passes_the_checks_that_need_no_gradient_of_its_own():
    # test_aot_dispatch_dynamic would differentiate the backward pass itself, which raises by
    # design (the next test); the other checks apply
    args = stage_inputs()
    pooled, argmax, xmax, statistics = kernel.relu_bn_maxpool(*args)
    backward_args = (torch.randn_like(pooled), *args[:3], statistics, argmax, xmax, 2)
    torch.library.opcheck(
        kernel.relu_bn_maxpool_backward,
        backward_args,
        test_utils=("test_schema", "test_autograd_registration", "test_faketensor"),
    )


@needs_compiler
@pytest.mark.parametrize("convolution", [False, True])
def test_a_double_backward_raises_instead_of_dropping_second_order_terms(convolution):
    args = stage_inputs(convolution=convolution)
    wrt = args[10] if convolution else args[0]  # the convolution's weight, or x
    pooled = kernel.relu_bn_maxpool(*args)[0]
    (gradient,) = torch.autograd.grad(pooled.square().sum(), wrt, create_graph=True)
    with pytest.raises(RuntimeError, match="no second derivative; train with fuse=False"):
        gradient.square().sum().backward()  # a gradient penalty


@needs_compiler
def test_the_operator_refuses_a_layout_it_would_read_out_of_bounds():
    def apply(x: torch.Tensor, *per_channel: torch.Tensor, conv=(None, None)) -> None:
        C = x.shape[1]
        lead, weight, bias, mean, var = per_channel or (torch.zeros(C),) * 3 + (torch.ones(C),) * 2
        kernel.relu_bn_maxpool(x, lead, weight, bias, mean, var, 0.0, 1e-5, 2, *conv)

    with pytest.raises(ValueError, match="blocks of 16"):
        apply(torch.randn(1, 8, 4, 4).contiguous(memory_format=CL))
    with pytest.raises(ValueError, match="channels-last"):
        apply(torch.randn(1, 16, 4, 4))
    x = torch.randn(1, 16, 4, 4).contiguous(memory_format=CL)
    with pytest.raises(ValueError, match="16 values per channel"):
        apply(x, torch.zeros(8), *[torch.ones(16)] * 4)
    weight = torch.randn(16, 3, 3, 3)
    for source, message in [
        (torch.randn(1, 3, 6, 6), "convolution's input float32 channels-last"),
        (torch.randn(1, 3, 5, 5).contiguous(memory_format=CL), "does not make"),  # too small
    ]:
        with pytest.raises(ValueError, match=message):
            apply(x, conv=(source, weight))
    with pytest.raises(ValueError, match="both the convolution's input and its weight"):
        apply(x, conv=(source, None))


@pytest.fixture
def fresh_build(tmp_path, monkeypatch):
    """A process that has built nothing yet, with an empty cache; restored afterwards."""
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path))
    build.library.cache_clear()
    kernel.native.cache_clear()
    yield tmp_path
    build.library.cache_clear()
    kernel.native.cache_clear()


def train_keras_cnn(fuse) -> Trainer:
    """Two steps of the Keras CIFAR CNN on 16 random images through the Trainer."""
    seed_everything(0)
    trainer = Trainer(create_model("keras_cifar_cnn"), "sgd", lr=0.01, device="cpu", quiet=True,
                      fuse=fuse)  # fmt: skip
    g = torch.Generator().manual_seed(0)
    data = torch.randn(16, 3, 32, 32, generator=g), torch.randint(0, 10, (16,), generator=g)
    trainer.fit(data, num_epochs=1, batch_size=8)
    return trainer


def falls_back_with_one_warning(reason: str) -> None:
    """Where the kernel cannot be had: "auto" warns once (naming `reason`) and trains the plain
    layers; fuse=True is a one-line ConfigError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = train_keras_cnn("auto")
        train_keras_cnn("auto")  # a second model: no second warning
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert reason in str(caught[0].message) and "PyTorch's kernels" in str(caught[0].message)
    assert not any(isinstance(m, FusedSequential) for m in trainer.model.modules())
    assert all(torch.isfinite(torch.tensor(trainer.history.history["loss"])))
    assert not kernel.available()
    with pytest.raises(ConfigError, match="fuse=True, but the fused kernel could not be built"):
        train_keras_cnn(True)


def test_without_a_compiler_it_warns_once_and_trains_pytorchs_layers(fresh_build, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(fresh_build))  # no cc, no gcc
    falls_back_with_one_warning("no C compiler")


def test_a_library_that_builds_but_does_not_load_falls_back_likewise(fresh_build, monkeypatch):
    # a "compiler" whose output is no library, as a cache on a noexec mount or a missing
    # OpenMP runtime leave the loader: the tuned and the portable builds both fail to load
    fake = fresh_build / "fake-cc"
    fake.write_text(
        '#!/bin/sh\nfor arg; do [ "$previous" = -o ] && echo junk > "$arg"; previous=$arg; done\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    falls_back_with_one_warning("could not build and load relu_bn_maxpool")
    assert len(list((fresh_build / "native").glob("relu_bn_maxpool-*.so"))) == 2


def train_step(model: nn.Module, x: torch.Tensor) -> tuple[str, list[torch.Tensor]]:
    """The autograd node that made the output, and the output and gradients of one step."""
    model = copy.deepcopy(model)
    out = model(x)
    out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
    return type(out.grad_fn).__name__, [out.detach(), *(p.grad for p in model.parameters())]


@needs_compiler
@pytest.mark.slow
def test_a_compiler_that_refuses_the_tuned_flags_builds_the_portable_kernel(
    fresh_build, monkeypatch
):
    monkeypatch.setattr(build, "TUNED", ("-fno-such-flag", *build.PORTABLE))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # falling back to the portable flags is silent
        assert kernel.available()
    assert len(list((fresh_build / "native").glob("relu_bn_maxpool-*.so"))) == 1
    torch.manual_seed(0)
    stage = [nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2)]
    first_layer = [nn.Conv2d(3, 16, 3), *stage]  # the kernel gives the weight gradient
    for layers, shape in [(stage, (4, 16, 8, 8)), (first_layer, (4, 3, 10, 10))]:
        x = torch.randn(shape).contiguous(memory_format=CL)
        node, fast = train_step(FusedSequential(*layers), x)
        assert "dllab_relu_bn_maxpool" in node
        for a, b in zip(fast, train_step(nn.Sequential(*layers), x)[1]):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@needs_compiler
@pytest.mark.slow
def test_a_built_library_is_reused_from_the_cache(fresh_build):
    assert build.library("relu_bn_maxpool") is not None
    built = list((fresh_build / "native").glob("relu_bn_maxpool-*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    build.library.cache_clear()
    assert build.library("relu_bn_maxpool") is not None
    assert built[0].stat().st_mtime_ns == stamp
    assert not list((fresh_build / "native").glob("*.partial"))
