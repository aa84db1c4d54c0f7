"""dllab's Trainer against Keras 3 on TensorFlow, on the notes' two Keras examples.

The CIFAR CNN (conv 32-64-64 with batch norm, dense 64-10; Adam, batch 32) on 10,000 synthetic
32x32x3 images, and the dense MNIST autoencoder 784-128-64-32-64-128-784 (Adam, MSE, batch 256)
on synthetic 784-pixel images, on BENCH_THREADS threads each (default 1). Keras runs in its
own virtual environment, bench/.keras-venv, created here with `pip install keras
tensorflow-cpu` on the first run (a few minutes, about 600 MB); where that fails, the benchmark
says so and stops.

Each round trains every example for two epochs with Keras (in a fresh process) and with dllab's
Trainer, taking turns (so that machine load hits both alike); the second epoch is timed (the
first includes tracing and warm-up), on both sides by an epoch callback: fit's one-time setup
(Keras' data adapter, dllab's move of the data to the device and layout) is left out. The
figures are medians over the rounds and the ratio Keras / dllab. dllab runs with its defaults
(channels_last for the CNN on the CPU, as TensorFlow's convolutions are, and fused Adam), and
the CNN once more in NCHW for reference.
The CNN also trains in mixed precision on both sides, like for like: dllab's `amp="bf16"`
(autocast) against Keras' "mixed_bfloat16" policy; on CPUs with AMX or AVX512-BF16 units,
bfloat16 convolutions run several times faster than float32 ones. Writes
bench/results/keras.json.
"""

import json
import os
import statistics
import subprocess
import venv
from pathlib import Path

import torch

from bench import EpochTimer, save_results
from dllab.engine import Trainer, seed_everything
from dllab.models import create_model

HERE = Path(__file__).parent
VENV = HERE / ".keras-venv"
NUM_EPOCHS = 2
ROUNDS = 3
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CASES = {  # name -> (samples, batch size)
    "cifar_cnn": (10_000, 32),
    "mnist_autoencoder": (8192, 256),
}
# row label -> (case, dllab Trainer options, the Keras precision policy it is compared with)
ROWS = {
    "cifar_cnn": ("cifar_cnn", {}, "float32"),
    "cifar_cnn, NCHW": ("cifar_cnn", {"channels_last": False}, "float32"),
    "cifar_cnn, bf16": ("cifar_cnn", {"amp": "bf16"}, "mixed_bfloat16"),
    "mnist_autoencoder": ("mnist_autoencoder", {}, "float32"),
}
KERAS_RUNS = sorted({(case, policy) for case, _, policy in ROWS.values()})

KERAS_SCRIPT = """
import json, sys, time
import numpy as np
import tensorflow as tf
runs, cases, num_epochs, threads = (json.loads(a) for a in sys.argv[1:5])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
from keras import layers

rng = np.random.default_rng(0)

def cifar_cnn():
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, dtype="float32"),
    ])

def autoencoder():
    relu = [layers.Dense(n, activation="relu") for n in (128, 64)]
    code = [layers.Dense(32)]  # a linear code, as dllab's autoencoder_784
    back = [layers.Dense(n, activation="relu") for n in (64, 128)]
    output = [layers.Dense(784, activation="sigmoid")]
    return keras.Sequential([keras.Input((784,))] + relu + code + back + output)

class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []
    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.cpu = time.perf_counter(), time.process_time()
    def on_epoch_end(self, epoch, logs=None):
        self.times.append((time.perf_counter() - self.start, time.process_time() - self.cpu))

results = {}
for name, policy in runs:
    n, batch_size = cases[name]
    keras.mixed_precision.set_global_policy(policy)
    if name == "cifar_cnn":
        model = cifar_cnn()
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        X = rng.standard_normal((n, 32, 32, 3), dtype=np.float32)
        y = rng.integers(0, 10, n)
    else:
        model, loss = autoencoder(), "mse"
        X = rng.random((n, 784), dtype=np.float32)
        y = X
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    timer = EpochTimes()
    model.fit(X, y, batch_size=batch_size, epochs=num_epochs, verbose=0, callbacks=[timer])
    results[f"{name}|{policy}"] = timer.times
results["versions"] = {"keras": keras.__version__, "tensorflow": tf.__version__}
print(json.dumps(results))
"""


def keras_python() -> Path | None:
    """The venv's python with keras and tensorflow-cpu, installing them on first use."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import keras, tensorflow"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing keras and tensorflow-cpu into {VENV} (first run only)...", flush=True)
    try:
        venv.create(VENV, with_pip=True, clear=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "keras", "tensorflow-cpu"]
        subprocess.run(pip, check=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"skipped: could not install keras/tensorflow-cpu ({error})")
        return None
    return python


def dllab_last_epoch(name: str, n: int, batch_size: int, options: dict) -> tuple:
    """(wall, CPU) seconds of the last of NUM_EPOCHS epochs of `Trainer.fit`, timed as Keras'
    epochs are (EpochTimer)."""
    g = torch.Generator().manual_seed(0)
    seed_everything(0)
    if name == "cifar_cnn":
        model, loss = create_model("keras_cifar_cnn"), "cross_entropy"
        X = torch.randn(n, 3, 32, 32, generator=g)
        train_data = (X, torch.randint(0, 10, (n,), generator=g))
    else:
        model, loss = create_model("autoencoder_784"), "mse"
        X = torch.rand(n, 784, generator=g)
        train_data = (X, X)
    options = {"metrics": (), "lr": 1e-3, "quiet": True, **options}
    timer = EpochTimer()
    trainer = Trainer(model, "adam", loss, device="cpu", callbacks=[timer], **options)
    trainer.fit(train_data, num_epochs=NUM_EPOCHS, batch_size=batch_size)
    return timer.times[-1]


def keras_round(python: Path) -> dict | None:
    """Keras' epoch times for every case in a fresh process, or None when the run fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(THREADS)}
    arguments = (KERAS_RUNS, CASES, NUM_EPOCHS, THREADS)
    command = [str(python), "-c", KERAS_SCRIPT, *map(json.dumps, arguments)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"skipped: the Keras run failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    python = keras_python()
    if python is None:
        return
    torch.set_num_threads(THREADS)
    load_before = os.getloadavg()[0]
    print(
        f"load average {load_before:.2f} (1 min) on {os.cpu_count()} CPUs; {ROUNDS} rounds,"
        f" {THREADS} thread(s)"
    )
    keras_times = {f"{case}|{policy}": [] for case, policy in KERAS_RUNS}
    dllab_times = {label: [] for label in ROWS}
    versions = {}
    for round_ in range(ROUNDS):
        for side in ("keras", "dllab") if round_ % 2 == 0 else ("dllab", "keras"):
            if side == "keras":
                times = keras_round(python)
                if times is None:
                    return
                versions = times.pop("versions")
                for key, epochs in times.items():
                    keras_times[key].append(epochs[-1])
            else:
                for label, (name, options, _) in ROWS.items():
                    dllab_times[label].append(dllab_last_epoch(name, *CASES[name], options))
    rows = {}
    header = (
        f"{'example':20s} {'keras policy':>15s} {'dllab s/epoch':>14s} {'keras s/epoch':>14s}"
        f" {'keras/dllab':>12s}"
        f" {'cpu s: dllab':>13s} {'keras':>7s} {'ratio':>7s}"
    )
    print(header)
    print("-" * len(header))
    for label, (name, _, policy) in ROWS.items():
        ours, ours_cpu = (statistics.median(t[i] for t in dllab_times[label]) for i in (0, 1))
        theirs, theirs_cpu = (
            statistics.median(t[i] for t in keras_times[f"{name}|{policy}"]) for i in (0, 1)
        )
        rows[label] = {
            "keras_policy": policy,
            "dllab_s": ours,
            "keras_s": theirs,
            "ratio": theirs / ours,
            "dllab_cpu_s": ours_cpu,
            "keras_cpu_s": theirs_cpu,
            "cpu_ratio": theirs_cpu / ours_cpu,
        }
        print(
            f"{label:20s} {policy:>15s} {ours:14.3f} {theirs:14.3f} {theirs / ours:11.2f}x"
            f" {ours_cpu:13.3f} {theirs_cpu:7.3f} {theirs_cpu / ours_cpu:6.2f}x",
            flush=True,
        )
    conditions = {
        "torch": torch.__version__,
        **versions,
        "threads": THREADS,
        "cpus": os.cpu_count(),
        "load_average_1min_before": load_before,
        "load_average_1min_after": os.getloadavg()[0],
        "num_images": {name: n for name, (n, _) in CASES.items()},
        "rounds": ROUNDS,
        "statistic": "median over rounds (Keras and dllab taking turns) of the second epoch's "
        "wall and CPU (process) time",
    }
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")
    save_results("keras", {"conditions": conditions, "results": rows})


if __name__ == "__main__":
    main()
