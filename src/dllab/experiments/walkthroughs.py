"""The scratch engine's walkthroughs: backpropagation and BPTT written out.

`backprop` runs the chain rule by hand on a 2-2-1 network (Rumelhart, Hinton & Williams, 1986,
"Learning representations by back-propagating errors") beside autograd and `dllab.scratch`;
`bptt` multiplies the Jacobians dh_k/dh_{k-1} of backpropagation through time (Werbos, 1990) and
shows their norm vanish or explode with distance (Bengio, Simard & Frasconi, 1994; Pascanu,
Mikolov & Bengio, 2013, "On the difficulty of training recurrent neural networks", §2), and the
LSTM's cell-state path that avoids it (Hochreiter & Schmidhuber, 1997).
"""

from dataclasses import dataclass

import numpy as np
import torch

from dllab import scratch
from dllab.config import param
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.report import plots


@dataclass
class BackpropConfig:
    x1: float = 1.0  # the input (an XOR corner)
    x2: float = 0.0  # the second input
    target: float = 1.0  # XOR(1, 0)
    lr: float = param(0.5, gt=0)  # one gradient-descent step


# The 2-2-1 sigmoid network's starting weights, small and asymmetric so every number differs.
BACKPROP_WEIGHTS = {
    "W1": [[0.15, 0.20], [0.25, 0.30]],  # (hidden, input)
    "b1": [0.35, 0.35],
    "w2": [0.40, 0.45],  # (hidden,)
    "b2": [0.60],
}


def chain_rule(x: torch.Tensor, y: torch.Tensor, p: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """Forward and backward pass of a 2-2-1 sigmoid network with L = ½(ŷ - y)², by hand.

    Returns:
        (values of the forward pass, gradients dL/dθ for every parameter θ).
    """
    z1 = p["W1"] @ x + p["b1"]  # (2,) hidden pre-activations
    h = torch.sigmoid(z1)
    z2 = p["w2"] @ h + p["b2"]  # (1,)
    y_hat = torch.sigmoid(z2)
    loss = 0.5 * ((y_hat - y) ** 2).sum()
    dy_hat = y_hat - y  # dL/dŷ
    dz2 = dy_hat * y_hat * (1 - y_hat)  # σ'(z) = σ(z)(1 - σ(z))
    dh = dz2 * p["w2"]  # dL/dh = dL/dz2 · w2
    dz1 = dh * h * (1 - h)
    grads = {"W1": torch.outer(dz1, x), "b1": dz1, "w2": dz2 * h, "b2": dz2}
    values = {
        "z1": z1,
        "h": h,
        "z2": z2,
        "y_hat": y_hat,
        "loss": loss,
        "dL/dy_hat": dy_hat,
        "dL/dz2": dz2,
        "dL/dh": dh,
        "dL/dz1": dz1,
    }
    return values, grads


def scratch_gradients(x: np.ndarray, y: np.ndarray, weights: dict) -> dict[str, np.ndarray]:
    """The same network as `dllab.scratch` layers: Dense, Sigmoid, Dense, Sigmoid and `mse`.

    Returns:
        dL/dθ under the names of `BACKPROP_WEIGHTS`.
    """
    net = scratch.Sequential(
        scratch.Dense(2, 2), scratch.Sigmoid(), scratch.Dense(2, 1), scratch.Sigmoid()
    )
    for key, name in (("0.weight", "W1"), ("0.bias", "b1"), ("2.bias", "b2")):
        np.copyto(net.params[key], weights[name])
    np.copyto(net.params["2.weight"], [weights["w2"]])  # (1, hidden)
    y_hat = net.forward(x[None])  # (1, 1)
    _, dy_hat = scratch.mse(y_hat, y[None])  # mse = (ŷ - y)² for one output, so L = ½ mse
    net.backward(0.5 * dy_hat)
    g = net.grads
    return {"W1": g["0.weight"], "b1": g["0.bias"], "w2": g["2.weight"][0], "b2": g["2.bias"]}


@experiment(
    "backprop",
    unit=1,
    title="Backpropagation by hand: the chain rule on a 2-2-1 network",
    topics=("backpropagation",),
    config=BackpropConfig,
    quick={},
    tour={},
    tour_seconds=1,
    headline="max_abs_error_vs_autograd",
    claims=(
        Claim(
            "the chain rule by hand, autograd and the NumPy engine give the same gradients",
            lambda m: (
                max(m["max_abs_error_vs_autograd"], m["max_abs_error_scratch_vs_autograd"]) < 1e-6
            ),
        ),
        Claim(
            "one step down the gradient lowers the loss",
            lambda m: m["loss_after"] < m["loss_before"],
        ),
    ),
)
def backprop(cfg: BackpropConfig, run: Run) -> dict[str, float]:
    """One forward pass of a 2-2-1 sigmoid network, the squared-error loss, every gradient by the
    chain rule (Rumelhart, Hinton & Williams, 1986) checked against PyTorch autograd and against
    the NumPy engine `dllab.scratch` (its Dense and Sigmoid layers' backward passes), and one
    gradient-descent step that lowers the loss. The steps are written to backprop.txt."""
    x = torch.tensor([cfg.x1, cfg.x2], dtype=torch.float64)
    y = torch.tensor([cfg.target], dtype=torch.float64)
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for k, v in BACKPROP_WEIGHTS.items()
    }
    values, grads = chain_rule(x, y, {k: v.detach() for k, v in params.items()})
    autograd_loss = chain_rule(x, y, params)[0]["loss"]
    autograd_loss.backward()
    auto = {k: v.grad for k, v in params.items()}
    engine = scratch_gradients(x.numpy(), y.numpy(), BACKPROP_WEIGHTS)
    errors = {k: (grads[k] - auto[k]).abs().max().item() for k in params}
    errors_scratch = {k: np.abs(engine[k] - auto[k].numpy()).max() for k in params}
    updated = {k: (v.detach() - cfg.lr * grads[k]) for k, v in params.items()}
    loss_after = chain_rule(x, y, updated)[0]["loss"].item()
    lines = ["Forward pass"] + [f"  {k} = {v.tolist()}" for k, v in values.items()]
    lines += ["Gradients: chain rule | autograd | scratch engine | max |difference| to autograd"]
    lines += [
        f"  dL/d{k} = {grads[k].tolist()} | {auto[k].tolist()} | {engine[k].tolist()} | "
        f"{errors[k]:.2e}, {errors_scratch[k]:.2e}"
        for k in params
    ]
    lines += [
        f"Update θ <- θ - {cfg.lr} dL/dθ: loss {values['loss'].item():.6f} -> {loss_after:.6f}"
    ]
    (run.folder / "backprop.txt").write_text("\n".join(lines) + "\n")
    _draw_backprop(run, x, y, values, params, grads, loss_after)
    names = [f"{k}{list(i)}" for k in params for i in np.ndindex(*params[k].shape)]
    plots.grouped_bars(
        {
            "chain rule": torch.cat([grads[k].reshape(-1) for k in params]).numpy(),
            "autograd": torch.cat([auto[k].reshape(-1) for k in params]).numpy(),
            "scratch engine": np.concatenate([engine[k].reshape(-1) for k in params]),
        },
        names,
        run.figure("gradients"),
        "Every gradient three ways: chain rule, autograd, scratch engine",
        "dL/dθ",
    )
    return {
        "loss_before": values["loss"].item(),
        "loss_after": loss_after,
        "max_abs_error_vs_autograd": max(errors.values()),
        "max_abs_error_scratch_vs_autograd": float(max(errors_scratch.values())),
    }


def _draw_backprop(run: Run, x, y, values: dict, params: dict, grads: dict, loss_after) -> None:
    """The 2-2-1 network with every activation, weight and gradient written on it."""
    W1, w2 = params["W1"].detach(), params["w2"].detach()
    h, y_hat, dz1, dz2 = values["h"], values["y_hat"], values["dL/dz1"], values["dL/dz2"]
    layers = [
        [f"$x_{i + 1}$ = {x[i]:.2f}" for i in range(2)],
        [f"$h_{j + 1}$ = {h[j]:.3f}\n∂L/∂$z_{j + 1}$ = {dz1[j]:.3g}" for j in range(2)],
        [f"$\\hat y$ = {y_hat[0]:.3f}\ny = {y[0]:.0f}\n∂L/∂z = {dz2[0]:.3g}"],
    ]
    edges = [
        (0, i, j, f"w={W1[j, i]:.2f}\n∂={grads['W1'][j, i] + 0.0:.3g}")  # + 0.0: no "-0"
        for i in range(2)
        for j in range(2)
    ]
    edges += [(1, j, 0, f"w={w2[j]:.2f}\n∂={grads['w2'][j]:.3g}") for j in range(2)]
    title = (
        f"Backpropagation on a 2-2-1 network: L = ½(ŷ - y)² = {values['loss'].item():.4f}, "
        f"{loss_after:.4f} after one step"
    )
    plots.network_diagram(
        layers,
        edges,
        run.figure("network"),
        title,
        layer_names=("input x", "hidden h = σ(W1 x + b1)", "output ŷ = σ(w2·h + b2)"),
    )


@dataclass
class BpttConfig:
    num_steps: int = param(50, ge=3, le=200)  # sequence length T; distances 1 .. T-1
    num_hiddens: int = param(32, ge=2)  # hidden units H
    input_size: int = param(4, ge=1)  # features per step of the random inputs
    radii: tuple[float, ...] = param((0.5, 1.0, 1.5, 3.0), gt=0)  # spectral radius of W_hh
    forget_biases: tuple[float, ...] = (0.0, 1.0, 3.0)  # LSTM forget-gate biases to compare
    num_sequences: int = param(4, ge=1)  # random input sequences; norms are geometric means


def _recurrent(cell: str, cfg: BpttConfig, radius: float, forget_bias: float = 0.0):
    """A scratch RNN or LSTM whose recurrent matrix (each gate's block) has spectral radius
    `radius`, and the LSTM's forget gate bias (split over b_ih and b_hh) set to `forget_bias`."""
    rng = np.random.default_rng(0)
    H = cfg.num_hiddens
    layer = (scratch.RNN if cell == "rnn" else scratch.LSTM)(cfg.input_size, H, rng=rng)
    W = rng.standard_normal((H, H))
    W *= radius / np.abs(np.linalg.eigvals(W)).max()  # ρ(W) = max |λ| = radius
    num_gates = len(layer.params["weight_hh"]) // H
    layer.params["weight_hh"][...] = np.tile(W, (num_gates, 1))  # (G·H, H)
    if cell == "lstm":
        for key in ("bias_ih", "bias_hh"):
            layer.params[key][H : 2 * H] = forget_bias / 2  # gate order i, f, g, o
    return layer


def _jacobians(layer, x: np.ndarray) -> np.ndarray:
    """∂h_T/∂h_t for every t by one BPTT pass of the scratch engine.

    Each sequence is repeated H times and copy j backpropagates dL/dh_T = e_j, so `layer.dh`
    of copy j at step t is row j of ∂h_T/∂h_t.

    Returns:
        (N, T, H, H) Jacobians, [n, t] = ∂h_T/∂h_t of sequence n (the identity at t = T).
    """
    N, T, _ = x.shape
    H = layer.hidden_size
    layer.forward(np.repeat(x, H, axis=0))  # (N·H, T, I) -> (N·H, T, H)
    dout = np.zeros((N, H, T, H))
    dout[:, np.arange(H), -1, np.arange(H)] = 1.0  # copy j of each sequence: e_j at step T
    layer.backward(dout.reshape(N * H, T, H))
    return layer.dh.reshape(N, H, T, H).transpose(0, 2, 1, 3)  # (N, T, H rows, H cols)


def _torch_jacobians(layer, x: np.ndarray) -> np.ndarray:
    """The same Jacobians by autograd through torch's RNNCell/LSTMCell with the same weights."""
    N, T, _ = x.shape
    H = layer.hidden_size
    cell_type = torch.nn.RNNCell if isinstance(layer, scratch.RNN) else torch.nn.LSTMCell
    cell = cell_type(layer.input_size, H).double()
    cell.load_state_dict({k: torch.from_numpy(v) for k, v in layer.params.items()})
    xs = torch.from_numpy(np.repeat(x, H, axis=0))  # (N·H, T, I)
    state = torch.zeros(N * H, H, dtype=torch.float64)
    state = state if cell_type is torch.nn.RNNCell else (state, state)
    hs = []
    for t in range(T):
        state = cell(xs[:, t], state)
        h = state if cell_type is torch.nn.RNNCell else state[0]
        h.retain_grad()  # the total dL/dh_t, from step t's output and from the future
        hs.append(h)
    pick = torch.eye(H, dtype=torch.float64).repeat(N, 1)  # copy j reads h_T[j]
    (hs[-1] * pick).sum().backward()
    dh = torch.stack([h.grad for h in hs], 1)  # (N·H, T, H)
    return dh.reshape(N, H, T, H).transpose(1, 2).numpy()


def _rnn_product(layer, x: np.ndarray) -> np.ndarray:
    """∂h_T/∂h_t = J_T J_{T-1} ... J_{t+1} with J_k = ∂h_k/∂h_{k-1} = diag(1 - h_k²) W_hh
    (tanh RNN; Pascanu et al., 2013, §2.1), multiplied out step by step.

    Returns:
        (N, T, H, H) like `_jacobians`.
    """
    h = layer.forward(x)  # (N, T, H)
    N, T, H = h.shape
    W_hh = layer.params["weight_hh"]
    products = np.empty((N, T, H, H))
    products[:, -1] = np.eye(H)
    for t in range(T - 1, 0, -1):
        J_t = (1.0 - h[:, t, :, None] ** 2) * W_hh  # diag(1 - h_t²) W_hh  (N, H, H)
        products[:, t - 1] = products[:, t] @ J_t  # ∂h_T/∂h_{t-1} = ∂h_T/∂h_t · J_t
    return products


def _norm_by_distance(jacobians: np.ndarray) -> np.ndarray:
    """Spectral norms ‖∂h_T/∂h_{T-k}‖₂ for k = 0 .. T-1, geometric mean over the sequences."""
    norms = np.linalg.norm(jacobians[:, ::-1], ord=2, axis=(-2, -1))  # (N, T), k = T - 1 - t
    return np.exp(np.log(np.maximum(norms, 1e-300)).mean(axis=0))


@experiment(
    "bptt",
    unit=3,
    title="Backpropagation through time: vanishing and exploding Jacobian products",
    topics=("BPTT", "vanishing and exploding gradients"),
    config=BpttConfig,
    quick={},
    tour={},
    tour_seconds=3,
    headline=("rnn_jacobian_norm_far_rho0.5", "rnn_jacobian_norm_far_rho3"),
    claims=(
        Claim(
            "the Jacobian product vanishes for spectral radius 0.5 and explodes for 3",
            lambda m: (
                m["rnn_jacobian_norm_far_rho0.5"] < 1e-6 < 1e3 < m["rnn_jacobian_norm_far_rho3"]
            ),
        ),
        Claim(
            "the LSTM's cell path keeps the gradient when its forget gates stay open (bias 3)",
            lambda m: m["lstm_cell_path_norm_far_bias3"] > 1e3 * m["lstm_cell_path_norm_far_bias0"],
        ),
    ),
)
def bptt(cfg: BpttConfig, run: Run) -> dict[str, float]:
    """Backpropagation through time multiplies one Jacobian per step: the error reaching h_t from
    h_T is ∂h_T/∂h_t = Π_k diag(1 - h_k²) W_hh for a tanh RNN (Werbos, 1990; Pascanu et al.,
    2013). With the recurrent matrix's spectral radius below 1 its norm shrinks exponentially
    with the distance T - t (vanishing gradients, Bengio et al., 1994); well above 1 it grows
    (exploding gradients). The product is multiplied out by hand, taken from the scratch
    engine's BPTT (`dh`), and from PyTorch autograd on the same weights: all three agree. An LSTM
    with the same recurrent matrices stays bounded, and its cell state c_{t-1} -> c_t carries
    the error through the forget gate alone: ∂c_T/∂c_t along that path is Π diag(f_k), which a
    forget-gate bias near 1 keeps from vanishing (Gers et al., 2000)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((cfg.num_sequences, cfg.num_steps, cfg.input_size))  # (N, T, I)
    distance = np.arange(cfg.num_steps)  # k = T - t
    far = cfg.num_steps - 1
    metrics, curves, errors = {}, {"rnn": {}, "lstm": {}}, []
    for cell in ("rnn", "lstm"):
        for radius in cfg.radii:
            layer = _recurrent(cell, cfg, radius, forget_bias=1.0)
            jac = _jacobians(layer, x)
            reference = _torch_jacobians(layer, x)
            errors.append(np.abs(jac - reference).max() / np.abs(reference).max())
            if cell == "rnn":
                product = _rnn_product(layer, x)
                metrics["max_rel_error_product_vs_bptt"] = max(
                    metrics.get("max_rel_error_product_vs_bptt", 0.0),
                    np.abs(product - jac).max() / np.abs(jac).max(),
                )
            norms = _norm_by_distance(jac)
            curves[cell][f"spectral radius ρ(W_hh) = {radius:g}"] = (distance[1:], norms[1:])
            metrics[f"{cell}_jacobian_norm_far_rho{radius:g}"] = norms[far]
    cell_path = {}
    for bias in cfg.forget_biases:
        layer = _recurrent("lstm", cfg, 1.0, forget_bias=bias)
        layer.forward(x)
        f = np.stack([cache[1] for cache in layer.cache[2]], axis=1)  # (N, T, H) forget gates
        product = np.cumprod(f[:, :0:-1], axis=1)  # Π_{k=T-d+1..T} f_k for d = 1 .. T-1
        norms = np.exp(np.log(product.max(axis=2)).mean(axis=0))  # ‖diag(Π f)‖₂ = max entry
        cell_path[f"LSTM cell path Π f, forget-gate bias {bias:g}"] = (distance[1:], norms)
        metrics[f"lstm_cell_path_norm_far_bias{bias:g}"] = norms[-1]
    rnn_one = curves["rnn"].get("spectral radius ρ(W_hh) = 1")
    if rnn_one is not None:
        cell_path[r"tanh RNN, $\Vert \partial h_T / \partial h_t \Vert_2$, ρ = 1"] = rnn_one
    metrics["max_rel_error_dh_vs_autograd"] = max(errors)
    metrics["distance_far"] = far
    for cell, name in (("rnn", "tanh RNN"), ("lstm", "LSTM (forget bias 1)")):
        plots.lines(
            curves[cell],
            run.figure(f"{cell}_jacobian_norms"),
            f"{name}: norm of the Jacobian product " + r"$\partial h_T / \partial h_t$",
            f"distance k = T - t (steps back in time, T = {cfg.num_steps})",
            r"$\Vert \partial h_T / \partial h_{T-k} \Vert_2$ (spectral norm)",
            log_y=True,
            hline=(1.0, "norm 1"),
        )
    plots.lines(
        cell_path,
        run.figure("lstm_cell_path"),
        "LSTM cell state: the error flows back through the forget gates only",
        "distance k = T - t (steps back in time)",
        r"$\Vert \partial c_T / \partial c_{T-k} \Vert_2$ along the cell path",
        log_y=True,
    )
    return {k: float(v) for k, v in metrics.items()}
