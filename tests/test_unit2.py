"""Unit II: the augmented training task (seeded, resume-exact), pretrained-weight loading, and
the experiments' quick configs reporting what issue 4 promises."""

import pytest
import torch
from torch import nn

from dllab.data.augment import augmentation
from dllab.engine import Augmented, ModelCheckpoint, Supervised, Trainer
from dllab.errors import ConfigError
from helpers import StopAt, same_weights


def signals(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 1, 16, generator=g)
    y = (X[:, 0, :8].sum(1) > X[:, 0, 8:].sum(1)).long()
    return X, y


def augmented_trainer(seed=0, mix=None, callbacks=()):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.Dropout(0.2), nn.Flatten(), nn.Linear(64, 2)
    )
    task = Augmented(Supervised(), augmentation("shift", max_shift=2), mix=mix)
    return Trainer(model, "adam", task, lr=1e-2, seed=seed, quiet=True, callbacks=list(callbacks))


@pytest.mark.parametrize("mix", [None, "mixup", "cutmix"])
def test_augmented_training_is_deterministic_by_seed(mix):
    X, y = signals()
    a, b, c = augmented_trainer(3, mix), augmented_trainer(3, mix), augmented_trainer(4, mix)
    for t in (a, b, c):
        t.fit((X, y), num_epochs=2, batch_size=16)
    assert a.history.steps == b.history.steps
    assert same_weights(a, b)
    assert a.history.steps != c.history.steps


def test_augmentation_changes_training_but_not_evaluation():
    X, y = signals()
    plain = Trainer(augmented_trainer().model, "adam", lr=1e-2, quiet=True)
    augmented = augmented_trainer()
    assert plain.evaluate((X, y)) == augmented.evaluate((X, y))  # the same weights, untouched data
    augmented.fit((X, y), num_epochs=1, batch_size=16)
    plain_run = augmented_trainer()
    plain_run.task.transform = None
    plain_run.fit((X, y), num_epochs=1, batch_size=16)
    assert augmented.history.steps != plain_run.history.steps


@pytest.mark.parametrize("stop_step", [4, 12])  # mid-epoch, end of an epoch (6 steps each)
@pytest.mark.parametrize("mix", [None, "cutmix"])
def test_augmented_resume_equals_an_uninterrupted_run(tmp_path, stop_step, mix):
    X, y = signals()
    reference = augmented_trainer(1, mix)
    reference.fit((X, y), num_epochs=3, batch_size=16)
    first = augmented_trainer(
        1, mix, [ModelCheckpoint(tmp_path, min_interval_s=0), StopAt(stop_step)]
    )
    with pytest.raises(KeyboardInterrupt):
        first.fit((X, y), num_epochs=3, batch_size=16)
    resumed = augmented_trainer(1, mix, [ModelCheckpoint(tmp_path, min_interval_s=0)])
    resumed.fit((X, y), num_epochs=3, batch_size=16, resume=tmp_path)
    assert resumed.history.steps == reference.history.steps
    assert same_weights(resumed, reference)


def test_unknown_mix_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown mix"):
        Augmented(Supervised(), mix="blend")


# ---- pretrained weights in torchvision's layout ---------------------------------------------


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_pretrained_weights_load_every_key_and_shape(tmp_path, suffix):
    from safetensors.torch import save_file

    from dllab.experiments.vision import load_pretrained
    from dllab.models import create_model

    torch.manual_seed(1)
    source = create_model("resnet8", num_classes=1000)  # an "ImageNet" head of 1000 classes
    path = tmp_path / f"weights{suffix}"
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    torch.manual_seed(2)
    target = create_model("resnet8", num_classes=10)
    fresh_head = target.fc.weight.clone()
    load_pretrained(target, str(path))
    loaded = target.state_dict()
    for key, value in state.items():
        if key.startswith("fc."):
            continue
        assert loaded[key].shape == value.shape and torch.equal(loaded[key], value), key
    assert torch.equal(target.fc.weight, fresh_head)  # the new task's head stays fresh


def test_pretrained_weights_of_another_model_are_one_clear_error(tmp_path):
    from dllab.errors import CheckpointError
    from dllab.experiments.vision import load_pretrained
    from dllab.models import create_model

    path = tmp_path / "w.pth"
    torch.save(create_model("resnet8", width=8).state_dict(), path)
    with pytest.raises(CheckpointError, match="shape"):
        load_pretrained(create_model("resnet8"), str(path))
    with pytest.raises(CheckpointError, match="no weight file"):
        load_pretrained(create_model("resnet8"), str(tmp_path / "absent.pth"))
    torch.save({"model": nn.Linear(2, 2)}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_pretrained(create_model("resnet8"), str(path))


def test_subset_relabels_and_limits_each_class():
    from dllab import data
    from dllab.experiments.vision import subset

    digits = data.load("digits")
    part = subset(digits, (5, 6, 7, 8, 9), per_class=3)
    X, y = part.train
    assert torch.equal(torch.bincount(y), torch.full((5,), 3))
    assert set(part.test[1].tolist()) == {0, 1, 2, 3, 4}
    assert len(part.test[1]) == int((digits.test[1] >= 5).sum())


# ---- the experiments' quick configs -----------------------------------------------------------


@pytest.fixture
def quick(quick_runs):
    """An experiment's quick run (made once per session) -> its metrics."""
    return lambda name, *overrides: quick_runs(name, *overrides)[1]


def test_mnist1d_cnn_reports_the_cnn_and_the_mlp(quick):
    m = quick("mnist1d-cnn")
    assert 0.1 < m["test_accuracy"] <= 1 and 0 < m["mlp_test_accuracy"] <= 1
    assert 0.1 < m["single_view_test_accuracy"] <= 1
    assert m["test_accuracy"] > m["mlp_test_accuracy"]  # even 2 epochs of a tiny CNN
    assert m["train_time_s"] > 0 and m["train_cpu_s"] > 0


def test_shifted_logits_average_the_shifted_views_in_one_batch():
    from dllab.data.augment import shift
    from dllab.experiments.unit2 import shifted_logits

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 3, 3), nn.BatchNorm1d(3), nn.Flatten(), nn.Linear(42, 4))
    X = torch.randn(5, 1, 16)
    model.eval()
    with torch.no_grad():
        views = [model(shift(X, torch.full((5, 1), s))) for s in (-2, -1, 0, 1, 2)]
        assert torch.allclose(shifted_logits(model, X, 0), model(X))
    y_hat = shifted_logits(model.train(), X, 2)  # evaluation mode whatever the model was in
    assert y_hat.shape == (5, 4) and not model.training
    assert torch.allclose(y_hat, torch.stack(views).mean(0), atol=1e-6)


def test_degradation_reports_the_training_error_of_both_kinds_at_every_depth(quick):
    m = quick("degradation")
    assert set(m) == {f"train_error_{k}{d}" for k in ("plain", "resnet") for d in (8, 56)}
    assert all(0 <= v <= 1 for v in m.values())


@pytest.mark.parametrize(
    ("name", "variants"),
    [
        ("pooling", ("max", "avg", "min", "global")),
        ("activations-cnn", ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "prelu")),
        ("dropout", ("p0", "p0.25", "p0.5")),
        ("normalization", ("batch", "layer", "instance", "group", "none")),
    ],
)
def test_variant_experiments_report_accuracy_and_gap_per_variant(quick, name, variants):
    m = quick(name)
    for v in variants:
        assert 0 <= m[f"test_accuracy_{v}"] <= 1
        assert -1 <= m[f"train_test_gap_{v}"] <= 1


def test_augment_gallery_shows_every_transform(quick):
    from dllab.data.augment import GALLERY

    assert quick("augment-gallery")["num_transforms"] == len(GALLERY) + 2  # + mixup, cutmix


def test_transfer_learning_compares_four_ways_at_every_number_of_labels(quick):
    m = quick("transfer-learning")
    modes = ("frozen", "partly_frozen", "free", "scratch")
    assert set(m) == {"source_test_accuracy", "test_accuracy"} | {
        f"test_accuracy_{mode}_n{n}" for mode in modes for n in (2, 5)
    }
    assert all(0 <= v <= 1 for v in m.values())
    assert m["test_accuracy"] == max(m[f"test_accuracy_{mode}_n2"] for mode in modes)


def test_a_frozen_block_keeps_its_weights_and_batch_norm_statistics():
    from dllab.experiments.unit2 import Frozen
    from dllab.models import create_model

    torch.manual_seed(0)
    model = create_model("cnn", in_channels=1, channels=(4, 8), num_classes=3)
    model.features[0] = Frozen(model.features[0])
    frozen = {k: v.clone() for k, v in model.features[0].state_dict().items()}
    free = model.features[1].conv.weight.detach().clone()
    X, y = torch.randn(32, 1, 8, 8) * 3 + 1, torch.randint(0, 3, (32,))
    Trainer(model, "adam", lr=1e-2, quiet=True).fit((X, y), num_epochs=2, batch_size=8)
    model.train()
    assert not model.features[0].block.norm.training and model.features[1].norm.training
    assert all(torch.equal(v, model.features[0].state_dict()[k]) for k, v in frozen.items())
    assert not any(p.requires_grad for p in model.features[0].parameters())
    assert not torch.equal(model.features[1].conv.weight, free)  # the rest trains


def test_variant_experiments_draw_test_error_and_the_train_test_gap(quick, tmp_path_factory):
    quick("dropout")
    folders = list(tmp_path_factory.getbasetemp().glob("dropout*/figures"))
    assert folders and {"test_error.png", "train_test_gap.png"} <= {
        f.name for f in folders[0].iterdir()
    }


def test_architectures_report_parameters_and_time(quick):
    m = quick("architectures")
    assert m["parameters_digits_cnn"] < m["parameters_vgg11_digits"]
    assert all(m[f"epoch_time_s_{n}"] > 0 for n in ("digits_cnn", "vgg11_digits", "resnet8"))


def test_cifar10_resnet_fine_tunes_from_a_weight_file(quick, tmp_path_factory):
    from dllab.models import create_model

    path = tmp_path_factory.mktemp("weights") / "resnet8.pth"
    torch.save(create_model("resnet8", num_classes=1000).state_dict(), path)
    m = quick("cifar10-resnet", f"model.weights={path}")
    assert 0 <= m["test_accuracy"] <= 1 and m["parameters"] == 75_290


def test_cifar10_without_its_files_is_one_data_error(tmp_path):
    from dllab.errors import DataError
    from dllab.experiments import run_experiment

    with pytest.raises(DataError):
        run_experiment(
            "cifar10-cnn", quick=True, overrides=("data.source=cifar10", f"data.dir={tmp_path}"),
            out=str(tmp_path / "run"), quiet=True,
        )  # fmt: skip


def test_unit2_experiments_cover_every_unit2_topic():
    from dllab.experiments import list_experiments
    from dllab.syllabus import TOPICS

    covered = {t for e in list_experiments(unit=2) for t in e.topics}
    assert covered == set(TOPICS[2])


def test_inductive_bias_trains_every_model_on_both_versions_and_records_the_order(quick_runs):
    import json

    from dllab.data.mnist1d import spatial_permutation

    folder, m = quick_runs("inductive-bias")
    models = ("logistic", "mlp", "cnn", "gru", "modern_cnn")
    assert set(m) == {f"test_accuracy_{k}_{v}" for k in models for v in ("original", "shuffled")}
    assert all(0 <= value <= 1 for value in m.values())
    saved = json.loads((folder / "permutation.json").read_text())
    assert saved == spatial_permutation(40, 0).tolist()
