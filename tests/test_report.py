"""Figures and HTML pages written from synthetic run folders."""

import functools
import json
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dllab.errors import DataError
from dllab.report import plots, read_run, render, render_index

RNG = np.random.default_rng(0)


def history_records(num_steps: int = 100) -> list[dict]:
    """Two models, 20 steps per epoch."""

    records = []
    for model, scale in (("mlp", 1.0), ("perceptron", 2.0)):
        for step in range(num_steps):
            loss = scale * np.exp(-step / 40)
            epoch = step // 20
            records.append(dict(model=model, kind="step", epoch=epoch, step=step, loss=loss))
            if step % 20 == 19:
                accuracy, val_accuracy = 1 - loss / 3, 1 - loss / 2.5
                records.append(
                    dict(model=model, kind="epoch", epoch=epoch, step=step, time=0.1, lr=0.01,
                         loss=loss, accuracy=accuracy, val_loss=loss * 1.1,
                         val_accuracy=val_accuracy)
                )  # fmt: skip
    return records


def boundary_panel(k: int) -> dict:
    xx, yy = np.meshgrid(np.linspace(-2, 2, 40), np.linspace(-2, 2, 30))  # (30, 40)
    X = RNG.normal(size=(60, 2))
    if k == 2:
        probs = 1 / (1 + np.exp(-4 * xx * yy))  # (30, 40): an XOR-like P(class 1)
        y = (X[:, 0] * X[:, 1] > 0).astype(int)
    else:
        logits = np.stack([xx, yy, -xx - yy], axis=-1)  # (30, 40, 3)
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        y = np.stack([X[:, 0], X[:, 1], -X.sum(1)], 1).argmax(1)
    return {"title": f"{k} classes", "xx": xx, "yy": yy, "probs": probs, "X": X, "y": y}


PLOTS = {
    "loss_curves": lambda p: plots.loss_curves(
        history_records(), p, "Loss", metrics=("loss", "accuracy"), log_y=False
    ),
    "loss_curves_steps": lambda p: plots.loss_curves(
        history_records(300), p, "Step loss (smoothed beyond 200 steps)", x="step", log_y=True
    ),
    "overlaid_runs": lambda p: plots.overlaid_runs(
        {"seed 0": history_records(), "seed 1": history_records()[10:]},
        p,
        "Two runs",
        metrics=("loss", "accuracy"),
    ),
    "decision_boundaries": lambda p: plots.decision_boundaries(
        [boundary_panel(2), boundary_panel(3)], p, "Decision boundaries"
    ),
    "image_grid_grey": lambda p: plots.image_grid(
        RNG.random((10, 8, 8)), p, "Digits", nrow=5, row_labels=["real", "fake"]
    ),
    "image_grid_rgb": lambda p: plots.image_grid(
        RNG.random((6, 3, 8, 8)), p, "Colour", nrow=3, col_labels=["a", "b", "c"]
    ),
    "heatmap": lambda p: plots.heatmap(
        RNG.random((12, 20)) + 1e-3,
        p,
        "Gradients",
        "time t",
        "training step",
        "|dL/dh_t|",
        log=True,
        y=np.arange(12) * 50,
    ),
    "confusion_matrix": lambda p: plots.heatmap(
        np.diag([50, 40, 45]) + RNG.integers(0, 6, (3, 3)),
        p,
        "Confusion matrix",
        "predicted class",
        "true class",
        "test samples",
        origin="upper",
        annotate=True,
    ),
    "grouped_bars": lambda p: plots.grouped_bars(
        {"chain rule": [0.1, -0.2, 0.05], "autograd": [0.1, -0.2, 0.05]},
        ["W1[0]", "W1[1]", "b2[0]"],
        p,
        "Gradients",
        "dL/dθ",
    ),
    "lines": lambda p: plots.lines(
        {
            "sgd": ([1, 2, 3], [0.5, 0.7, 0.8], [0.05, 0.04, 0.02]),
            "adam": ([1, 2, 3], [0.6, 0.8, 0.9]),
        },
        p,
        "Sweep",
        "width",
        "accuracy",
        log_x=True,
        hline=(0.94, "published"),
    ),
    "bars": lambda p: plots.bars(
        {"perceptron": 0.5, "mlp": 1.0}, p, "XOR accuracy", "accuracy", reference=(0.99, "paper")
    ),
    "scatter_2d": lambda p: plots.scatter_2d(
        RNG.normal(size=(300, 2)), RNG.integers(0, 10, 300), p, "Latent map"
    ),
    "scatter_panels": lambda p: plots.scatter_panels(
        [
            {"points": RNG.normal(size=(200, 2)), "title": "real"},
            {"points": RNG.normal(size=(200, 2)), "labels": RNG.random(200), "title": "fake"},
        ],
        p,
        "GAN samples",
    ),
    "image_panels": lambda p: plots.image_panels(
        {name: RNG.random((4, 3, 8, 8)) for name in ("original", "rotate", "blur")}, p, "Gallery"
    ),
    "signed_tiles": lambda p: plots.signed_tiles(
        RNG.normal(size=(10, 3, 3)), p, "Filters", [f"f{i}" for i in range(10)], "weight", nrow=5
    ),
    "heatmap_grid": lambda p: plots.heatmap_grid(
        {name: (RNG.random((6, 9)) + 1e-3, np.arange(9), np.arange(6)) for name in "abc"},
        p,
        "Gradients",
        "t",
        "step",
        "|dL/dh|",
    ),  # fmt: skip
    "line_panels": lambda p: plots.line_panels(
        {"left": {"a": ([1, 2, 3], [3, 2, 1])}, "right": {"a": ([1, 2], [1, 2])}},
        p,
        "Two panels",
        "x",
        ("y", "z"),
        diverged={"a": 2},
    ),  # fmt: skip
    "histograms": lambda p: plots.histograms(
        {"real": RNG.normal(size=500), "fake": np.append(RNG.normal(1, 1, 500), np.nan)},
        p,
        "Discriminator scores",
        "D(x)",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", PLOTS)
def test_plot_writes_a_readable_png(tmp_path, name):
    path = PLOTS[name](tmp_path / "figs" / f"{name}.png")
    assert path == tmp_path / "figs" / f"{name}.png"
    image = np.asarray(Image.open(path).convert("RGB"), dtype=float)  # (H, W, 3)
    assert image.shape[0] >= 200 and image.shape[1] >= 250
    assert image.std() > 5  # not blank
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_loss_curves_survive_missing_metrics_and_odd_values(tmp_path):
    history = [
        {"model": "a", "kind": "epoch", "epoch": 0, "loss": float("nan")},
        {"model": "a", "kind": "epoch", "epoch": 1, "loss": "oops"},
        {"model": "a", "kind": "epoch", "epoch": 2, "loss": float("inf")},
    ]
    path = plots.loss_curves(history, tmp_path / "c.png", "Odd", metrics=("loss", "bleu"))
    assert Image.open(path).size[0] > 200


def test_mosaic_places_images_nrow_to_a_row():
    images = np.arange(7, dtype=float)[:, None, None, None] / 10 * np.ones((7, 1, 4, 5))
    grid = plots.mosaic(images, nrow=3)  # 3 rows of 3 tiles, the last two empty
    assert grid.shape == (3 * 5 - 1, 3 * 6 - 1, 1)
    tiles = np.pad(grid[..., 0], ((0, 1), (0, 1))).reshape(3, 5, 3, 6)[:, :4, :, :5]  # (r,h,c,w)
    assert np.allclose(tiles[0, :, 1], 0.1) and np.allclose(tiles[2, :, 0], 0.6)
    gutter = plots.images.GUTTER  # grey: apart from black backgrounds and white strokes
    assert np.allclose(tiles[2, :, 2], gutter) and np.allclose(grid[4, :, 0], gutter)
    rgb = plots.mosaic(np.full((2, 3, 4, 4), 2.0), nrow=8)  # clipped to [0, 1]
    assert rgb.shape == (4, 9, 3) and rgb.max() == 1.0


def test_animated_gif_has_every_frame(tmp_path):
    frames = [np.full((16, 16, 3), 40 * i, dtype=np.uint8) for i in range(5)]
    path = plots.animated_gif(frames, tmp_path / "a.gif", fps=4)
    gif = Image.open(path)
    assert gif.n_frames == 5
    assert gif.info["duration"] == 250
    grey = plots.animated_gif([np.full((8, 8), v) for v in (0.0, 0.5, 1.0)], tmp_path / "g.gif")
    assert Image.open(grey).n_frames == 3
    with pytest.raises(DataError):
        plots.animated_gif([], tmp_path / "none.gif")


class _Checker(HTMLParser):
    """Collects tags and checks every non-void element is closed in order."""

    VOID = {"meta", "link", "img", "br", "hr", "input", "source"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    assert text.startswith("<!DOCTYPE html>")
    assert not checker.errors and not checker.stack
    assert not any(tag == "script" for tag, _ in checker.tags)
    assert "http://" not in text and "https://" not in text
    for tag, attrs in checker.tags:
        if tag == "img":
            assert attrs["alt"]
    return checker


@functools.cache
def figure_bytes() -> tuple[bytes, bytes]:
    """One PNG and one GIF drawn by plots, drawn once and copied into every synthetic run."""

    with tempfile.TemporaryDirectory() as tmp:
        png = plots.bars({"a": 1.0, "b": 2.0}, Path(tmp) / "b.png", "B", "y")
        gif = plots.animated_gif([np.zeros((4, 4)), np.ones((4, 4))], Path(tmp) / "a.gif")
        return png.read_bytes(), gif.read_bytes()


def make_run(root: Path, name: str, unit: int = 1, **config) -> Path:
    run = root / name
    (run / "figures").mkdir(parents=True)
    png, gif = figure_bytes()
    (run / "figures" / "decision_boundaries.png").write_bytes(png)
    (run / "figures" / "training-anim.gif").write_bytes(gif)
    cfg = {
        "experiment": name,
        "unit": unit,
        "title": f"Title of {name}",
        "topics": ["t1", "t2"],
        "description": "What we do.",
        "quick": True,
        "seed": 0,
        "device": "cpu",
        "started": "2026-11-25T05:00:00",
        "duration_s": 12.3,
        "dllab_version": "0.1.0",
        "config": {"lr": 0.01, "model": {"num_hiddens": 8}},
        "references": {"test_accuracy": {"value": 0.94, "source": "Greydanus 2020 (CNN)"}},
        "status": "ok",
    } | config
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9712, "train_loss": 0.05}))
    lines = [json.dumps(r) for r in history_records()[:30]]
    (run / "history.jsonl").write_text("\n".join(lines) + "\n")
    return run


@pytest.mark.slow
def test_render_shows_metrics_references_figures_and_config(tmp_path):
    run = make_run(tmp_path, "perceptron-xor")
    text = render(run).read_text()
    parse(text)
    assert "Title of perceptron-xor" in text and "Unit I · Feed-forward networks" in text
    assert "0.9712" in text and "0.94" in text and "Greydanus 2020 (CNN)" in text
    assert '<img src="figures/decision_boundaries.png" alt="Decision boundaries"' in text
    assert '<img src="figures/training-anim.gif" alt="Training anim (animation)"' in text
    assert '<img src="report_figures/training_curves.png"' in text
    assert (run / "report_figures" / "training_curves.png").is_file()
    assert "model.num_hiddens" in text and "12.3 s" in text and "Problems" not in text
    assert render(run).read_text() == text  # a pure function of the folder


def test_render_escapes_text(tmp_path):
    title = "<script>alert(1)</script> $x^$"  # `$...$` would be a (broken) formula in a figure
    run = make_run(tmp_path, "x", title=title, description='a "b" & c')
    text = render(run).read_text()
    parse(text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $x^$" in text and "<script>" not in text
    assert "a &quot;b&quot; &amp; c" in text


@pytest.mark.slow
def test_failed_run_shows_its_error(tmp_path):
    run = make_run(tmp_path, "x", status="failed", error="DivergenceError: loss is NaN at step 7")
    text = render(run).read_text()
    parse(text)
    assert '<div class="error"><strong>Run failed:</strong> DivergenceError: loss is NaN' in text


@pytest.mark.slow
def test_missing_and_corrupt_files_are_reported_not_raised(tmp_path):
    run = make_run(tmp_path, "x")
    (run / "metrics.json").write_text("{not json")
    with (run / "history.jsonl").open("a") as f:
        f.write("{broken\n[1, 2]\n")
    text = render(run).read_text()
    parse(text)
    assert "metrics.json is corrupt (line 1, column 2" in text
    assert "history.jsonl: 2 malformed lines skipped" in text
    assert "30 records" in text

    (run / "config.json").unlink()
    (run / "history.jsonl").unlink()
    text = render(run).read_text()
    parse(text)
    assert "config.json is missing" in text
    assert "history.jsonl" not in text  # runs that train nothing have no history: not a problem
    assert "training_curves" not in text  # no history, so no stale curves either
    with pytest.raises(DataError, match="does not exist"):
        render(tmp_path / "nowhere")


@pytest.mark.slow
def test_read_run_lists_curves_first_then_saved_figures(tmp_path):
    folder = make_run(tmp_path, "x")
    run = read_run(folder)
    assert len(run.history) == 30 and run.unit == 1 and run.status == "ok" and not run.notes
    saved = ["figures/decision_boundaries.png", "figures/training-anim.gif"]
    assert [p.as_posix() for p in run.figures()] == saved
    render(folder)
    assert [p.as_posix() for p in read_run(folder).figures()] == [
        "report_figures/training_curves.png",
        *saved,
    ]


@pytest.mark.slow
def test_render_index_groups_by_unit_and_links_each_report(tmp_path):
    runs_dir = tmp_path / "runs"
    runs = [
        make_run(runs_dir, "vae", unit=5),
        make_run(runs_dir, "xor", unit=1),
        make_run(runs_dir, "odd", unit=9),
        make_run(runs_dir, "lenet", unit=2),
    ]
    for run in runs:
        render(run)
    out = render_index(runs, tmp_path / "site" / "index.html", title="Tour <1>")
    text = out.read_text()
    checker = parse(text)
    assert "<h1>Tour &lt;1&gt;</h1>" in text
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", text) == [  # units without runs get no section
        "Unit I · Feed-forward networks",
        "Unit II · Convolutional networks",
        "Unit V · Autoencoders and hybrids",
        "Other runs",
    ]
    assert text.index('id="unit-1"') < text.rindex("Title of xor") < text.index('id="unit-2"')
    hrefs = {attrs.get("href") for tag, attrs in checker.tags if tag == "a"}
    for name in ("vae", "xor", "odd", "lenet"):
        assert f"../runs/{name}/report.html" in hrefs and f"../runs/{name}/" in hrefs
        assert (out.parent / f"../runs/{name}/report.html").is_file()
    srcs = [attrs["src"] for tag, attrs in checker.tags if tag == "img"]
    assert "../runs/xor/figures/decision_boundaries.png" in srcs and len(srcs) == 4 * 3
    assert "(published 0.94)" in text  # headline metric with its reference


def test_index_headline_shows_each_chosen_metric_with_its_reference(tmp_path):
    both = make_run(tmp_path / "runs", "both", headline=["train_loss", "test_accuracy"])
    old = make_run(tmp_path / "runs", "old", headline="train_loss")  # a run from before lists
    text = render_index([both, old], tmp_path / "index.html", title="t").read_text()
    assert (
        "<code>train_loss</code> 0.05 · <code>test_accuracy</code> 0.9712 (published 0.94)" in text
    )
    assert text.count("<code>train_loss</code> 0.05") == 2


@pytest.mark.slow
def test_an_index_of_runs_of_one_experiment_tells_them_apart_and_overlays_their_curves(tmp_path):
    runs = tmp_path / "runs"
    common = {"experiment": "digits-mlp", "title": "Digits MLP"}
    mine = make_run(runs, "mine", seed=3, config={"lr": 0.01, "model": {"depth": 2}}, **common)
    other = make_run(runs, "other", seed=0, config={"lr": 0.1, "model": {"depth": 2}}, **common)
    out = render_index([mine, other], tmp_path / "index.html")
    text = out.read_text()
    checker = parse(text)
    assert "<title>2 runs of digits-mlp: Digits MLP</title>" in text
    assert "<h1>2 runs of digits-mlp: Digits MLP</h1>" in text
    first, second = text.split('<section class="card"')[1:]
    assert f"<code>{mine}</code> · seed 3 · <code>lr=0.01</code>" in first
    assert f"<code>{other}</code> · seed 0 · <code>lr=0.1</code>" in second
    assert "depth" not in first + second  # the same in both runs: not a difference
    assert ">Digits MLP (mine)</a>" in text and ">Digits MLP (other)</a>" in text  # summary rows
    curves = tmp_path / "index_figures" / "training_curves.png"
    srcs = [attrs["src"] for tag, attrs in checker.tags if tag == "img"]
    assert curves.is_file() and "index_figures/training_curves.png" in srcs


def test_an_index_of_several_experiments_is_titled_by_them_without_overlaid_curves(tmp_path):
    runs = [make_run(tmp_path / "runs", name) for name in ("vae", "xor")]
    text = render_index(runs, tmp_path / "index.html").read_text()
    assert "<title>2 runs: vae, xor</title>" in text and "seed 0" in text
    assert not (tmp_path / "index_figures").exists()
