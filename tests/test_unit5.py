"""Unit V experiments: each quick config once, and the numbers they promise in quick form."""

import pytest

from dllab.experiments import list_experiments
from dllab.syllabus import TOPICS


@pytest.fixture
def metrics(quick_runs):
    """An experiment's quick run (made once per session) -> its metrics."""
    return lambda name: quick_runs(name)[1]


def test_every_unit5_topic_has_an_experiment():
    shown = {t for e in list_experiments(5) for t in e.topics}
    assert set(TOPICS[5]) - shown == set()


def test_the_pca_started_autoencoder_is_no_worse_than_pca(metrics):
    m = metrics("ae-compression")
    assert m["ae_mse_k2"] <= 1.01 * m["pca_mse_k2"]
    assert m["compression_ratio_k2"] == 32
    assert 0 < m["conv_ae_mse_k2"] < 0.2


def test_denoising_raises_the_psnr_of_heavy_noise(metrics):
    m = metrics("denoising")
    for kind in ("gaussian", "salt_pepper"):
        assert m[f"psnr_denoised_{kind}_50"] > m[f"psnr_noisy_{kind}_50"]


def test_vae_reports_the_elbo_with_its_parts(metrics):
    m = metrics("vae")
    assert m["test_elbo"] == pytest.approx(-(m["test_recon"] + m["test_kl"]), rel=1e-5)
    assert m["test_kl"] >= 0 and m["test_recon"] > 0


def test_the_sparsity_penalties_lower_the_mean_activation(metrics):
    m = metrics("sparse-ae")
    assert m["mean_activation_kl"] < 0.5 * m["mean_activation_plain"]
    assert m["mean_activation_l1"] < m["mean_activation_plain"]


def test_conv_ae_reconstructs(metrics):
    m = metrics("conv-ae")
    assert 0 < m["conv_test_mse"] < 0.1 and m["conv_parameters"] < m["dense_parameters"]


def test_held_out_digits_reconstruct_worse(metrics):
    m = metrics("anomaly-detection")
    assert 0.5 < m["roc_auc"] <= 1
    assert m["mean_score_anomalous"] > m["mean_score_normal"]


def test_inpainting_metrics_are_masked_errors(metrics):
    m = metrics("inpainting")
    assert 0 < m["masked_mse"] < 1 and 0 < m["masked_mse_mean_fill"] < 1


@pytest.mark.parametrize("name", ["aae", "bigan", "ali", "vae-gan"])
def test_hybrid_codes_are_probed(metrics, name):
    m = metrics(name)
    assert 0.1 < m["linear_probe_accuracy"] <= 1
    assert m["linear_probe_accuracy_pixels"] > 0.9
    assert 0 < m["test_recon_mse"] < 0.2
    assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1  # prior samples, scored
    assert m["real_recall"] > 0.5


def test_ae_vs_gan_table_has_fid_for_every_model_and_recon_for_encoders(metrics):
    m = metrics("ae-vs-gan")
    for key in ("ae", "vae", "gan", "vaegan"):
        assert m[f"classifier_fid_{key}"] > m["real_classifier_fid"] > 0
        assert 0 <= m[f"diversity_{key}"] < 2
        assert 0 <= m[f"precision_{key}"] <= 1 and 0 <= m[f"recall_{key}"] <= 1
    assert m["real_precision"] > 0.5 and m["real_recall"] > 0.5
    assert {k for k in m if k.startswith("recon_mse_")} == {
        "recon_mse_ae",
        "recon_mse_vae",
        "recon_mse_vaegan",
    }
