"""The Trainer is the loop one writes by hand: same seed, batches and denormal flushing give
bit-identical weights and buffers (an MLP; a CNN with BatchNorm and dropout)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dllab.engine import ClipNorm, Trainer, make_optimizer
from dllab.engine.speed import flush_denormals

SEED = 5


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 3))


def cnn_with_batchnorm_and_dropout() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 3),
    )


def data(n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, 4, 4, generator=g)  # 100 samples: batches of 16 and a last one of 4
    return X, X.flatten(1)[:, :3].argmax(1)


def hand_written_loop(model, X, y, num_epochs: int, batch_size: int, max_norm: float) -> None:
    """The loop a student writes: shuffle, slice, forward, loss, backward, clip, step."""
    torch.manual_seed(SEED)  # dropout, as the Trainer seeds it when a fit starts
    order = torch.Generator().manual_seed(SEED)  # the data order, as the Trainer's `seed`
    optimizer = make_optimizer("adam", model.parameters(), 1e-2, 0.0)
    with flush_denormals():  # as the Trainer trains
        for _ in range(num_epochs):
            model.train()
            perm = torch.randperm(len(X), generator=order)
            X_shuffled, y_shuffled = X[perm], y[perm]
            for i in range(0, len(X), batch_size):
                y_hat = model(X_shuffled[i : i + batch_size])
                loss = F.cross_entropy(y_hat, y_shuffled[i : i + batch_size])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()


@pytest.mark.parametrize("build", [mlp, cnn_with_batchnorm_and_dropout])
def test_the_trainer_and_the_hand_written_loop_give_bit_identical_weights(build):
    torch.manual_seed(0)
    model, twin = build(), build()
    twin.load_state_dict(model.state_dict())
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = data()
    trainer = Trainer(
        model, "adam", "cross_entropy", lr=1e-2, grad_clip=ClipNorm(0.5), device="cpu",
        seed=SEED, quiet=True, channels_last=False,
    )  # fmt: skip
    trainer.fit((X, y), num_epochs=3, batch_size=16)
    hand_written_loop(twin, X, y, num_epochs=3, batch_size=16, max_norm=0.5)
    trained, by_hand = trainer.weights(), twin.state_dict()
    assert trained.keys() == by_hand.keys()
    assert all(torch.equal(trained[k], by_hand[k]) for k in trained)  # buffers too
    assert not all(torch.equal(trained[k], initial[k]) for k in trained)  # it did train
    assert len(trainer.history.steps) == 3 * 7
