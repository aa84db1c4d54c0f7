"""Unit IV experiments: their quick configs run and report what the issue promises."""

import json
import pickle
import struct

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from dllab import models
from dllab.engine.checkpoint import load_checkpoint
from dllab.errors import ConfigError, DataError
from dllab.experiments import list_experiments, run_experiment
from dllab.experiments.unit4.images import GanImages, load_gan_images
from dllab.syllabus import TOPICS


@pytest.fixture
def gan_2d(quick_runs):
    return quick_runs("gan-2d")


def test_gan_2d_reports_mode_coverage_of_every_method(gan_2d):
    folder, metrics = gan_2d
    assert metrics["num_modes"] == 8  # ring8 by default
    assert 0 <= metrics["modes_captured"] <= 8
    assert 0 <= metrics["high_quality_fraction"] <= 1
    assert metrics["modes_captured"] == metrics["pacgan_modes_captured"]  # the default method
    for method in ("minimax", "non_saturating", "wgan_gp"):
        assert f"{method}_modes_captured" in metrics
    for figure in ("samples-final.png", "samples-over-training.png"):
        assert (folder / "figures" / figure).is_file()
    assert (folder / "figures" / "training.gif").stat().st_size > 0


@pytest.mark.slow
def test_gan_2d_takes_the_dataset_and_method_from_the_command_line(tmp_path):
    folder = run_experiment(
        "gan-2d",
        quick=True,
        overrides=("data.name=grid25", "method=wgan_gp", "compare=false"),
        out=str(tmp_path),
        quiet=True,
    )
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["num_modes"] == 25
    assert set(metrics) == {
        "modes_captured",
        "num_modes",
        "high_quality_fraction",
        "wgan_gp_modes_captured",
        "wgan_gp_high_quality_fraction",
    }


def test_gan_2d_runs_pacgans_published_setup_on_its_own_ring(quick_runs):
    folder, metrics = quick_runs("gan-2d", "setup=pacgan", "compare=false")
    assert metrics["num_modes"] == 8
    assert metrics["fraction_of_paper_budget"] == 6 * 1024 / (400 * 100_000)  # quick: 6 x 1,024
    assert json.loads((folder / "config.json").read_text())["config"]["setup"] == "pacgan"


def test_gan_2d_runs_veegans_setup_with_its_noise_and_learning_rates(quick_runs):
    folder, metrics = quick_runs("gan-2d", "setup=veegan", "compare=false", "method=minimax")
    assert metrics["num_modes"] == 8
    assert metrics["fraction_of_paper_budget"] == 6 * 1024 / (25_000 * 512)
    assert json.loads((folder / "config.json").read_text())["config"]["setup"] == "veegan"


@pytest.mark.parametrize("setup, final_lr", [("dllab", 0.0), ("pacgan", 1e-4)])
def test_gan_2d_decays_the_learning_rate_on_a_cosine_but_a_papers_setup_keeps_its_own(
    tmp_path, setup, final_lr
):
    overrides = (f"setup={setup}", "schedule=cosine", "compare=false")
    out = str(tmp_path)
    folder = run_experiment("gan-2d", quick=True, overrides=overrides, out=out, quiet=True)
    _, state = load_checkpoint(folder / "checkpoints" / "pacgan")  # after the last step
    lrs = [g["lr"] for opt in state["optimizers"].values() for g in opt["param_groups"]]
    assert lrs == pytest.approx([final_lr] * 2, abs=1e-12)  # the generator's and the critic's


def test_gan_2d_compares_the_chosen_methods_and_always_the_reported_one(quick_runs):
    _, metrics = quick_runs("gan-2d", "methods=(non_saturating,)")
    trained = {k.removesuffix("_modes_captured") for k in metrics if k.endswith("_modes_captured")}
    assert trained == {"non_saturating", "pacgan"}  # pacgan: the reported method


def test_unit4_experiments_cover_every_unit4_topic():
    covered = {t for e in list_experiments(unit=4) for t in e.topics}
    assert covered == set(TOPICS[4])


def test_cgan_digits_scores_generated_digits_beside_real_ones(quick_runs):
    folder, metrics = quick_runs("cgan-digits")
    assert 0 <= metrics["generated_class_accuracy"] <= 1
    assert metrics["real_classifier_fid"] < metrics["classifier_fid"]  # untrained G: far worse
    assert 0 <= metrics["class_entropy"] <= metrics["max_class_entropy"]
    assert (folder / "figures" / "class-accuracy.png").is_file()
    assert (folder / "figures" / "class-precision-recall.png").is_file()
    # precision and recall, pooled and within each class, beside the real digits' own
    for name in ("precision", "recall", "within_class_precision", "within_class_recall"):
        assert 0 <= metrics[name] <= 1
        assert metrics[f"real_{name}"] > 0.5  # real training digits sit among real test ones


@pytest.mark.parametrize("name", ["cgan-digits", "dcgan"])
def test_image_gans_train_their_first_setting_beside_the_current_one(quick_runs, name):
    folder, metrics = quick_runs(name)
    assert {"before_classifier_fid", "before_recall", "before_precision"} <= set(metrics)
    assert not {"before_real_recall", "before_max_class_entropy"} & set(metrics)
    assert (folder / "figures" / "before-after.png").is_file()
    history = (folder / "history.jsonl").read_text()
    assert '"model": "before-gan"' in history and '"model": "gan"' in history
    _, alone = quick_runs("gan-digits")  # shows no first setting
    assert "before_recall" not in alone


def test_generative_vs_discriminative_errors_fall_with_more_data(quick_runs):
    _, metrics = quick_runs("generative-vs-discriminative")
    for model in ("naive_bayes", "logistic_regression", "mlp"):
        assert metrics[f"{model}_error_largest"] < metrics[f"{model}_error_smallest"]
    assert metrics["naive_bayes_error_largest"] < 0.3


def test_lapgan_and_srgan_report_their_scores(quick_runs):
    _, lap = quick_runs("lapgan")
    assert lap["classifier_fid"] > lap["real_classifier_fid"] >= 0
    assert 0 <= lap["recall"] <= 1 and lap["real_recall"] > 0.5
    _, sr = quick_runs("srgan")
    assert 5 < sr["bicubic_psnr"] < 30
    assert {"srresnet_psnr", "srgan_psnr", "srgan_classifier_accuracy"} <= set(sr)


def _write_mnist(folder, n_train: int = 40, n_test: int = 20):
    """The four MNIST IDX files (uint8 images 28x28, labels 0-9), n_train/n_test images."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (folder / f"{prefix}-{kind}-ubyte").write_bytes(header + array.tobytes())


def _write_cifar(folder, n: int = 8):
    """The six CIFAR-10 python batches (n images each), pickled with str-free bytes keys."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": (np.arange(n) % 10).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=3))


def test_dcgan_without_the_mnist_files_is_one_data_error(tmp_path):
    with pytest.raises(DataError) as error:
        run_experiment(
            "dcgan",
            quick=True,
            overrides=("data.name=mnist", f"data.dir={tmp_path}"),
            out=str(tmp_path / "run"),
            quiet=True,
        )
    message = str(error.value)
    assert "\n" not in message and "mnist: files not found" in message
    assert "train-images-idx3-ubyte" in message


def test_dcgan_mlp_on_32x32_images_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="architecture=dcgan"):
        run_experiment(
            "dcgan",
            quick=True,
            overrides=("data.name=cifar10", "architecture=mlp"),
            out=str(tmp_path / "run"),
            quiet=True,
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_dcgan_trains_on_real_image_files(tmp_path, name):
    folder = tmp_path / "files"
    folder.mkdir()
    if name == "mnist":
        _write_mnist(folder)
        channels = 1
    else:
        _write_cifar(folder / "cifar-10-batches-py")
        channels = 3
    run = run_experiment(
        "dcgan",
        quick=True,
        overrides=(f"data.name={name}", f"data.dir={folder}", "data.num_train=32"),
        out=str(tmp_path / "run"),
        quiet=True,
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["classifier_fid"] > metrics["real_classifier_fid"] >= 0
    assert 0 <= metrics["precision"] <= 1 and 0 <= metrics["recall"] <= 1
    samples = plt.imread(run / "figures" / "samples.png")
    assert samples.ndim == 3  # a drawn figure
    pointer = json.loads((run / "checkpoints" / "gan" / "last.json").read_text())
    weights = load_file(run / "checkpoints" / "gan" / pointer["folder"] / "model.safetensors")
    last = weights["generator.net.9.weight"]  # the transposed convolution drawing the image
    assert last.shape == (64, channels, 4, 4)  # 16x16 -> 32x32 images with `channels`


def test_load_gan_images_pads_mnist_to_32_and_keeps_num_train(tmp_path):
    _write_mnist(tmp_path, n_train=30, n_test=10)
    images = load_gan_images(GanImages("mnist", str(tmp_path), num_train=12))
    assert images.train[0].shape == (12, 1, 32, 32) and images.test[0].shape == (10, 1, 32, 32)
    assert images.train[0][..., :2, :].abs().sum() == 0  # the padding is background
    assert images.train[1].tolist() == [k % 10 for k in range(12)]


def test_image_scorer_embeds_the_real_digits_once_and_each_generated_set_once():
    from dllab.data import Dataset
    from dllab.experiments.common import ImageScorer
    from dllab.metrics import precision_recall

    classifier = models.create_model("digits_cnn", in_channels=1).eval()
    passes = []
    classifier.features.register_forward_hook(lambda _m, x, _y: passes.append(len(x[0])))
    g = torch.Generator().manual_seed(0)
    real = Dataset(
        "random",
        train=(torch.rand(80, 1, 8, 8, generator=g), torch.arange(80) % 10),
        test=(torch.rand(60, 1, 8, 8, generator=g), torch.arange(60) % 10),
    )
    scorer = ImageScorer.of(classifier, real)
    assert passes == [60, 80]
    fake = torch.rand(50, 1, 8, 8, generator=g)
    scores = scorer.scores(scorer.embed(fake))
    scorer.scores(scorer.embed(fake))
    assert passes == [60, 80, 50, 50]  # the real side is not embedded again
    # the real digits' own precision and recall use k-NN balls of as many images as the fakes'
    own = precision_recall(scorer.test.features[:50], scorer.train.features[:50])
    assert (scores["real_precision"], scores["real_recall"]) == tuple(own.values())
    per_class = scorer.class_scores(scorer.embed(fake), torch.arange(50) % 10)
    assert sorted(per_class["generated"]) == sorted(per_class["real"]) == list(range(10))
    again = scorer.class_scores(scorer.embed(fake), torch.arange(50) % 10)
    assert again["real"] is per_class["real"]  # the real side's per-class scores, computed once
