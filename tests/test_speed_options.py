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


@pytest.mark.slow
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
        assert "(--threads) must be 1 to 1024, got 0" in capsys.readouterr().err
        assert main(["run", "nothing-by-this-name", "--threads", "1"]) == 2  # set, then refused
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ({}, 1),  # nothing chosen: the CLI's default, one thread
        ({"torch": 3}, 3),  # torch.set_num_threads(3) after importing dllab
        ({"env": "2"}, 2),  # OMP_NUM_THREADS=2
        ({"dllab": 2}, 2),  # dllab.engine.speed.set_threads(2)
    ],
)
def test_fit_trains_on_one_thread_unless_the_program_chose(monkeypatch, chosen, expected):
    from dllab.engine import speed

    before = torch.get_num_threads()
    monkeypatch.setattr(speed.Threads, "chosen", False)  # as in a fresh process,
    monkeypatch.setattr(speed.Threads, "at_import", 2)  # where torch started with 2 threads
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    try:
        torch.set_num_threads(chosen.get("torch", 2))
        if "env" in chosen:
            monkeypatch.setenv("OMP_NUM_THREADS", chosen["env"])
            torch.set_num_threads(int(chosen["env"]))  # what torch read at start-up
        if "dllab" in chosen:
            speed.set_threads(chosen["dllab"])
        Trainer(create_model("digits_mlp"), quiet=True).fit(digits(), num_epochs=1)
        assert torch.get_num_threads() == expected
        torch.set_num_threads(4)
        Trainer(create_model("digits_mlp"), quiet=True).fit(digits(), num_epochs=1)
        assert torch.get_num_threads() == 4  # decided once: a later choice stands
    finally:
        torch.set_num_threads(before)
