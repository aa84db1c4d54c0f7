# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Quickstart: build, train, evaluate, save and load a network
#
# The course notes write their networks in Keras: build a model, `compile` it with an optimizer
# and a loss, `fit` it, `evaluate` it, save it. dllab does the same on plain PyTorch modules,
# and runs every experiment of the syllabus with one call. This notebook shows both. It runs
# top to bottom in under a minute on a 2-core CPU, offline.
#
# The first cell installs dllab when it is missing (on a hosted notebook service) and sets
# `QUICK`: `True` runs experiments with their quick settings, in seconds; `False` with their
# full configs, minutes each on a CPU.

# %% setup="dllab"
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

# dllab from the checkout this notebook sits in; a service that opened the notebook alone needs
# DLLAB_SOURCE set to a git URL or a wheel of dllab (`pip install dllab` gets another project).
DLLAB_SOURCE = str(Path.cwd().parent)
if importlib.util.find_spec("dllab") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", DLLAB_SOURCE], check=True)
    importlib.invalidate_caches()

QUICK = True  # False: the full configs (minutes per experiment on a CPU)

# %% [markdown]
# ## The data
#
# scikit-learn ships 1,797 real handwritten digits of 8x8 pixels; dllab splits them once, the
# same way every time, into 1,257 training, 180 validation and 360 test images. `flatten=True`
# gives each image as a vector of 64 pixel values in [0, 1], what a dense network takes.

# %%
from dllab import data

digits = data.load("digits", flatten=True)
digits.describe()

# %% [markdown]
# ## Build and compile
#
# The initial weights are drawn when the model is built, so the seed comes first (Keras:
# `keras.utils.set_random_seed`). `digits_mlp` is a 64-128-64-10 ReLU network. The `Trainer`
# is Keras' `compile`: the optimizer, the learning rate and its schedule, the loss, the metrics
# and the callbacks; its own `seed` fixes the data order and dropout.

# %%
from dllab.engine import EarlyStopping, Trainer, seed_everything
from dllab.models import create_model

seed_everything(0)
model = create_model("digits_mlp")
trainer = Trainer(
    model,
    optimizer="adam",
    lr=2e-3,
    loss="cross_entropy",
    metrics=["accuracy"],
    schedule="cosine",
    seed=0,
    callbacks=[EarlyStopping("val_loss", patience=5)],
)
model

# %% [markdown]
# ## Fit
#
# Training shows one progress line, and `live_plot=True` redraws the loss and accuracy after
# every epoch: the training curve solid, the validation curve dashed. What to look for: the
# validation loss stops falling while the training loss goes on down — the network starts to
# learn its 1,257 training images by heart — and early stopping ends the fit five epochs after
# the best validation loss, restoring those weights.

# %%
X, y = digits.train
history = trainer.fit(
    X, y, validation_data=digits.val, num_epochs=30, batch_size=64, live_plot=True
)
history.epochs[-1]

# %% [markdown]
# ## Evaluate, save, load

# %%
trainer.evaluate(digits.test)

# %%
import tempfile

folder = Path(tempfile.mkdtemp()) / "digits"
trainer.save(folder)  # safetensors weights + the training state
trainer.load(folder)
trainer.evaluate(digits.test)  # the same numbers

# %% [markdown]
# `predict` takes a batch; the predicted class is the largest of the ten outputs.

# %%
X_test, y_test = digits.test
predicted = trainer.predict(X_test[:12]).argmax(dim=1)
{"predicted": predicted.tolist(), "true": y_test[:12].tolist()}

# %% [markdown]
# ## An experiment in one call
#
# `dllab.run` runs an experiment of the syllabus exactly as the command line `dllab run` does:
# the same settings, the same run folder with its metrics, history, checkpoints, figures and
# report page. The result shows the lessons the run shows, its headline numbers beside the
# published ones where there are some, and its figures. `settings` changes any value that
# `dllab show digits-mlp` lists.

# %%
import dllab

result = dllab.run("digits-mlp", quick=QUICK, settings={"lr": 0.003})
result

# %% [markdown]
# The numbers are plain data: `metrics`, `config`, the epoch records in `history` (as a pandas
# table with `history_frame()`), and the files in `folder`. `dllab.load_run(folder)` reads a
# finished run back, in another session too.

# %%
result.metrics

# %%
result.history_frame()

# %%
dllab.load_run(result.folder) == result
