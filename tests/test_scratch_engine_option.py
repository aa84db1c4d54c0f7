"""`--set engine=scratch`: the unit I networks train in the NumPy engine from the same initial
weights as in PyTorch and reach the same accuracy; `scratch.from_torch` builds their twins."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from dllab import scratch
from dllab.config import apply_overrides
from dllab.errors import ConfigError
from dllab.experiments import get_experiment, run_experiment
from dllab.models import create_model


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    metrics = {}
    for name in ("perceptron-xor", "digits-mlp"):
        folder = run_experiment(
            name, quick=True, overrides=("engine=scratch",), out=str(root / name), quiet=True
        )
        metrics[name] = folder, json.loads((folder / "metrics.json").read_text())
    return metrics


@pytest.mark.slow
def test_xor_networks_reach_the_same_accuracy_in_both_engines(runs):
    folder, m = runs["perceptron-xor"]
    for model in ("perceptron", "mlp"):
        for gate in ("xor", "xnor"):
            assert f"{model}_{gate}_accuracy" in m and f"scratch_{model}_{gate}_accuracy" in m
    assert m["scratch_perceptron_and_accuracy"] == m["scratch_perceptron_or_accuracy"] == 1.0
    assert m["scratch_perceptron_xor_accuracy"] <= 0.75
    assert m["scratch_mlp_xor_accuracy"] == m["mlp_xor_accuracy"] == 1.0
    assert m["scratch_mlp_xnor_accuracy"] == m["mlp_xnor_accuracy"] == 1.0
    # full-batch Adam from the same weights: the same initialisations get stuck
    assert m["scratch_mlp_xor_solved_fraction"] == m["mlp_xor_solved_fraction"]
    assert (folder / "figures" / "engines.png").exists()


@pytest.mark.slow
def test_the_digits_mlp_reaches_the_same_accuracy_in_both_engines(runs):
    folder, m = runs["digits-mlp"]
    assert m["test_accuracy"] > 0.85 and m["scratch_test_accuracy"] > 0.85
    assert abs(m["scratch_test_accuracy"] - m["test_accuracy"]) < 0.04
    assert abs(m["scratch_train_loss"] - m["train_loss"]) < 0.1 * m["train_loss"]
    assert (folder / "figures" / "engines_loss.png").exists()


def test_an_unknown_engine_is_a_config_error():
    config = get_experiment("digits-mlp").default_config()
    with pytest.raises(ConfigError, match="engine"):
        apply_overrides(config, ["engine=numpy"])


@pytest.mark.parametrize("name", ["perceptron", "xor_mlp", "digits_mlp"])
def test_from_torch_twins_compute_what_the_registered_models_compute(name):
    model = create_model(name).eval()
    net = scratch.from_torch(model)
    assert not net.training
    x = torch.randn(6, model.net[1].in_features)
    with torch.no_grad():
        expected = model(x).double().numpy()
    np.testing.assert_allclose(net.forward(x.double().numpy()), expected, rtol=1e-5, atol=1e-6)


def test_from_torch_twins_have_torch_gradients():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Flatten(),
        nn.Linear(6, 5),
        nn.BatchNorm1d(5),
        nn.LeakyReLU(0.2),
        nn.Linear(5, 4),
        nn.ELU(0.5),
        nn.Dropout(0.0),
        nn.Linear(4, 3),
        nn.Tanh(),
        nn.Linear(3, 3),
        nn.Sigmoid(),
        nn.Identity(),
    ).double()
    net = scratch.from_torch(module)
    assert [type(layer).__name__ for layer in net.layers][:4] == [
        "Flatten",
        "Dense",
        "BatchNorm1D",
        "LeakyReLU",
    ]
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    scratch.check_against_torch(net, module, x)


@pytest.mark.parametrize(
    "module, message",
    [
        (nn.Sequential(nn.Conv2d(1, 2, 3)), "no scratch twin for Conv2d"),
        (nn.Sequential(nn.Flatten(2), nn.Linear(3, 1)), "nn.Flatten()"),
    ],
)
def test_from_torch_refuses_layers_without_a_twin(module, message):
    with pytest.raises(ConfigError, match=message):
        scratch.from_torch(module)


def test_fit_follows_a_learning_rate_schedule_step_by_step():
    rng = np.random.default_rng(0)
    net = scratch.Sequential(scratch.Dense(3, 2, rng=rng))
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    before = net.params["0.weight"].copy()
    seen = []
    sgd = scratch.SGD(net, lr=1.0)

    def frozen(step):
        seen.append(step)
        return 0.0

    scratch.fit(net, scratch.softmax_cross_entropy, sgd, X, y, 3, 4, rng, lr_schedule=frozen)
    assert seen == list(range(9))  # 3 epochs of ceil(10 / 4) = 3 steps
    np.testing.assert_array_equal(net.params["0.weight"], before)  # lr 0 never moves a weight
