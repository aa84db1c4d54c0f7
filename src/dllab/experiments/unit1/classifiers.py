"""Deep feed-forward classifiers: the 64-128-64-10 MLP on scikit-learn's 8x8 digits and the
MNIST-1D paper's 40-100-100-10 baseline (Greydanus, 2020, "Scaling down deep learning"), with
their confusion matrices and, with `engine=scratch`, the same MLP trained in the NumPy engine."""

from dataclasses import dataclass

from dllab import data
from dllab.config import param
from dllab.engine import Trainer
from dllab.experiments.common import plot_confusion, train_classifier
from dllab.experiments.registry import Reference, experiment
from dllab.experiments.runner import Run
from dllab.experiments.unit1.shared import Engine, fit_scratch, scratch_accuracy, scratch_twin
from dllab.report import plots


@dataclass
class ClassifierConfig:
    num_epochs: int = param(60, ge=1)  # passes over the training set
    batch_size: int = param(64, ge=1)  # samples per step
    lr: float = param(2e-3, gt=0)  # Adam, cosine schedule
    dropout: float = param(0.1, ge=0, lt=1)  # drop probability after each hidden layer (digits)
    engine: Engine = "torch"  # scratch: train the same MLP in dllab.scratch as well


def _mlp_classifier(
    cfg: ClassifierConfig, run: Run, dataset: str, model_name: str, **load_options
) -> dict:
    """Train a registered MLP on a dataset (validating on its val split, which the curves of
    the run page draw beside training); confusion matrix and test accuracy."""
    ds = data.load(dataset, flatten=True, **load_options)
    kwargs = {"dropout": cfg.dropout} if model_name == "digits_mlp" else {}
    model = run.model(model_name, model_name, **kwargs)
    twin = scratch_twin(run, model_name, model) if cfg.engine == "scratch" else None
    trainer, test = train_classifier(
        run,
        model_name,
        model,
        ds,
        num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size,
        optimizer="adam",
        lr=cfg.lr,
        schedule="cosine",
    )
    title = f"{dataset} test set: confusion matrix (accuracy {test['accuracy']:.3f})"
    plot_confusion(run, trainer, ds.test, ds.num_classes, title)
    metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"]}
    if twin is not None:
        metrics.update(_scratch_classifier(cfg, run, model_name, twin, trainer, ds))
    return metrics


def _scratch_classifier(
    cfg: ClassifierConfig, run: Run, name: str, twin, trainer: Trainer, ds: data.Dataset
) -> dict[str, float]:
    """Train the NumPy twin as the trainer trained the model: Adam, the same batch size and the
    trainer's own learning-rate schedule; its test accuracy, and both engines' loss curves."""
    multiplier = trainer.scheduler.lr_lambdas[0]  # the trainer's cosine schedule (a LambdaLR)
    losses = fit_scratch(
        run,
        name,
        twin,
        ds.train,
        "cross_entropy",
        cfg.num_epochs,
        cfg.batch_size,
        cfg.lr,
        lr_schedule=lambda step: cfg.lr * multiplier(step),
    )
    epochs = trainer.history.epochs
    plots.lines(
        {
            "PyTorch engine": ([r["epoch"] for r in epochs], [r["loss"] for r in epochs]),
            "scratch engine (NumPy)": (list(range(1, len(losses) + 1)), losses),
        },
        run.figure("engines_loss"),
        "The same MLP from the same initial weights in both engines",
        "epoch",
        "training loss (cross-entropy, epoch mean)",
        log_y=True,
    )
    return {
        "scratch_test_accuracy": scratch_accuracy(twin, ds.test),
        "scratch_train_loss": losses[-1],
        "train_loss": epochs[-1]["loss"],
    }


@experiment(
    "digits-mlp",
    unit=1,
    title="A deep feed-forward classifier on the 8x8 digits",
    topics=("deep feed-forward networks",),
    config=ClassifierConfig,
    quick={"num_epochs": 15},
)
def digits_mlp(cfg: ClassifierConfig, run: Run) -> dict[str, float]:
    """A 64-128-64-10 ReLU network on scikit-learn's real handwritten 8x8 digits. With
    `engine=scratch` the same network, from the same initial weights, also trains in the NumPy
    engine `dllab.scratch` (hand-written backward passes) and both test accuracies are reported."""
    return _mlp_classifier(cfg, run, "digits", "digits_mlp")


@experiment(
    "mnist1d-mlp",
    unit=1,
    title="The MNIST-1D MLP baseline",
    topics=("deep feed-forward networks",),
    config=ClassifierConfig,
    quick={"num_epochs": 25},
    tour={"num_epochs": 60},
    tour_seconds=5,
    references={"test_accuracy": Reference(0.68, "Greydanus 2020, MNIST-1D MLP")},
)
def mnist1d_mlp(cfg: ClassifierConfig, run: Run) -> dict[str, float]:
    """The MNIST-1D paper's 40-100-100-10 MLP (Greydanus, 2020, "Scaling down deep learning").
    500 of the 4000 training signals are held out for validation: the curves show the gap
    between what the MLP memorises and what it generalises, where a pattern that moves along
    the signal must be learned at every position apart (the CNN of `mnist1d-cnn` need not)."""
    return _mlp_classifier(cfg, run, "mnist1d", "mnist1d_mlp", n_val=500)
