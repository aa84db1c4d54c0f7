"""Every documented hint appears because its mistake was made: each entry of MISTAKES is student
code written with exactly that mistake (the rest of the exercise is the reference), and the
checks must fail it and show that hint. Written here, apart from the package, so that a hint is
proven to recognise the mistake, not the checker's own description of it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dllab.exercises import get_exercise, list_exercises
from dllab.exercises.checking import run_checks


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --------------------------------------------------------------------------------- unit I


def perceptron(mistake):
    def update(w, b, x, y, lr):
        error = y - float(np.dot(w, x) + b > 0)
        if mistake == "sign":
            return w - lr * error * x, b - lr * error
        if mistake == "bias-not-updated":
            return w + lr * error * x, b
        if mistake == "always-update":  # Hebb's rule, whatever ŷ is
            return w + lr * y * x, b + lr * y
        return w + lr * error * x, b + lr * error

    return {"perceptron_update": update}


def activations(mistake):
    ref = get_exercise("activations").reference

    def forward(kind, x):
        if kind == "sigmoid" and mistake == "sigmoid-overflow":
            return 1 / (1 + np.exp(-x))
        return ref["activation_forward"](kind, x)

    def backward(kind, x, dout):
        if kind == "tanh" and mistake == "tanh-square":
            return dout * (1 - np.tanh(x))
        if kind == "elu" and mistake == "elu-negative":
            return dout * np.where(x > 0, 1.0, np.exp(x) - 1)
        return ref["activation_backward"](kind, x, dout)

    return {"activation_forward": forward, "activation_backward": backward}


def softmax_ce(mistake):
    def softmax(z):
        if mistake == "no-max-shift":
            return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        if mistake == "wrong-axis":
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def cross_entropy(z, y):
        p = softmax(z)
        B = len(y)
        loss = -np.log(p[np.arange(B), y]).mean()
        dz = p.copy()
        dz[np.arange(B), y] -= 1
        return (loss * B, dz) if mistake == "not-averaged" else (loss, dz / B)

    return {"softmax": softmax, "cross_entropy": cross_entropy}


def dense(mistake):
    def backward(dout, x, W):
        dW = x.T @ dout if mistake == "weight-transposed" else dout.T @ x
        db = dout.mean(0) if mistake == "bias-not-summed" else dout.sum(0)
        return dout @ W, dW, db

    return {"dense_forward": lambda x, W, b: x @ W.T + b, "dense_backward": backward}


def xor_backprop(mistake):
    def gradients(X, y, W1, b1, W2, b2):
        h = sigmoid(X @ W1.T + b1)
        y_hat = sigmoid(h @ W2.T + b2)
        B = 1 if mistake == "not-averaged" else len(X)
        d2 = (y_hat - y) / B
        if mistake != "output-derivative":
            d2 = d2 * y_hat * (1 - y_hat)
        d1 = d2 @ W2
        if mistake != "hidden-derivative":
            d1 = d1 * h * (1 - h)
        loss = 0.5 * ((y_hat - y) ** 2).mean()
        return loss, d1.T @ X, d1.sum(0), d2.T @ h, d2.sum(0)

    return {"xor_net_gradients": gradients}


def momentum(mistake):
    def step(param, grad, velocity, lr, mu, nesterov=False):
        if mistake == "velocity-with-lr":
            velocity = mu * velocity - lr * grad
            return param + velocity, velocity
        new = mu * velocity + grad
        if mistake == "old-velocity":
            return param - lr * velocity, new
        use_nesterov = nesterov and mistake != "nesterov-ignored"
        return param - lr * (grad + mu * new if use_nesterov else new), new

    return {"sgd_momentum_step": step}


def rmsprop(mistake):
    def step(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
        square = grad if mistake == "average-of-g" else grad**2
        s = alpha * square_avg + (1 - alpha) * square
        if mistake == "eps-inside-sqrt":
            return param - lr * grad / np.sqrt(s + eps), s
        if mistake == "no-sqrt":
            return param - lr * grad / (s + eps), s
        return param - lr * grad / (np.sqrt(s) + eps), s

    return {"rmsprop_step": step}


def adam(mistake):
    def step(param, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * (grad if mistake == "v-of-g" else grad**2)
        t = t + 1 if mistake == "t-off-by-one" else t
        if mistake == "no-bias-correction":
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return param - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v

    return {"adam_step": step}


# -------------------------------------------------------------------------------- unit II


def conv_loop(x, W, b, stride, padding, flip=False):
    """A student's direct convolution: four nested loops' worth of windows."""
    if flip:
        W = W[:, :, ::-1, ::-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    B, C, H, Wd = xp.shape
    O, _, kH, kW = W.shape
    Ho, Wo = (H - kH) // stride + 1, (Wd - kW) // stride + 1
    out = np.zeros((B, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride : i * stride + kH, j * stride : j * stride + kW]
            out[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv_forward(mistake):
    def forward(x, W, b, stride=1, padding=0):
        if mistake == "output-size":
            return conv_loop(x, W, b, stride, 0)  # forgets the padding
        return conv_loop(x, W, b, stride, padding, flip=mistake == "flipped-kernel")

    return {"conv2d_forward": forward}


def conv_backward(mistake):
    def backward(dout, x, W, stride=1, padding=0):
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        dxp, dW = np.zeros_like(xp), np.zeros_like(W)
        kH, kW = W.shape[2:]
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows, cols = slice(i * stride, i * stride + kH), slice(j * stride, j * stride + kW)
                dW += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
                dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], W, axes=([1], [0]))
        B = len(x)
        db = dout.sum(axis=(0, 2, 3))
        if mistake == "bias-not-summed":
            db = db / B
        if mistake == "weight-not-summed":
            dW = dW / B
        H, Wd = x.shape[2:]
        dx = (
            dxp
            if mistake == "padding-not-cropped"
            else dxp[:, :, padding : padding + H, padding : padding + Wd]
        )
        return dx, dW, db

    return {"conv2d_backward": backward}


def pool_windows(x, size, stride):
    B, C, H, W = x.shape
    for i in range((H - size) // stride + 1):
        for j in range((W - size) // stride + 1):
            yield i, j, (slice(i * stride, i * stride + size), slice(j * stride, j * stride + size))


def maxpool(mistake):
    ref = get_exercise("maxpool-backward").reference

    def backward(dout, x, size, stride):
        dx = np.zeros_like(x)
        for b, c in np.ndindex(x.shape[:2]):
            for i, j, (rows, cols) in pool_windows(x, size, stride):
                window = x[b, c, rows, cols]
                if mistake == "every-position":
                    share = np.ones_like(window)
                elif mistake == "all-ties":
                    share = (window == window.max()).astype(float)
                else:
                    share = np.zeros(window.size)
                    share[window.argmax()] = 1.0
                    share = share.reshape(window.shape)
                if mistake == "overlap-overwrite":
                    dx[b, c, rows, cols] = share * dout[b, c, i, j]
                else:
                    dx[b, c, rows, cols] += share * dout[b, c, i, j]
        return dx

    return {"maxpool_forward": ref["maxpool_forward"], "maxpool_backward": backward}


def avgpool(mistake):
    ref = get_exercise("avg-global-pool").reference

    def backward(dout, x_shape, size, stride):
        dx = np.zeros(x_shape)
        area = 1 if mistake == "not-divided-by-area" else size * size
        for i, j, (rows, cols) in pool_windows(dx, size, stride):
            share = dout[:, :, i, j][:, :, None, None] / area
            if mistake == "overlap-overwrite":
                dx[:, :, rows, cols] = share
            else:
                dx[:, :, rows, cols] += share
        return dx

    def global_backward(dout, x_shape):
        H, W = x_shape[2:]
        scale = 1 if mistake == "global-not-divided" else H * W
        return np.broadcast_to(dout[:, :, None, None] / scale, x_shape).copy()

    return {**ref, "avgpool_backward": backward, "global_avgpool_backward": global_backward}


def batchnorm(mistake):
    def forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        axes = (0,) if mistake == "per-position" else (0, *range(2, x.ndim))
        if training:
            mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
            n = x.size // x.shape[1]
            unbiased = 1 if mistake == "biased-running-var" else n / (n - 1)
            channel = (0, *range(2, x.ndim))
            running_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=channel)
            running_var = (1 - momentum) * running_var + momentum * x.var(axis=channel) * unbiased
        else:
            mean, var = running_mean.reshape(shape), running_var.reshape(shape)
        x_hat = (x - mean) / np.sqrt(var + eps)
        return gamma.reshape(shape) * x_hat + beta.reshape(shape), running_mean, running_var

    def backward(dout, x, gamma, eps=1e-5):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        axes = (0, *range(2, x.ndim))
        inv_std = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
        x_hat = (x - x.mean(axis=axes, keepdims=True)) * inv_std
        dx_hat = dout * gamma.reshape(shape)
        if mistake == "backward-no-stats":
            dx = dx_hat * inv_std
        else:
            mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)
            dx = inv_std * (
                dx_hat - mean_dx_hat - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)
            )
        return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)

    return {"batchnorm_forward": forward, "batchnorm_backward": backward}


def dropout(mistake):
    def forward(x, p, training, rng):
        if not training and mistake != "eval-drops":
            return x, np.ones_like(x)
        draws = rng.random(x.shape)
        keep = draws < p if mistake == "keep-p" else draws >= p
        mask = keep if mistake == "no-rescale" else keep / (1 - p) if p < 1 else np.zeros(x.shape)
        return x * mask, mask

    return {"dropout_forward": forward, "dropout_backward": lambda dout, mask: dout * mask}


def mixing(mistake):
    def mixup(x, y, perm, lam):
        if mistake == "mixup-swapped":
            lam = 1 - lam
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]

    def cutmix(x, y, perm, box):
        top, left, height, width = box
        if mistake == "box-transposed":
            height, width = width, height
        mixed = x.copy()
        mixed[:, :, top : top + height, left : left + width] = x[perm][
            :, :, top : top + height, left : left + width
        ]
        lam = 1 - box[2] * box[3] / (x.shape[2] * x.shape[3])
        if mistake == "cutmix-label-weight":
            lam = 1 - lam
        return mixed, lam * y + (1 - lam) * y[perm]

    return {"mixup": mixup, "cutmix": cutmix}


def residual(mistake):
    def shortcut(x, out_channels, stride, option, W=None):
        B, C = x.shape[:2]
        if stride == 1 and out_channels == C:
            return x
        step = 1 if mistake == "no-subsample" else stride
        sub = x[:, :, ::step, ::step]
        if option == "B":
            return np.einsum("bchw,oc->bohw", sub, W[:, :, 0, 0])
        zeros = np.zeros((B, out_channels - C, *sub.shape[2:]))
        parts = [zeros, sub] if mistake == "pad-front" else [sub, zeros]
        return np.concatenate(parts, axis=1)

    def output_shape(in_shape, out_channels, stride):
        B, C, H, W = in_shape
        if mistake == "output-size-floor":
            return (B, out_channels, H // stride, W // stride)
        return (B, out_channels, -(-H // stride), -(-W // stride))

    return {"shortcut": shortcut, "residual_output_shape": output_shape}


# ------------------------------------------------------------------------------- unit III


def rnn(mistake):
    def forward(x, h0, W_xh, W_hh, b):
        h, hs = h0, []
        for t in range(x.shape[1]):
            h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b)
            hs.append(h)
        return np.stack(hs, axis=1)

    def backward(dhs, x, h0, W_xh, W_hh, b):
        hs = forward(x, h0, W_xh, W_hh, b)
        dx, dW_xh, dW_hh, db = (
            np.zeros_like(x),
            np.zeros_like(W_xh),
            np.zeros_like(W_hh),
            np.zeros_like(b),
        )
        carry = np.zeros_like(h0)
        for t in reversed(range(x.shape[1])):
            dh = dhs[:, t] + (0 if mistake == "no-future" else carry)
            da = dh * (1 - hs[:, t] ** 2)
            h_prev = h0 if t == 0 else hs[:, t - 1]
            dW_xh += da.T @ x[:, t]
            dW_hh += da.T @ (hs[:, t] if mistake == "h-t-for-h-t-minus-1" else h_prev)
            db += da.sum(0)
            dx[:, t] = da @ W_xh
            carry = da @ W_hh
        return dx, carry, dW_xh, dW_hh, db

    return {"rnn_forward": forward, "rnn_backward": backward}


def lstm(mistake):
    def forward(x, h, c, W_ih, W_hh, b):
        a = x @ W_ih.T + h @ W_hh.T + b
        if mistake == "gate-order":  # reads i, f, o, g
            a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
        else:
            a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
        c_new = f * c + i * g
        h_new = o * c_new if mistake == "tanh-c" else o * np.tanh(c_new)
        return h_new, c_new, (x, h, c, W_ih, W_hh, i, f, g, o, c_new)

    def backward(dh_new, dc_new, cache):
        x, h, c, W_ih, W_hh, i, f, g, o, c_new = cache
        tanh_c = np.tanh(c_new)
        dc = dc_new if mistake == "cell-no-h-path" else dc_new + dh_new * o * (1 - tanh_c**2)
        da = np.concatenate(
            [
                dc * g * i * (1 - i),
                dc * c * f * (1 - f),
                dc * i * (1 - g**2),
                dh_new * tanh_c * o * (1 - o),
            ],
            axis=1,
        )
        return da @ W_ih, da @ W_hh, dc * f, da.T @ x, da.T @ h, da.sum(0)

    return {"lstm_cell_forward": forward, "lstm_cell_backward": backward}


def gru(mistake):
    def forward(x, h, W_ih, W_hh, b_ih, b_hh):
        gi, gh = np.split(x @ W_ih.T + b_ih, 3, axis=1), np.split(h @ W_hh.T + b_hh, 3, axis=1)
        order = (1, 0, 2) if mistake == "gate-order" else (0, 1, 2)
        r, z = (sigmoid(gi[k] + gh[k]) for k in order[:2])
        if mistake == "reset-before-product":
            W_hn, b_hn = np.split(W_hh, 3)[2], np.split(b_hh, 3)[2]
            n = np.tanh(gi[2] + (r * h) @ W_hn.T + b_hn)
        else:
            n = np.tanh(gi[2] + r * gh[2])
        if mistake == "update-convention":
            return z * n + (1 - z) * h
        return (1 - z) * n + z * h

    return {"gru_cell_forward": forward}


def clipping(mistake):
    def by_norm(grads, max_norm):
        if mistake == "per-tensor":
            return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]
        norm = np.sqrt(sum((g**2).sum() for g in grads))
        scale = max_norm / norm if mistake == "always-rescale" else min(1.0, max_norm / norm)
        return [g * scale for g in grads]

    def by_value(grads, v):
        if mistake == "value-one-sided":
            return [np.minimum(g, v) for g in grads]
        return [np.clip(g, -v, v) for g in grads]

    return {"clip_by_norm": by_norm, "clip_by_value": by_value}


def truncated(mistake):
    def reach(T, k, t):
        s = np.arange(T)
        if mistake == "sliding-window":
            return (s > t - k) & (s <= t)
        start = (t // k) * k
        if mistake == "includes-future":
            return s // k == t // k
        first = start - 1 if mistake == "chunk-off-by-one" else start
        return (s >= first) & (s <= t)

    return {"tbptt_reach": reach}


# ------------------------------------------------------------------------------- unit IV-V


def gan_losses(mistake):
    def d_loss(real, fake):
        if mistake == "labels-swapped":
            return F.softplus(real).mean() + F.softplus(-fake).mean()
        if mistake == "probabilities":
            return (
                -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
            )
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(fake):
        if mistake == "minimax":
            return torch.log(1 - torch.sigmoid(fake)).mean()
        return F.softplus(-fake).mean()

    return {"discriminator_loss": d_loss, "generator_loss": g_loss}


def penalty(mistake):
    def gradient_penalty(critic, real, fake, eps):
        if mistake == "eps-swapped":
            eps = 1 - eps
        x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
        create = mistake != "no-create-graph"
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create)
        if mistake == "batch-norm":
            return (grad.norm() - 1) ** 2
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    return {"gradient_penalty": gradient_penalty}


def coverage(mistake):
    def mode_coverage(X, centres, std):
        distance = np.linalg.norm(X[:, None] - centres[None], axis=2)
        nearest, closest = distance.argmin(1), distance.min(1)
        good = closest <= (std if mistake == "threshold" else 3 * std)
        captured = np.unique(nearest) if mistake == "no-quality" else np.unique(nearest[good])
        return len(captured), good.mean()

    return {"mode_coverage": mode_coverage}


def vae(mistake):
    def reparameterize(mu, logvar, eps):
        std = logvar.exp() if mistake == "std-from-logvar" else (0.5 * logvar).exp()
        return mu + std * eps

    def gaussian_kl(mu, logvar):
        if mistake == "logvar-as-log-sigma":  # logvar read as log σ
            terms = 1 + 2 * logvar - mu**2 - (2 * logvar).exp()
        else:
            terms = 1 + logvar - mu**2 - logvar.exp()
        return -0.5 * (terms.mean(1) if mistake == "kl-mean" else terms.sum(1))

    return {"reparameterize": reparameterize, "gaussian_kl": gaussian_kl}


def denoising(mistake):
    def gaussian(X, std, rng):
        return X + (std**2 if mistake == "variance-as-std" else std) * rng.standard_normal(X.shape)

    def masking(X, fraction, rng):
        p = 1 - fraction if mistake == "mask-keep" else fraction
        return np.where(rng.random(X.shape) < p, 0.0, X)

    def salt_and_pepper(X, fraction, rng):
        hit = rng.random(X.shape) < fraction
        value = 1.0 if mistake == "salt-and-pepper" else (rng.random(X.shape) < 0.5).astype(float)
        return np.where(hit, value, X)

    return {
        "gaussian_noise": gaussian,
        "masking_noise": masking,
        "salt_and_pepper": salt_and_pepper,
    }


def sparse(mistake):
    def kl(rho, h):
        q = h.mean(0)
        if mistake == "reversed-kl":
            return float((q * np.log(q / rho) + (1 - q) * np.log((1 - q) / (1 - rho))).sum())
        return float((rho * np.log(rho / q) + (1 - rho) * np.log((1 - rho) / (1 - q))).sum())

    def backward(rho, h):
        q = h.mean(0)
        grad = (-rho / q + (1 - rho) / (1 - q)) * np.ones_like(h)
        if mistake == "sign":
            return -grad / len(h)
        return grad if mistake == "no-batch-mean" else grad / len(h)

    return {"sparsity_kl": kl, "sparsity_kl_backward": backward}


MISTAKES = {  # exercise -> (student code with a given mistake, the mistakes it can make)
    "perceptron-rule": (perceptron, ("sign", "bias-not-updated", "always-update")),
    "activations": (activations, ("sigmoid-overflow", "tanh-square", "elu-negative")),
    "softmax-cross-entropy": (softmax_ce, ("no-max-shift", "wrong-axis", "not-averaged")),
    "dense-backward": (dense, ("weight-transposed", "bias-not-summed")),
    "xor-backprop": (xor_backprop, ("output-derivative", "hidden-derivative", "not-averaged")),
    "sgd-momentum": (momentum, ("velocity-with-lr", "old-velocity", "nesterov-ignored")),
    "rmsprop": (rmsprop, ("eps-inside-sqrt", "average-of-g", "no-sqrt")),
    "adam": (adam, ("no-bias-correction", "t-off-by-one", "v-of-g")),
    "conv2d-forward": (conv_forward, ("flipped-kernel", "output-size")),
    "conv2d-backward": (
        conv_backward,
        ("bias-not-summed", "weight-not-summed", "padding-not-cropped"),
    ),
    "maxpool-backward": (maxpool, ("every-position", "all-ties", "overlap-overwrite")),
    "avg-global-pool": (
        avgpool,
        ("not-divided-by-area", "overlap-overwrite", "global-not-divided"),
    ),
    "batchnorm": (batchnorm, ("biased-running-var", "per-position", "backward-no-stats")),
    "dropout": (dropout, ("no-rescale", "keep-p", "eval-drops")),
    "mixup-cutmix": (mixing, ("mixup-swapped", "cutmix-label-weight", "box-transposed")),
    "residual-shortcut": (residual, ("pad-front", "no-subsample", "output-size-floor")),
    "rnn-bptt": (rnn, ("h-t-for-h-t-minus-1", "no-future")),
    "lstm-cell": (lstm, ("gate-order", "tanh-c", "cell-no-h-path")),
    "gru-cell": (gru, ("update-convention", "reset-before-product", "gate-order")),
    "gradient-clipping": (clipping, ("per-tensor", "always-rescale", "value-one-sided")),
    "truncated-bptt": (truncated, ("sliding-window", "includes-future", "chunk-off-by-one")),
    "gan-losses": (gan_losses, ("labels-swapped", "minimax", "probabilities")),
    "gradient-penalty": (penalty, ("batch-norm", "eps-swapped", "no-create-graph")),
    "mode-coverage": (coverage, ("threshold", "no-quality")),
    "vae-reparameterization": (vae, ("std-from-logvar", "logvar-as-log-sigma", "kl-mean")),
    "denoising-corruptions": (denoising, ("variance-as-std", "mask-keep", "salt-and-pepper")),
    "sparse-kl": (sparse, ("reversed-kl", "no-batch-mean", "sign")),
}
CASES = [(name, key) for name, (_, keys) in MISTAKES.items() for key in keys]


def test_every_documented_hint_has_its_mistake_here():
    documented = {(e.name, key) for e in list_exercises() for key in e.hints}
    assert documented == set(CASES)


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{n}:{k}" for n, k in CASES])
def test_the_mistake_fails_its_checks_and_shows_its_hint(name, key):
    exercise = get_exercise(name)
    make, _ = MISTAKES[name]
    functions = {**exercise.reference, **make(key)}
    outcomes = run_checks(exercise, functions, behaviour=False)
    failed = [o for o in outcomes if not o.passed]
    assert failed, f"{name}: the mistake {key!r} passed every check"
    shown = {hint for o in failed for hint in o.hints}
    assert exercise.hints[key].text in shown, [(o.name, o.message, o.hints) for o in failed]


@pytest.mark.parametrize("name", list(MISTAKES))
def test_the_correct_code_written_here_passes_and_shows_no_hint(name):
    """The same student code without a mistake passes: the variants differ by the mistake only."""
    exercise = get_exercise(name)
    make, _ = MISTAKES[name]
    outcomes = run_checks(exercise, {**exercise.reference, **make(None)}, behaviour=False)
    assert [(o.name, o.message) for o in outcomes if not o.passed] == []
