"""Unit III: the recurrent-network experiments keep their promises on their quick configs, and
the pieces they are built from (truncated BPTT, dL/dh_t recording, teacher forcing, the IMDB
loader, the digit-pair and forecasting helpers) do what they say."""

import pytest
import torch

from dllab import data
from dllab.data.imdb import PAD, UNKNOWN
from dllab.engine import Trainer
from dllab.engine.tasks import Supervised
from dllab.errors import ConfigError, DataError
from dllab.experiments import list_experiments, run_experiment
from dllab.experiments.unit3.classification import write_synthetic_reviews
from dllab.experiments.unit3.memory import SolvedOrOutOfTime
from dllab.experiments.unit3.seq2seq import (
    BOS,
    DIGIT0,
    EOS,
    Seq2SeqConfig,
    digit_pairs,
    recursive_forecast,
)
from dllab.models import create_model
from dllab.models.rnn import HiddenGradients, TruncatedBPTT, stream_chunks
from dllab.models.seq2seq import TeacherForcing
from dllab.syllabus import TOPICS

UNIT3 = [e.name for e in list_experiments(3)]


@pytest.fixture
def quick(quick_runs):
    """An experiment's quick run, made once per session: name -> (folder, metrics)."""
    return quick_runs


def test_every_topic_of_a_landed_unit_has_an_experiment():
    shown = {t for e in list_experiments(3) for t in e.topics}
    assert set(TOPICS[3]) - shown == set()
    assert {"adding-problem", "copy-task", "vanishing-gradients", "mnist1d-gru", "char-lm",
            "bidirectional", "seq2seq", "forecasting", "sentiment"} <= set(UNIT3)  # fmt: skip


# ---- the experiments' promises, on their quick configs ----------------------------------------


def test_adding_problem_lstm_and_gru_solve_it_the_rnn_does_not(quick):
    _, m = quick("adding-problem")
    assert m["baseline_mse"] == pytest.approx(1 / 6)
    assert m["test_mse_lstm"] < 0.02 and m["test_mse_gru"] < 0.02
    assert m["test_mse_rnn"] > 5 * max(m["test_mse_lstm"], m["test_mse_gru"])
    assert m["steps_to_solve_gru"] > 0 and m["steps_to_solve_lstm"] > 0
    # solved cells stop early, at the end of an epoch; the RNN trains all 8 epochs
    assert m["train_steps_rnn"] == 8 * 63  # 2000 sequences in batches of 32: 63 steps
    assert m["steps_to_solve_gru"] <= m["train_steps_gru"] < m["train_steps_rnn"]
    # the 1997 criterion: the solved cells answer more sums within 0.04 than the RNN
    assert m["hs97_correct_rnn"] < min(m["hs97_correct_lstm"], m["hs97_correct_gru"]) <= 1


def test_the_1997_criterion_counts_sums_within_0_04_and_when_all_of_a_set_first_were():
    from dllab.engine import Trainer
    from dllab.experiments.unit3.memory import Hs97Criterion, hs97_correct

    y = torch.tensor([1.0, 0.5, 1.5, 0.2])
    assert hs97_correct(y + torch.tensor([0.0, 0.039, -0.039, 0.041]), y) == 0.75
    X = torch.randn(64, 3)
    target = X @ torch.tensor([0.5, -0.3, 0.2])  # a linear model fits it exactly
    watch = Hs97Criterion(X[:20], target[:20], batch_size=16, every=1)
    model = torch.nn.Linear(3, 1)
    trainer = Trainer(model, "adam", "mse", metrics=(), lr=0.05, quiet=True, callbacks=[watch])
    trainer.fit((X, target[:, None]), num_epochs=60, batch_size=16)
    assert watch.sequences is not None and watch.sequences % 16 == 0
    assert model.training  # the checks leave the model as training found it
    stopper = Hs97Criterion(X[:20], target[:20], batch_size=16, every=1, stop=True)
    model = torch.nn.Linear(3, 1)
    trainer = Trainer(model, "adam", "mse", metrics=(), lr=0.05, quiet=True, callbacks=[stopper])
    trainer.fit((X, target[:, None]), num_epochs=60, batch_size=16)
    assert stopper.sequences is not None  # training ended with the epoch it was met in
    assert trainer.step == -(-stopper.sequences // 64) * 4 < 60 * 4


class _Trainer:
    stop_training = False


@pytest.mark.parametrize(
    ("record", "threshold", "budget_s", "stops"),
    [
        ({"loss": 0.005, "time": 10.0, "epoch": 1}, 0.01, None, True),  # solved
        ({"loss": 0.05, "time": 10.0, "epoch": 1}, 0.01, None, False),
        ({"loss": 0.005, "time": 10.0, "epoch": 1}, None, None, False),  # no early stop
        ({"loss": 0.05, "time": 20.0, "epoch": 2}, 0.01, 29.0, True),  # next epoch ends at 30 s
        ({"loss": 0.05, "time": 20.0, "epoch": 2}, 0.01, 31.0, False),
    ],
)
def test_memory_tasks_stop_when_solved_or_out_of_time(record, threshold, budget_s, stops):
    trainer = _Trainer()
    SolvedOrOutOfTime(threshold, budget_s).on_epoch_end(trainer, record)
    assert trainer.stop_training is stops


def test_copy_task_gated_cells_recall_better_than_the_rnn(quick):
    _, m = quick("copy-task")
    assert m["test_loss_gru"] < m["baseline_loss"]
    assert m["recall_accuracy_gru"] > m["chance_recall_accuracy"] + 0.2
    assert m["recall_accuracy_gru"] > m["recall_accuracy_rnn"]


def test_vanishing_gradients_and_clipping(quick):
    folder, m = quick("vanishing-gradients")
    # At initialisation dL/dh_1 is 1000x smaller than dL/dh_T in every cell; that training
    # opens the gated cells' path is a claim of the tour's settings (tests/test_tour_claims.py).
    assert all(m[f"log10_grad_ratio_{k}"] < -3 for k in ("rnn_tanh", "rnn_relu", "lstm", "gru"))
    assert m["diverged_without_clipping"] == 1 and m["divergence_step_without_clipping"] >= 1
    assert m["diverged_with_clipping"] == 0 and m["test_mse_with_clipping"] < 1.0
    assert m["clipped_fraction"] > 0
    assert m["diverged_clip_by_value"] == 0 and m["test_mse_clip_by_value"] < 1.0
    assert m["clipped_fraction_by_value"] > 0
    assert m["max_grad_norm_clip_by_value"] > 100  # logged before clipping
    names = {p.stem for p in (folder / "figures").glob("*.png")}
    assert names == {"grad_heatmaps", "grad_vs_time", "exploding"}


def test_mnist1d_gru_learns(quick):
    _, m = quick("mnist1d-gru")
    assert 0.25 < m["test_accuracy"] <= 1  # chance: 0.1


def test_mnist1d_gru_patch_must_divide_the_signal(tmp_path):
    with pytest.raises(ConfigError, match="patch=3"):
        run_experiment("mnist1d-gru", quick=True, overrides=("patch=3",), out=str(tmp_path))


def test_char_lm_beats_unigram_and_writes_samples(quick):
    folder, m = quick("char-lm")
    assert m["test_bpc"] < m["unigram_bpc"] - 0.5
    samples = (folder / "samples.txt").read_text()
    assert all(f"temperature {t}" in samples for t in ("0.5", "0.8", "1"))


def test_bidirectional_tagging_beats_one_way_and_the_majority(quick):
    _, m = quick("bidirectional")
    assert m["test_accuracy_bi"] > m["test_accuracy_uni"] > m["majority_accuracy"]


def test_seq2seq_reverses_digit_strings(quick):
    folder, m = quick("seq2seq")
    assert m["exact_match"] > 0.5 and m["token_accuracy"] >= m["exact_match"]
    assert "->" in (folder / "examples.txt").read_text()


def test_forecasting_baselines_and_rnn(quick):
    _, m = quick("forecasting")
    assert m["rmse_one_step_ar"] < m["rmse_one_step_last_value"]
    assert m["rmse_multi_step_rnn"] < m["rmse_multi_step_last_value"]


def test_sentiment_quick_run_is_flagged_synthetic(quick):
    folder, m = quick("sentiment")
    assert m["synthetic_data"] == 1 and m["test_accuracy"] > 0.9
    assert (folder / "synthetic_imdb" / "aclImdb" / "train" / "pos").is_dir()


def test_sentiment_without_a_corpus_stops_with_one_clear_line(tmp_path):
    with pytest.raises(DataError) as error:
        run_experiment("sentiment", out=str(tmp_path / "run"), quiet=True)
    message = str(error.value)
    assert "\n" not in message and "data.dir" in message and "offline" in message


# ---- truncated BPTT --------------------------------------------------------------------------


def test_stream_chunks_are_consecutive_next_token_pairs():
    stream = torch.arange(103)
    X, start, y = stream_chunks(stream, batch_size=2, bptt=10)  # rows of 51 ids: 5 chunks
    assert X.shape == y.shape == (5, 2, 10) and start.tolist() == [True] + [False] * 4
    assert torch.equal(y, X + 1)  # next-token targets
    assert torch.equal(X[1, :, 0], X[0, :, -1] + 1)  # chunk i + 1 continues chunk i
    assert X[0, 1, 0] == 51  # row 1 starts where row 0 ends
    with pytest.raises(ConfigError):
        stream_chunks(torch.arange(10), batch_size=4, bptt=5)


def _char_model():
    torch.manual_seed(0)
    return create_model("char_gru", vocab_size=7, num_hiddens=8, input_size=4)


def test_carried_state_makes_chunk_by_chunk_equal_to_one_pass():
    stream = torch.randint(0, 7, (161,), generator=torch.Generator().manual_seed(0))
    X, start, y = stream_chunks(stream, batch_size=4, bptt=8)  # 5 chunks
    model, task = _char_model(), TruncatedBPTT()
    with torch.no_grad():
        per_chunk = [task.compute(model, (X[i : i + 1], start[i : i + 1], y[i : i + 1]))[0]
                     for i in range(len(X))]  # fmt: skip
        whole = task.compute(model, (X, start, y))[0]  # all chunks at once: one pass
    assert torch.stack(per_chunk).mean().item() == pytest.approx(whole.item(), rel=1e-5)


def test_truncation_cuts_the_graph_between_chunks():
    stream = torch.randint(0, 7, (161,), generator=torch.Generator().manual_seed(1))
    X, start, y = stream_chunks(stream, batch_size=4, bptt=8)
    model, task = _char_model(), TruncatedBPTT()
    task.compute(model, (X[:1], start[:1], y[:1]))
    assert not task.state.requires_grad  # carried, detached
    carried = task.state.clone()
    loss, logs = task.compute(model, (X[1:2], start[1:2], y[1:2]))
    loss.backward()  # would fail on a freed graph if the state were not detached
    assert not torch.equal(carried, task.state) and 0 <= logs["accuracy"] <= 1
    task.compute(model, (X[:1], start[:1], y[:1]))  # start of the stream: state reset
    fresh = TruncatedBPTT()
    fresh.compute(model, (X[:1], start[:1], y[:1]))
    assert torch.allclose(task.state, fresh.state)


def test_trainer_fits_a_char_model_with_truncated_bptt():
    stream = torch.arange(400) % 7  # a periodic stream: perfectly predictable
    chunks = stream_chunks(stream, batch_size=4, bptt=10)
    trainer = Trainer(_char_model(), loss=TruncatedBPTT(), lr=0.05, device="cpu", quiet=True)
    before = trainer.evaluate(chunks)["loss"]
    trainer.fit(chunks, num_epochs=5, batch_size=1, shuffle=False)
    after = trainer.evaluate(chunks)
    assert after["loss"] < before / 4 and after["accuracy"] > 0.9


# ---- dL/dh_t recording and teacher forcing ---------------------------------------------------


def test_hidden_gradients_records_one_row_per_recorded_step():
    ds = data.load("adding", n=40, n_test=8, T=12)
    torch.manual_seed(0)
    model = create_model("rnn", num_hiddens=8, fused=False)
    task = HiddenGradients(Supervised("mse", ()), every=2)
    trainer = Trainer(model, loss=task, device="cpu", quiet=True)
    trainer.fit(ds.train, num_epochs=1, batch_size=10)  # 4 steps
    assert [s for s, _ in task.records] == [1, 3]
    norms = task.records[0][1]
    assert norms.shape == (12,) and torch.all(norms > 0)
    assert norms[-1] > norms[0]  # the tanh RNN's gradient shrinks going back in time


def test_teacher_forcing_ignores_padding():
    torch.manual_seed(0)
    model = create_model("seq2seq_lstm", src_vocab=5, tgt_vocab=5, num_hiddens=8)
    src = torch.randint(1, 5, (3, 4))
    tgt = torch.tensor([[3, 4, 0, 0], [2, 0, 0, 0], [1, 2, 3, 4]])
    tgt_in = torch.cat([torch.zeros(3, 1, dtype=torch.long), tgt[:, :-1]], 1)
    loss, _ = TeacherForcing(pad=0).compute(model, (src, tgt_in, tgt))
    logits = model(src, tgt_in)
    real = tgt != 0
    expected = torch.nn.functional.cross_entropy(logits[real], tgt[real])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


# ---- experiment helpers ----------------------------------------------------------------------


@pytest.mark.parametrize("task", ["reverse", "sort"])
def test_digit_pairs_are_reversed_or_sorted_with_end_token(task):
    cfg = Seq2SeqConfig(task=task, min_len=2, max_len=6)
    src, tgt_in, tgt, lengths = digit_pairs(cfg, 50, seed=0)
    assert src.shape == (50, 6) and tgt.shape == tgt_in.shape == (50, 7)
    for s, t_in, t, n in zip(src.tolist(), tgt_in.tolist(), tgt.tolist(), lengths.tolist()):
        digits = [d - DIGIT0 for d in s[6 - n :]]
        assert s[: 6 - n] == [0] * (6 - n)  # front padding
        expected = digits[::-1] if task == "reverse" else sorted(digits)
        assert [d - DIGIT0 for d in t[:n]] == expected and t[n] == EOS
        assert t_in[0] == BOS and t_in[1 : n + 1] == t[:n]


def test_recursive_forecast_feeds_predictions_back():
    X = torch.arange(5.0).reshape(1, 5, 1)
    trend = recursive_forecast(lambda x: 2 * x[:, -1] - x[:, -2], X, 3)  # linear extrapolation
    assert trend.tolist() == [[5.0, 6.0, 7.0]]


# ---- the IMDB loader -------------------------------------------------------------------------


def _review_folder(root, reviews: dict):
    for (split, label), texts in reviews.items():
        folder = root / "aclImdb" / split / label
        folder.mkdir(parents=True)
        for i, text in enumerate(texts):
            (folder / f"{i}_7.txt").write_text(text, encoding="utf-8")


def test_imdb_reads_the_standard_layout(tmp_path):
    _review_folder(
        tmp_path,
        {
            ("train", "pos"): ["A great film.<br />Great!", "great great fun"],
            ("train", "neg"): ["An awful film", "awful"],
            ("test", "pos"): ["great unseenword"],
            ("test", "neg"): ["awful film"],
        },
    )
    for folder in (tmp_path, tmp_path / "aclImdb"):  # the folder or its parent
        ds = data.load("imdb", dir=str(folder), T=4)
        assert ds.train[0].shape == (4, 4) and ds.test[0].shape == (2, 4)
        assert ds.train[1].tolist() == [0, 0, 1, 1] and ds.classes == ("neg", "pos")
    vocab = ds.vocab
    assert vocab[:3] == ("<pad>", "<unk>", "great")  # most frequent training word first
    first = ds.test[0][1].tolist()  # "great unseenword", front-padded
    assert first == [PAD, PAD, vocab.index("great"), UNKNOWN]
    few = data.load("imdb", dir=str(tmp_path), T=4, vocab_size=1)
    assert len(few.vocab) == 3


def test_imdb_missing_or_incomplete_folder_is_one_offline_line(tmp_path):
    for where in (None, str(tmp_path)):
        with pytest.raises(DataError) as error:
            data.load("imdb", dir=where)
        assert "\n" not in str(error.value) and "offline" in str(error.value)
    _review_folder(tmp_path, {(s, lab): [] for s in ("train", "test") for lab in ("pos", "neg")})
    with pytest.raises(DataError, match="no .txt reviews"):
        data.load("imdb", dir=str(tmp_path))


def test_synthetic_reviews_load_through_the_imdb_loader(tmp_path):
    root = write_synthetic_reviews(tmp_path, per_label=5, seed=0)
    ds = data.load("imdb", dir=str(root), T=20)
    assert ds.train[0].shape == (10, 20) and ds.test[1].tolist() == [0] * 5 + [1] * 5
