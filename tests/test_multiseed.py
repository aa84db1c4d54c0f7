"""Vectorised seeds: every copy of a `train_seeds` pass follows the trajectory of the same
model trained alone by the Trainer (same seed: same init, same data order)."""

import pytest
import torch

from dllab import data
from dllab.engine import Trainer, seed_everything
from dllab.engine.multiseed import first_epoch_reaching, train_seeds
from dllab.errors import ConfigError
from dllab.models import create_model


def xor_mlp():
    return create_model("xor_mlp", num_hiddens=2, activation="tanh")


def alone(seed: int, train_data, optimizer: str, lr: float, num_epochs: int, batch_size, loss):
    seed_everything(seed)
    trainer = Trainer(xor_mlp(), optimizer, loss, lr=lr, seed=seed, quiet=True, device="cpu")
    return trainer.fit(train_data, num_epochs=num_epochs, batch_size=batch_size).history


@pytest.mark.slow
@pytest.mark.parametrize(
    "optimizer, lr, batch_size, loss",
    [("adam", 0.1, None, "bce"), ("momentum", 0.1, 3, "bce"), ("rmsprop", 0.01, 2, "mse")],
)
def test_each_copy_follows_its_solo_run(optimizer, lr, batch_size, loss):
    table = data.load("xor")
    X, y = table.train
    train_data = (X, y.float()) if loss == "mse" else (X, y)
    seeds = [0, 1, 2, 11]
    result = train_seeds(
        xor_mlp,
        seeds,
        train_data,
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        num_epochs=60,
        batch_size=batch_size,
    )
    assert result.loss.shape == result.accuracy.shape == (60, 4)
    for c in (0, 3):  # the first and a non-contiguous seed
        solo = alone(seeds[c], train_data, optimizer, lr, 60, batch_size, loss)
        torch.testing.assert_close(result.loss[:, c], torch.tensor(solo["loss"]))
        if loss == "bce":
            torch.testing.assert_close(result.accuracy[:, c], torch.tensor(solo["accuracy"]))


def test_with_data_per_copy_each_copy_follows_its_solo_run_on_its_own_data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(3, 12, 2, generator=g)  # three copies, each with 12 samples of its own
    y = (X[..., 0] * X[..., 1] > 0).long()  # (3, 12)
    seeds = [5, 6, 7]
    result = train_seeds(
        xor_mlp, seeds, (X, y), loss="bce", lr=0.05, num_epochs=20, batch_size=4,
        data_per_copy=True,
    )  # fmt: skip
    for c, seed in enumerate(seeds):
        solo = alone(seed, (X[c], y[c]), "adam", 0.05, 20, 4, "bce")
        torch.testing.assert_close(result.loss[:, c], torch.tensor(solo["loss"]))
    with pytest.raises(ConfigError, match="2 data sets"):
        train_seeds(xor_mlp, seeds, (X[:2], y[:2]), loss="bce", data_per_copy=True)


@pytest.mark.slow
def test_epochs_to_solve_and_solved_fraction():
    result = train_seeds(
        xor_mlp, range(12), data.load("xor").train, loss="bce", lr=0.1, num_epochs=300
    )
    solved = result.epochs_to_solve > 0
    assert 0 < solved.sum() < 12  # some XOR networks get stuck, some solve it
    assert result.solved_fraction == pytest.approx(solved.float().mean().item())
    for c in torch.nonzero(solved).flatten().tolist():
        e = result.epochs_to_solve[c].item()
        assert result.accuracy[e - 1, c] == 1.0 and (result.accuracy[: e - 1, c] < 1.0).all()
    assert set(result.params) == {"net.1.weight", "net.1.bias", "net.3.weight", "net.3.bias"}
    assert result.params["net.1.weight"].shape == (12, 2, 2)


def test_first_epoch_reaching():
    table = torch.tensor([[0.5, 1.0, 0.2], [1.0, 1.0, 0.4], [1.0, 0.9, 0.6]])  # (E=3, C=3)
    assert first_epoch_reaching(table, 1.0).tolist() == [2, 1, 0]


def test_no_seeds_is_a_config_error():
    with pytest.raises(ConfigError):
        train_seeds(xor_mlp, [], data.load("xor").train)
