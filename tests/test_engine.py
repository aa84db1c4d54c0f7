"""The Trainer: learning, determinism, exact resume, clipping, the divergence guard, callbacks."""

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dllab.engine import (
    Callback,
    ClipNorm,
    ClipValue,
    EarlyStopping,
    GradientNormMonitor,
    HistoryLogger,
    ModelCheckpoint,
    Reconstruction,
    Schedule,
    Trainer,
)
from dllab.engine.checkpoint import STATE_FILE
from dllab.errors import ConfigError, DataError, DivergenceError
from helpers import StopAt, same_weights


def make_data(n=240, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] - X[:, 1] > 0).long()
    return X, y


def make_model(seed=0, dropout=0.2):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 2))


def trainer(**kwargs):
    kwargs.setdefault("optimizer", "adam")
    kwargs.setdefault("lr", 1e-2)
    return Trainer(make_model(), quiet=True, **kwargs)


def without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def test_fit_lowers_the_loss_and_learns():
    X, y = make_data()
    t = trainer()
    history = t.fit((X, y), num_epochs=8, batch_size=32)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert t.evaluate((X, y))["accuracy"] > 0.9
    assert len(history.steps) == 8 * len(range(0, 240, 32))


def test_same_seed_gives_identical_history_and_weights():
    X, y = make_data()
    a, b = trainer(seed=3), trainer(seed=3)
    a.fit((X, y), num_epochs=3, batch_size=16)
    b.fit((X, y), num_epochs=3, batch_size=16)
    assert without_time(a.history.epochs) == without_time(b.history.epochs)
    assert a.history.steps == b.history.steps
    assert same_weights(a, b)
    c = trainer(seed=4)
    c.fit((X, y), num_epochs=3, batch_size=16)
    assert c.history.steps != a.history.steps


@pytest.mark.slow
@pytest.mark.parametrize("stop_step", [5, 15, 30])  # mid-epoch, mid-epoch, end of an epoch
def test_resume_equals_an_uninterrupted_run(tmp_path, stop_step):
    X, y = make_data()
    common = dict(schedule="cosine", seed=1)
    reference = trainer(**common, callbacks=[EarlyStopping(patience=50)])
    reference.fit((X, y), val_data=(X, y), num_epochs=5, batch_size=16)

    def callbacks():
        return [ModelCheckpoint(tmp_path, min_interval_s=0), EarlyStopping(patience=50)]

    first = trainer(**common, callbacks=[*callbacks(), StopAt(stop_step)])
    with pytest.raises(KeyboardInterrupt):
        first.fit((X, y), val_data=(X, y), num_epochs=5, batch_size=16)
    resumed = trainer(**common, callbacks=callbacks())
    resumed.fit((X, y), val_data=(X, y), num_epochs=5, batch_size=16, resume=tmp_path)
    assert resumed.history.steps == reference.history.steps
    assert without_time(resumed.history.epochs) == without_time(reference.history.epochs)
    assert same_weights(resumed, reference)


def test_a_checkpoint_from_before_per_key_sample_counts_resumes_to_the_same_history(tmp_path):
    # such a checkpoint holds {key: Σ value·n, "_count": Σ n} for the running epoch
    X, y = make_data()
    reference = trainer(seed=1)
    reference.fit((X, y), num_epochs=2, batch_size=16)
    first = trainer(seed=1, callbacks=[ModelCheckpoint(tmp_path, min_interval_s=0), StopAt(5)])
    with pytest.raises(KeyboardInterrupt):
        first.fit((X, y), num_epochs=2, batch_size=16)
    folder = tmp_path / json.loads((tmp_path / "last.json").read_text())["folder"]
    state = torch.load(folder / STATE_FILE, weights_only=True)
    sums = state["epoch_sums"]
    assert {samples for _, samples in sums.values()} == {5 * 16}
    state["epoch_sums"] = {key: total for key, (total, _) in sums.items()} | {"_count": 80}
    torch.save(state, folder / STATE_FILE)
    resumed = trainer(seed=1)
    resumed.fit((X, y), num_epochs=2, batch_size=16, resume=tmp_path)
    assert without_time(resumed.history.epochs) == without_time(reference.history.epochs)


@pytest.mark.slow
def test_history_file_of_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    X, y = make_data()

    def run(folder, extra=(), resume=None):
        callbacks = [HistoryLogger(folder / "h.jsonl"), ModelCheckpoint(folder, min_interval_s=0)]
        t = trainer(callbacks=[*callbacks, *extra])
        t.fit((X, y), num_epochs=4, batch_size=32, resume=resume)

    run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", extra=[StopAt(11)])
    run(tmp_path / "b", resume=tmp_path / "b")

    def lines(folder):
        records = [json.loads(line) for line in (folder / "h.jsonl").read_text().splitlines()]
        return without_time(records)

    assert lines(tmp_path / "b") == lines(tmp_path / "a")


class GradientSpy(Callback):
    """Records the global gradient norm as the optimizer saw it (after clipping)."""

    def __init__(self):
        self.norms, self.max_abs = [], []

    def on_step_end(self, trainer, record):
        grads = [p.grad for p in trainer.model.parameters()]
        self.norms.append(torch.nn.utils.get_total_norm(grads).item())
        self.max_abs.append(max(g.abs().max().item() for g in grads))


def test_clip_norm_caps_the_global_norm_exactly():
    X, y = make_data()
    spy = GradientSpy()
    t = trainer(optimizer="sgd", lr=0.1, grad_clip=ClipNorm(0.05), callbacks=[spy])
    t.fit((X, y), num_epochs=1, batch_size=32)
    for record, after in zip(t.history.steps, spy.norms):
        before = record["grad_norm"]
        assert before > 0.05  # every step clipped with so small a bound
        assert after == pytest.approx(0.05 * before / (before + 1e-6), rel=1e-5)
        assert record["clip_factor"] == pytest.approx(0.05 / (before + 1e-6), rel=1e-5)


def test_clip_value_bounds_every_element():
    X, y = make_data()
    spy = GradientSpy()
    t = trainer(optimizer="sgd", lr=0.1, grad_clip=ClipValue(1e-3), callbacks=[spy])
    t.fit((X, y), num_epochs=1, batch_size=32)
    assert max(spy.max_abs) <= torch.tensor(1e-3).item()  # 1e-3 in float32
    assert all(0 < r["clip_factor"] <= 1 for r in t.history.steps)


class PoisonAt(Callback):
    """Makes the weights non-finite after a given step, as an exploding update would."""

    def __init__(self, step):
        self.at = step

    def on_step_end(self, trainer, record):
        if record["step"] == self.at:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("inf"))


def test_divergence_guard_stops_within_one_step_and_keeps_the_checkpoint(tmp_path):
    X, y = make_data()
    checkpoint = ModelCheckpoint(tmp_path, min_interval_s=0)
    t = trainer(callbacks=[checkpoint, PoisonAt(20)])
    with pytest.raises(DivergenceError, match="lower the learning rate") as caught:
        t.fit((X, y), num_epochs=5, batch_size=16)
    assert t.step == 20  # the next step's loss was caught before its update
    assert str(tmp_path) in str(caught.value)
    fresh = trainer()
    fresh.load(tmp_path)
    assert fresh.step == 15  # the end of epoch 1, the last good checkpoint
    assert all(torch.isfinite(v).all() for v in fresh.weights().values())


def test_divergence_guard_catches_a_non_finite_gradient_norm():
    X, y = make_data()
    t = trainer(grad_clip=ClipNorm(1.0), callbacks=[PoisonAt(3)])
    with pytest.raises(DivergenceError):
        t.fit((X, y), num_epochs=1, batch_size=16)
    assert t.step == 3


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = make_data()
    X_val, y_val = X[:40], 1 - y[:40]  # validation labels flipped: val loss rises as we learn
    stop = EarlyStopping("val_loss", patience=2)
    t = trainer(callbacks=[stop])
    t.fit((X, y), val_data=(X_val, y_val), num_epochs=30, batch_size=32)
    assert t.epoch < 30
    assert t.epoch == stop.best_epoch + 2
    assert t.evaluate((X_val, y_val))["loss"] == pytest.approx(stop.best, rel=1e-6)


def test_model_checkpoint_writes_last_and_best(tmp_path):
    X, y = make_data()
    t = trainer(callbacks=[ModelCheckpoint(tmp_path, min_interval_s=0)])
    t.fit((X, y), val_data=(X, y), num_epochs=3, batch_size=32)
    assert (tmp_path / "last.json").is_file() and (tmp_path / "best.json").is_file()
    folders = sorted(p.name.split("-")[0] for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["best", "last"]  # older checkpoints removed


def test_history_logger_writes_jsonl_and_csv(tmp_path):
    X, y = make_data(64)
    t = trainer(
        callbacks=[HistoryLogger(tmp_path / "h.jsonl", "net"), HistoryLogger(tmp_path / "h.csv")]
    )
    t.fit((X, y), num_epochs=2, batch_size=32)
    records = [json.loads(line) for line in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in records] == ["step", "step", "epoch"] * 2
    assert all(r["model"] == "net" for r in records)
    rows = (tmp_path / "h.csv").read_text().splitlines()
    assert rows[0].startswith("model,kind,epoch,step") and len(rows) == 3


def test_gradient_norm_monitor_records_every_weight_matrix():
    X, y = make_data()
    t = trainer(callbacks=[GradientNormMonitor()])
    t.fit((X, y), num_epochs=1, batch_size=32)
    keys = [k for k in t.history.epochs[0] if k.startswith("grad_norm/")]
    assert keys == ["grad_norm/0.weight", "grad_norm/3.weight"]
    assert all(t.history.epochs[0][k] > 0 for k in keys)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_every_optimizer_by_name_trains(name):
    X, y = make_data()
    t = Trainer(
        make_model(dropout=0), optimizer=name, lr=0.05 if "sgd" in name else 5e-3, quiet=True
    )
    history = t.fit((X, y), num_epochs=5, batch_size=16)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_unknown_names_and_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean 'adam'"):
        Trainer(make_model(), optimizer="adm")
    with pytest.raises(ConfigError, match="lr must be > 0"):
        Trainer(make_model(), lr=0.0)
    with pytest.raises(ConfigError, match="unknown loss"):
        Trainer(make_model(), loss="hinge")
    X, y = make_data()
    with pytest.raises(ConfigError, match="batch_size"):
        trainer().fit((X, y), batch_size=0)
    with pytest.raises(ConfigError, match="num_epochs"):
        trainer().fit((X, y), num_epochs=-1)
    with pytest.raises(ConfigError, match="unknown schedule"):
        trainer(schedule="linear").fit((X, y))


def test_schedules_follow_their_shapes():
    X, y = make_data(64)

    def lrs(schedule, epochs=4):
        t = trainer(schedule=schedule, optimizer="sgd", lr=1.0)
        t.fit((X, y), num_epochs=epochs, batch_size=16)
        return [r["lr"] for r in t.history.epochs]

    cosine = lrs("cosine")
    assert cosine[-1] == pytest.approx(0.0, abs=1e-12) and cosine == sorted(cosine, reverse=True)
    assert lrs(Schedule("step", step_epochs=2, gamma=0.5)) == [1.0, 0.5, 0.5, 0.25]
    warm = lrs(Schedule("warmup", warmup_steps=8))
    assert warm[0] == pytest.approx(5 / 8) and warm[-1] == 1.0
    onecycle = lrs("onecycle", epochs=10)
    assert max(onecycle) > onecycle[0] and onecycle[-1] < 0.01


def test_batch_size_selects_full_batch_mini_batch_or_per_sample():
    X, y = make_data(48)
    for batch_size, steps in ((None, 1), (16, 3), (1, 48)):
        t = trainer(optimizer="sgd")
        t.fit((X, y), num_epochs=1, batch_size=batch_size)
        assert t.step == steps


def test_data_as_arrays_tensor_dataset_or_dataloader_give_the_same_training():
    X, y = make_data(64)
    a = trainer(seed=0)
    a.fit((X.numpy(), y.numpy()), num_epochs=2, batch_size=64, shuffle=False)
    b = trainer(seed=0)
    b.fit(TensorDataset(X, y), num_epochs=2, batch_size=64, shuffle=False)
    c = trainer(seed=0)
    # A DataLoader draws its worker seed from the global RNG unless given its own generator.
    loader = DataLoader(TensorDataset(X, y), batch_size=64, generator=torch.Generator())
    c.fit(loader, num_epochs=2)
    assert a.history.steps == b.history.steps == c.history.steps


def test_bad_data_is_a_data_error():
    X, y = make_data(10)
    with pytest.raises(DataError, match="differ in length"):
        trainer().fit((X, y[:5]))
    with pytest.raises(DataError, match="empty"):
        trainer().fit((X[:0], y[:0]))
    with pytest.raises(DataError, match="expected tensors"):
        trainer().fit(([1, 2], [0, 1]))


def test_fit_takes_x_and_y_and_validation_data_as_keras_does():
    X, y = make_data()
    keras_style = trainer(seed=2)
    keras_style.fit(X, y, validation_data=(X, y), num_epochs=2, batch_size=32)
    ours = trainer(seed=2)
    ours.fit((X, y), val_data=(X, y), num_epochs=2, batch_size=32)
    assert keras_style.history.steps == ours.history.steps
    assert without_time(keras_style.history.epochs) == without_time(ours.history.epochs)
    with pytest.raises(ConfigError, match=r"second argument is the targets y.*val_data=\(X, y\)"):
        trainer().fit((X, y), (X, y))  # the validation data, passed where Keras puts y
    with pytest.raises(ConfigError, match="not both"):
        trainer().fit((X, y), y)
    with pytest.raises(ConfigError, match="val_data or validation_data"):
        trainer().fit(X, y, val_data=(X, y), validation_data=(X, y))


def test_a_second_fit_trains_num_epochs_more_as_keras_does():
    X, y = make_data()
    t = trainer()
    t.fit((X, y), num_epochs=3, batch_size=32)
    t.fit((X, y), num_epochs=2, batch_size=32)
    assert t.epoch == 5 and [r["epoch"] for r in t.history.epochs] == [1, 2, 3, 4, 5]
    assert t.step == 5 * 8
    cosine = trainer(schedule="cosine", optimizer="sgd", lr=1.0)
    cosine.fit((X, y), num_epochs=2, batch_size=32)
    cosine.fit((X, y), num_epochs=2, batch_size=32)  # a schedule over this call's epochs
    lrs = [r["lr"] for r in cosine.history.epochs]
    assert lrs[1] == lrs[3] == pytest.approx(0.0, abs=1e-12) and lrs[2] > 0.4


def test_float64_inputs_and_int32_labels_are_cast_once_as_keras_does():
    X, y = make_data()
    a = trainer(seed=5)
    a.fit((X.double().numpy(), y.int().numpy()), val_data=(X.double(), y.int()), num_epochs=2)
    b = trainer(seed=5)
    b.fit((X, y), val_data=(X, y), num_epochs=2)
    assert a.history.steps == b.history.steps and same_weights(a, b)
    assert a.evaluate((X.double(), y.short())) == b.evaluate((X, y))
    assert torch.equal(a.predict(X.double().numpy()), b.predict(X))
    loader = DataLoader(TensorDataset(X.double(), y.int()), batch_size=32)
    assert trainer().fit(loader, num_epochs=1).steps[-1]["loss"] > 0


def test_predict_on_one_sample_says_to_add_a_batch_axis():
    X, _ = make_data()
    flat = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(6, 2)), quiet=True)  # "Dimension out"
    plain = Trainer(nn.Linear(6, 2), quiet=True)  # one sample gives one output of 2 values
    for t in (flat, plain):
        with pytest.raises(
            DataError, match=r"X \(6,\) is one sample: add a batch axis: `X\[None\]`"
        ):
            t.predict(X[0])
        assert t.predict(X[0][None]).shape == (1, 2)
    with pytest.raises(DataError, match="does not fit the model") as caught:
        flat.predict(torch.randn(5))  # wrong in another way
    assert "batch axis" not in str(caught.value)


def test_predict_evaluate_save_and_load_round_trip(tmp_path):
    X, y = make_data()
    t = trainer()
    t.fit((X, y), num_epochs=2, batch_size=32)
    assert t.predict(X).shape == (240, 2)
    t.save(tmp_path)
    other = trainer()
    other.load(tmp_path)
    assert torch.equal(other.predict(X), t.predict(X))
    assert other.evaluate((X, y)) == t.evaluate((X, y))
    assert other.history.steps == t.history.steps and other.step == t.step


def test_reconstruction_task_trains_an_autoencoder():
    X, _ = make_data()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 6))
    t = Trainer(model, "adam", loss=Reconstruction(), lr=1e-2, quiet=True)
    history = t.fit(X, num_epochs=10, batch_size=32)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


def test_auxiliary_outputs_add_a_weighted_loss():
    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.main, self.aux = nn.Linear(6, 2), nn.Linear(6, 2)

        def forward(self, x):
            return (self.main(x), self.aux(x)) if self.training else self.main(x)

    X, y = make_data(32)
    t = Trainer(WithAux(), quiet=True)
    t.fit((X, y), num_epochs=1, batch_size=32)
    assert t.model.aux.weight.grad is not None  # the auxiliary head was trained
    assert np.isfinite(t.evaluate((X, y))["loss"])
