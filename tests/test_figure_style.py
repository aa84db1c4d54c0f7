"""The rules every figure follows: one colour per method across figures, words instead of keys,
readable ticks, legends beside the data, one size family."""

import numpy as np
from PIL import Image

from dllab.report import plots
from dllab.report.plots.palette import NAMED, colors_for
from dllab.report.plots.style import DPI, MAX_WIDTH, MIN_WIDTH, _figure, _style


def test_a_method_keeps_its_colour_in_every_figure_whatever_its_spelling():
    unit3 = colors_for(["tanh RNN", "LSTM", "GRU"])
    gradients = colors_for(["rnn_tanh", "rnn_relu", "lstm", "gru"])
    assert unit3 == [NAMED["tanh rnn"], NAMED["lstm"], NAMED["gru"]]
    assert gradients[0] == unit3[0] and gradients[2:] == unit3[1:]


def test_no_colour_is_reused_within_a_figure_but_paired_series_share_one():
    colors = colors_for(["pca", "perceptron", "tanh rnn", "x", "y", "x"])  # three named greys
    assert len(set(colors[:5])) == 5
    assert colors[3] == colors[5]  # one key twice: a pair (noisy and denoised, say)


def test_keys_become_words():
    assert plots.words("loss_d") == "discriminator loss"
    assert plots.words("leaky_relu") == "Leaky ReLU"
    assert plots.words("mlp-xor-init3") == "MLP, XOR, start 3"
    assert plots.words("val_accuracy") == "validation accuracy"
    assert plots.words("dae-salt_pepper") == "denoising AE, salt and pepper"


def test_log_axis_over_two_values_is_linear_and_small_log_ranges_read_as_plain_numbers():
    fig, (ax,) = _figure("t")
    ax.plot([2, 8], [0.3, 0.9])
    _style(ax, "k", "error", log_x=True, log_y=True)
    fig.canvas.draw()
    assert ax.get_xscale() == "linear" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]
    assert labels and all("10" not in text and "times" not in text for text in labels), labels
    assert not any(t.get_text() for t in ax.yaxis.get_minorticklabels())


def test_epochs_get_integer_ticks():
    fig, (ax,) = _figure("t")
    ax.plot([1, 2, 3, 4], [0.5, 0.4, 0.3, 0.2])
    _style(ax, "epoch", "loss")
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 4]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_a_legend_sits_beside_the_axes_not_over_the_data(tmp_path):
    series = {"a": ([1, 2, 3], [1, 2, 3]), "b": ([1, 2, 3], [3, 2, 1])}
    assert plots.lines(series, tmp_path / "l.png", "t", "x", "y").is_file()
    fig, (ax,) = _figure("t")
    ax.plot([1, 2], [1, 2], label="a")
    ax.plot([1, 2], [2, 1], label="b")
    _style(ax, "x", "y")
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # entirely to the right of the axes


def test_figures_stay_in_one_size_family(tmp_path):
    """Charts fill the family's width; image grids of any shape fit inside its bounds."""
    wide = plots.image_grid(np.random.rand(40, 8, 8), tmp_path / "w.png", "t", nrow=20)
    tall = plots.image_grid(np.random.rand(96, 8, 8), tmp_path / "h.png", "t", nrow=4)
    bars = plots.bars({f"c{i}": i for i in range(14)}, tmp_path / "b.png", "t", "y")
    curves = plots.loss_curves(
        [{"model": m, "epoch": e, "loss": 1 / e, "accuracy": 1 - 1 / e, "kind": "epoch"}
         for m in "abc" for e in range(1, 5)],
        tmp_path / "c.png", "t", metrics=("loss", "accuracy"),
    )  # fmt: skip
    for path in (wide, tall, bars, curves):
        width, height = Image.open(path).size
        assert width <= MAX_WIDTH * DPI * 1.05 and height <= 10.5 * DPI, (path.name, width, height)
    for path in (bars, curves):
        assert Image.open(path).size[0] >= MIN_WIDTH * DPI * 0.85, path.name


def test_bars_with_error_bars_keep_their_category_names():
    from dllab.report.plots.style import _category_axis

    fig, (ax,) = _figure("t")
    ax.bar([0, 1], [3.5, 11.9], yerr=[0.5, 0.2])  # error bars are lines at x = 0, 1
    _category_axis(ax, ["max", "average"])
    _style(ax, "", "error")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["max", "average"]


def test_runs_of_one_variant_share_its_colour_and_one_legend_entry(tmp_path, monkeypatch):
    from dllab.report.plots import curves

    drawn = {}

    def keep(fig, path):
        drawn["fig"] = fig
        return path

    monkeypatch.setattr(curves, "_save", keep)
    records = [
        {"model": m, "kind": "epoch", "epoch": e, "loss": 1 / e}
        for m in ("max", "max-seed1", "avg", "avg-seed1")
        for e in (1, 2, 3)
    ]
    curves.loss_curves(records, tmp_path / "c.png", "t")
    (ax,) = drawn["fig"].axes
    colors = {line.get_label(): line.get_color() for line in ax.lines}
    assert colors["max"] == colors["_max"] != colors["average"] == colors["_average"]
    assert [t.get_text() for t in drawn["fig"].legends[0].get_texts()] == ["max", "average"]


def test_a_log_axis_over_many_integer_sizes_keeps_plain_ticks():
    fig, (ax,) = _figure("t")
    sizes = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
    ax.plot(sizes, np.linspace(0.5, 0.05, len(sizes)))
    _style(ax, "training samples", "error", log_x=True)
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    labels = {t.get_text() for t in ax.get_xticklabels() if t.get_text()}
    assert {"10", "100", "1000"} <= labels
