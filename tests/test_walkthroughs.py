"""The scratch engine's walkthroughs: backprop's three gradient columns agree, and BPTT's
Jacobian products vanish or explode with the recurrent weights' scale, as the notes claim."""

import numpy as np
import pytest

from dllab.experiments.walkthroughs import (
    BpttConfig,
    _jacobians,
    _recurrent,
    _rnn_product,
    _torch_jacobians,
)


@pytest.fixture
def runs(quick_runs):
    return {name: quick_runs(name) for name in ("backprop", "bptt")}


def test_backprop_scratch_column_equals_the_chain_rule_and_autograd(runs):
    folder, m = runs["backprop"]
    assert m["max_abs_error_vs_autograd"] < 1e-12
    assert m["max_abs_error_scratch_vs_autograd"] < 1e-12
    assert m["loss_after"] < m["loss_before"]
    assert "scratch engine" in (folder / "backprop.txt").read_text()
    assert (folder / "figures" / "gradients.png").exists()


def test_rnn_jacobian_products_vanish_with_small_and_explode_with_large_weights(runs):
    folder, m = runs["bptt"]
    assert m["distance_far"] == 49
    far = [m[f"rnn_jacobian_norm_far_rho{r:g}"] for r in BpttConfig().radii]
    assert far == sorted(far)  # a larger spectral radius keeps more of the gradient
    assert m["rnn_jacobian_norm_far_rho0.5"] < 1e-10  # vanishing
    assert m["rnn_jacobian_norm_far_rho3"] > 1e4  # exploding
    for name in ("rnn_jacobian_norms", "lstm_jacobian_norms", "lstm_cell_path"):
        assert (folder / "figures" / f"{name}.png").exists()


def test_the_lstm_stays_bounded_and_its_cell_path_is_the_forget_gates(runs):
    _, m = runs["bptt"]
    assert m["lstm_jacobian_norm_far_rho3"] < 10 < m["rnn_jacobian_norm_far_rho3"]
    biases = [m[f"lstm_cell_path_norm_far_bias{b:g}"] for b in BpttConfig().forget_biases]
    assert biases == sorted(biases) and biases[-1] > 0.05 and biases[0] < 1e-8
    assert all(0 < b <= 1 for b in biases)  # a product of forget gates in (0, 1)


def test_bptt_dh_matches_autograd_and_the_written_out_product(runs):
    _, m = runs["bptt"]
    # float64 over 50 steps of Jacobians with norms up to 1e6 (ρ = 3): the BLAS' summation
    # order moves the last digits by ~1e-9 from one CPU to another
    assert m["max_rel_error_dh_vs_autograd"] < 1e-8
    assert m["max_rel_error_product_vs_bptt"] < 1e-8


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("num_steps", [3, 7])
def test_short_sequences_give_the_same_jacobians_three_ways(cell, num_steps):
    cfg = BpttConfig(num_steps=num_steps, num_hiddens=5, input_size=2)
    layer = _recurrent(cell, cfg, radius=1.2, forget_bias=1.0)
    x = np.random.default_rng(0).standard_normal((2, num_steps, 2))
    jac = _jacobians(layer, x)  # (N, T, H, H)
    np.testing.assert_allclose(jac[:, -1], np.broadcast_to(np.eye(5), (2, 5, 5)))
    np.testing.assert_allclose(jac, _torch_jacobians(layer, x), rtol=1e-10, atol=1e-12)
    if cell == "rnn":
        np.testing.assert_allclose(jac, _rnn_product(layer, x), rtol=1e-10, atol=1e-12)
