"""Speed options of the Trainer: torch.compile, channels_last, mixed precision, threads."""

import pytest
import torch

from dllab.cli import main
from dllab.engine import Trainer, seed_everything
from dllab.errors import ConfigError
from dllab.models import create_model


def images(n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


def digits(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 64, generator=g), torch.randint(0, 10, (n,), generator=g)


def fit(model_name: str, train_data, num_epochs: int = 2, **options):
    seed_everything(0)
    model = create_model(model_name)
    trainer = Trainer(model, "sgd", lr=0.05, device="cpu", quiet=True, **options)
    trainer.fit(train_data, num_epochs=num_epochs, batch_size=8)
    return trainer


def test_compile_trains_the_same_model_and_reports_compile_time_apart():
    plain = fit("digits_mlp", digits())
    compiled = fit("digits_mlp", digits(), compile="aot_eager")
    first = compiled.history.epochs[0]
    assert first["compile_time"] > 0 and "compile_time" not in compiled.history.epochs[1]
    torch.testing.assert_close(
        torch.tensor(compiled.history.history["loss"]), torch.tensor(plain.history.history["loss"])
    )
    assert set(compiled.weights()) == set(plain.weights())  # no `_orig_mod.` prefixes


def test_channels_last_gives_the_same_training():
    plain = fit("keras_cifar_cnn", images(), num_epochs=1, channels_last=False)
    nhwc = fit("keras_cifar_cnn", images(), num_epochs=1, channels_last=True)
    conv = next(m for m in nhwc.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(
        torch.tensor(nhwc.history.history["loss"]),
        torch.tensor(plain.history.history["loss"]),
        rtol=1e-4,
        atol=1e-5,
    )


def test_bf16_autocast_on_the_cpu_trains_close_to_fp32():
    plain = fit("digits_mlp", digits(), num_epochs=3)
    bf16 = fit("digits_mlp", digits(), num_epochs=3, amp="bf16")
    losses = torch.tensor(bf16.history.history["loss"])
    assert torch.isfinite(losses).all()
    torch.testing.assert_close(
        losses, torch.tensor(plain.history.history["loss"]), atol=0.05, rtol=0
    )
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())  # master weights


@pytest.mark.parametrize("amp, message", [("fp16", "CUDA"), ("fp8", "unknown amp")])
def test_bad_amp_is_a_config_error(amp, message):
    with pytest.raises(ConfigError, match=message):
        Trainer(create_model("digits_mlp"), device="cpu", amp=amp)


def test_threads_option(capsys):
    before = torch.get_num_threads()
    try:
        assert main(["run", "nothing-by-this-name", "--threads", "0"]) == 2
        assert "--threads must be >= 1" in capsys.readouterr().err
        assert main(["run", "nothing-by-this-name", "--threads", "1"]) == 2  # set, then refused
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
