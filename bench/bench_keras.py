"""dllab's Trainer against Keras 3 on TensorFlow, on the notes' two Keras examples.

The CIFAR CNN (conv 32-64-64 with batch norm, dense 64-10; Adam, batch 32) on synthetic
32x32x3 images, and the dense MNIST autoencoder 784-128-64-32-64-128-784 (Adam, MSE, batch 256)
on synthetic 784-pixel images, both trained for a few epochs on one thread each. Keras runs in
its own virtual environment, bench/.keras-venv, created here with `pip install keras
tensorflow-cpu` on the first run (a few minutes, about 600 MB); where that fails, the benchmark
says so and stops. The figure is the median epoch time after the first epoch (which includes
tracing), and the ratio Keras / dllab; the CNN is also timed with dllab's channels_last option
(TensorFlow's convolutions are channels-last). Writes bench/results/keras.json.
"""

import json
import os
import subprocess
import venv
from pathlib import Path

import torch

from dllab.engine import Trainer, seed_everything
from dllab.models import create_model

HERE = Path(__file__).parent
VENV = HERE / ".keras-venv"
OUT = HERE / "results" / "keras.json"
NUM_EPOCHS = 4
CASES = {  # name -> (samples, batch size)
    "cifar_cnn": (2048, 32),
    "mnist_autoencoder": (8192, 256),
}

KERAS_SCRIPT = """
import json, sys, time
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
from keras import layers

cases, num_epochs = json.loads(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)

def cifar_cnn():
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10),
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
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)

results = {}
for name, (n, batch_size) in cases.items():
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
    results[name] = timer.times
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


def dllab_epoch_times(name: str, n: int, batch_size: int, channels_last: bool) -> list[float]:
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
    options = {"channels_last": channels_last, "metrics": (), "lr": 1e-3, "quiet": True}
    trainer = Trainer(model, "adam", loss, device="cpu", **options)
    history = trainer.fit(train_data, num_epochs=NUM_EPOCHS, batch_size=batch_size)
    cumulative = [0.0] + history.history["time"]
    return [b - a for a, b in zip(cumulative, cumulative[1:])]


def median_after_first(times: list[float]) -> float:
    rest = sorted(times[1:])
    return rest[len(rest) // 2]


def main() -> None:
    python = keras_python()
    if python is None:
        return
    torch.set_num_threads(1)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"}
    command = [str(python), "-c", KERAS_SCRIPT, json.dumps(CASES), str(NUM_EPOCHS)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"skipped: the Keras run failed: {done.stderr.strip().splitlines()[-1:]}")
        return
    keras_times = json.loads(done.stdout.strip().splitlines()[-1])
    versions = keras_times.pop("versions")
    rows = {}
    header = f"{'example':28s} {'dllab s/epoch':>14s} {'keras s/epoch':>14s} {'keras/dllab':>12s}"
    print(header)
    print("-" * len(header))
    for name, (n, batch_size) in CASES.items():
        theirs = median_after_first(keras_times[name])
        for channels_last in (False, True) if name == "cifar_cnn" else (False,):
            ours = median_after_first(dllab_epoch_times(name, n, batch_size, channels_last))
            label = f"{name}, channels_last" if channels_last else name
            rows[label] = {"dllab_s": ours, "keras_s": theirs, "ratio": theirs / ours}
            print(f"{label:28s} {ours:14.3f} {theirs:14.3f} {theirs / ours:11.2f}x", flush=True)
    conditions = {
        "torch": torch.__version__,
        **versions,
        "threads": 1,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "num_epochs": NUM_EPOCHS,
        "statistic": "median epoch time after the first epoch",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"conditions": conditions, "results": rows}, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
