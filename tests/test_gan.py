"""The GAN task: losses as formulas, n_critic counting, gradient penalty, EMA, exact resume."""

import copy

import pytest
import torch
import torch.nn.functional as F

from dllab.engine import Callback, ClipNorm, ModelCheckpoint, Schedule, Trainer
from dllab.errors import ConfigError
from dllab.models import create_model
from dllab.models.gan import (
    GAN,
    GANTask,
    frozen,
    generator_loss,
    gradient_penalty,
    r1_penalty,
    set_adam_betas,
)
from dllab.models.srgan import SuperResolutionTask
from helpers import StopAt, same_weights


def make_gan(seed=0, pack=1, num_classes=None, ema=True):
    torch.manual_seed(seed)
    G = create_model("gan_generator_2d", latent_dim=2, num_hiddens=16, num_layers=2)
    D = create_model("gan_discriminator_2d", pack=pack, num_hiddens=16, num_layers=2)
    return GAN(G, D, latent_dim=2, num_classes=num_classes, ema=ema)


def make_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g) * 0.1 + torch.tensor([1.0, -1.0])


def gan_trainer(task=None, seed=0, **kwargs):
    return Trainer(make_gan(seed), loss=task or GANTask(), lr=1e-3, quiet=True, seed=seed, **kwargs)


def test_pacgan_networks_have_the_papers_shapes_and_maxout_takes_the_largest_piece():
    G = create_model("pacgan_generator_2d")
    D = create_model("pacgan_discriminator_2d", pack=3)
    assert G(torch.randn(5, 2)).shape == (5, 2) and D(torch.randn(5, 6)).shape == (5, 1)
    hidden = [m for m in G.modules() if isinstance(m, torch.nn.Linear)][:-1]
    assert [m.out_features for m in hidden] == [400] * 4 and all(m.bias is None for m in hidden)
    maxout = D[0]
    assert maxout.linear.out_features == 200 * 5
    x = torch.randn(4, 6)
    pieces = maxout.linear(x).reshape(4, 200, 5)
    assert torch.equal(maxout(x), pieces.max(dim=2).values)
    weights = torch.cat([m.weight.flatten() for m in D.modules() if isinstance(m, torch.nn.Linear)])
    assert abs(weights.std().item() - 0.02) < 0.002  # N(0, 0.02) as PacGAN's code


def test_veegan_networks_are_the_unrolled_gans_relu_nets_with_orthogonal_weights():
    G = create_model("veegan_generator_2d")
    D = create_model("veegan_discriminator_2d", pack=2)
    assert G(torch.randn(5, 256)).shape == (5, 2) and D(torch.randn(5, 4)).shape == (5, 1)
    linears = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [128, 128, 2]
    assert sum(isinstance(m, torch.nn.ReLU) for m in D.modules()) == 2
    w = linears[1].weight  # square: orthogonal rows scaled by the gain 1.4
    assert torch.allclose(w @ w.T, 1.4**2 * torch.eye(128), atol=1e-4)


def test_the_generators_step_computes_no_discriminator_weight_gradients():
    trainer = gan_trainer()
    D = trainer.model.discriminator
    D.net[0].weight.requires_grad_(False)  # a layer frozen by the user stays frozen
    trainable = [p for p in D.parameters() if p.requires_grad]
    accumulated = []
    for parameter in trainable:
        parameter.register_post_accumulate_grad_hook(lambda p: accumulated.append(p))
    trainer.fit(make_data(n=128), num_epochs=1, batch_size=64)  # 2 steps, each D's then G's
    assert len(accumulated) == 2 * len(trainable)  # D's own steps only
    assert not D.net[0].weight.requires_grad
    assert all(p.requires_grad for p in trainable)


def test_frozen_restores_each_flag_even_when_the_block_fails():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    net[0].bias.requires_grad_(False)
    with pytest.raises(RuntimeError), frozen(net):
        assert not any(p.requires_grad for p in net.parameters())
        raise RuntimeError
    assert [p.requires_grad for p in net.parameters()] == [True, False, True, True]


def test_the_generator_can_learn_at_its_own_rate():
    trainer = gan_trainer(GANTask(generator_lr=1e-2))
    trainer.fit(make_data(), num_epochs=1, batch_size=64)
    optimizers = trainer.optimizers
    assert optimizers["generator"].param_groups[0]["lr"] == 1e-2
    assert optimizers["discriminator"].param_groups[0]["lr"] == 1e-3


def test_generator_losses_are_the_formulas():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    d = torch.sigmoid(logits)
    assert generator_loss("minimax", logits) == pytest.approx(torch.log(1 - d).mean().item())
    assert generator_loss("non_saturating", logits) == pytest.approx(-torch.log(d).mean().item())
    assert generator_loss("wgan_gp", logits) == pytest.approx(-logits.mean().item())


def test_minimax_gradient_vanishes_where_the_non_saturating_one_does_not():
    logits = torch.tensor([-8.0], requires_grad=True)  # D is sure the sample is fake
    (grad_mm,) = torch.autograd.grad(generator_loss("minimax", logits), logits)
    (grad_ns,) = torch.autograd.grad(generator_loss("non_saturating", logits), logits)
    assert abs(grad_mm.item()) < 1e-3 < abs(grad_ns.item())


def test_gradient_penalty_equals_a_hand_computation():
    # Critic D(x) = w·x + (x·x)/2: ∇D(x) = w + x.
    w = torch.tensor([0.5, -1.0, 2.0])

    def critic(x):
        return x @ w + 0.5 * (x * x).sum(1)

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    eps = torch.rand(4, 1, generator=g)
    x_hat = eps * real + (1 - eps) * fake
    expected = (((w + x_hat).norm(dim=1) - 1) ** 2).mean()
    assert gradient_penalty(critic, real, fake, eps).item() == pytest.approx(expected.item())


def test_r1_penalty_equals_a_hand_computation_and_its_gradient_trains_the_discriminator():
    # D(x) = w·x + (x·x)/2: ∇_x D(x) = w + x, so E ||∇D||² = E ||w + x||² and its gradient
    # with respect to w is 2 E (w + x).
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)

    def discriminator(x):
        return x @ w + 0.5 * (x * x).sum(1)

    real = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    penalty = r1_penalty(discriminator, real)
    expected = (w + real).square().sum(1).mean()
    assert penalty.item() == pytest.approx(expected.item())
    (grad,) = torch.autograd.grad(penalty, w)
    torch.testing.assert_close(grad, 2 * (w + real).mean(0).detach())


def test_the_r1_weight_adds_half_gamma_times_the_penalty_to_the_discriminators_loss():
    model = make_gan()
    real, fake = make_data(8), torch.randn(8, 2)
    plain, _ = GANTask().discriminator_loss(model, real, fake, None)
    loss, logs = GANTask(r1_weight=10.0).discriminator_step_loss(model, real, fake, None, step=7)
    assert logs["r1"].item() == pytest.approx(r1_penalty(model.discriminator, real).item())
    assert (loss - plain).item() == pytest.approx(5.0 * logs["r1"].item(), rel=1e-5)
    with pytest.raises(ConfigError, match="R1"):
        GANTask("wgan_gp", r1_weight=1.0)


def test_lazy_r1_adds_k_times_the_penalty_on_every_kth_step_and_nothing_between():
    model = make_gan()
    real, fake = make_data(8), torch.randn(8, 2)
    plain, _ = GANTask().discriminator_loss(model, real, fake, None)
    lazy = GANTask(r1_weight=10.0, r1_every=4)
    loss, logs = lazy.discriminator_step_loss(model, real, fake, None, step=8)
    assert (loss - plain).item() == pytest.approx(10.0 * 4 / 2 * logs["r1"].item(), rel=1e-5)
    skipped, logs = lazy.discriminator_step_loss(model, real, fake, None, step=9)
    assert "r1" not in logs and skipped.item() == pytest.approx(plain.item())
    with pytest.raises(ConfigError, match="r1_every"):
        GANTask(r1_weight=1.0, r1_every=0)


def test_lazy_r1_is_logged_on_its_steps_and_averaged_over_them_alone():
    t = gan_trainer(GANTask(r1_weight=1.0, r1_every=3))
    history = t.fit(make_data(128), num_epochs=1, batch_size=16)  # 8 steps: R1 on 0, 3, 6
    r1_steps = [r for r in history.steps if "r1" in r]
    assert [r["step"] for r in r1_steps] == [1, 4, 7]  # a record's step counts the steps done
    assert len(history.steps) == 8 and all("loss" in r for r in history.steps)
    mean = sum(r["r1"] for r in r1_steps) / 3
    assert history.epochs[0]["r1"] == pytest.approx(mean)
    assert history.epochs[0]["r1"] > 0


def test_discriminator_loss_with_one_sided_label_smoothing():
    model = make_gan()
    real, fake = make_data(8), torch.randn(8, 2)
    task = GANTask(label_smoothing=0.1)
    loss, logs = task.discriminator_loss(model, real, fake, None)
    r, f = model.discriminator(real).reshape(-1), model.discriminator(fake).reshape(-1)
    expected = -(0.9 * F.logsigmoid(r) + 0.1 * F.logsigmoid(-r)).mean() - F.logsigmoid(-f).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert logs["d_real"].item() == pytest.approx(torch.sigmoid(r).mean().item())


class StepCounter(Callback):
    """Counts each optimizer's steps through Adam's per-parameter step counter."""

    def on_step_end(self, trainer, record):
        self.counts = {
            name: int(opt.state[opt.param_groups[0]["params"][0]]["step"]) if opt.state else 0
            for name, opt in trainer.optimizers.items()
        }


@pytest.mark.parametrize("n_critic", [1, 3, 5])
def test_n_critic_discriminator_steps_per_generator_step(n_critic):
    counter = StepCounter()
    t = gan_trainer(GANTask(n_critic=n_critic), callbacks=[counter])
    t.fit(make_data(240), num_epochs=2, batch_size=16)  # 15 steps per epoch
    assert counter.counts == {"discriminator": 30, "generator": 30 // n_critic}


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "wgan_gp"])
def test_a_tiny_gan_trains_without_nan_and_moves_towards_the_data(loss):
    t = gan_trainer(GANTask(loss, ema_decay=0.9))
    model = t.model
    target = torch.tensor([1.0, -1.0])  # the data's mean

    def distance():
        return (model.sample(model.noise(500)).mean(0) - target).norm().item()

    start = distance()
    history = t.fit(make_data(64), num_epochs=300, batch_size=64)
    assert all(torch.isfinite(torch.tensor(v)).all() for v in history.history.values())
    if loss == "wgan_gp":  # WGAN-GP needs many more steps here: its critic's score is finite
        assert len(history.history["gradient_penalty"]) == 300
    else:
        assert distance() < 0.2 * start


def test_ema_is_the_running_mean_of_the_generators_then_their_moving_average():
    t = gan_trainer(GANTask(ema_decay=0.75))
    model = t.model
    expected = None
    for u in range(1, 6):  # one generator step per fit call
        t.fit(make_data(32), num_epochs=1, batch_size=32)
        current = copy.deepcopy(model.generator.state_dict())
        decay = min(0.75, (u - 1) / u)  # 0, 1/2, 2/3, then 0.75: nothing left of the init
        expected = current if expected is None else {
            name: decay * expected[name] + (1 - decay) * value for name, value in current.items()
        }  # fmt: skip
        for name, ema in model.ema_generator.state_dict().items():
            assert torch.allclose(ema, expected[name], atol=1e-6), (u, name)
    assert not any(p.requires_grad for p in model.ema_generator.parameters())


def test_pacgan_packs_samples_for_the_discriminator():
    torch.manual_seed(0)
    model = make_gan(pack=3)
    task = GANTask(pack=3)
    X, y, z = task._split(model, (make_data(10),))
    assert X.shape == (9, 2) and z.shape == (9, 2)  # trimmed to a multiple of the pack
    t = Trainer(model, loss=task, quiet=True)
    t.fit(make_data(90), num_epochs=1, batch_size=30)
    assert torch.isfinite(torch.tensor(t.history.history["loss"])).all()


def test_pacgan_stacks_images_as_channels_and_packs_one_class():
    torch.manual_seed(0)
    G = create_model("dcgan_generator_digits", latent_dim=4, width=8, refine=True)
    D = create_model("dcgan_discriminator_digits", width=8, pack=2, refine=True)
    model, task = GAN(G, D, latent_dim=4), GANTask(pack=2)
    X = torch.rand(6, 1, 8, 8)
    packed = task._critic_input(model, X, None)
    assert packed.shape == (3, 2, 8, 8) and torch.equal(packed[1, 1], X[3, 0])
    assert D(packed).shape == (3, 1)
    G = create_model("gan_generator_digits", latent_dim=4, num_classes=10, num_hiddens=8)
    D = create_model("gan_discriminator_digits", num_classes=10, num_hiddens=8, pack=2)
    conditional = GAN(G, D, latent_dim=4, num_classes=10)
    y = torch.tensor([3, 1, 3, 1, 7, 7])
    X, y_sorted, z = task._split(conditional, (X, y))
    assert y_sorted.tolist() == [1, 1, 3, 3, 7, 7]  # a pack holds digits of one class
    assert torch.equal(z[:, 4:].argmax(1), y_sorted)  # fakes asked for the same classes
    t = Trainer(conditional, loss=task, quiet=True)
    t.fit((torch.rand(12, 1, 8, 8), torch.arange(12) % 3), num_epochs=1, batch_size=6)
    assert torch.isfinite(torch.tensor(t.history.history["loss"])).all()


def test_refined_dcgan_adds_a_3x3_convolution_at_each_size():
    G = create_model("dcgan_generator_digits", latent_dim=4, width=8, refine=True)
    D = create_model("dcgan_discriminator_digits", width=8, refine=True)
    assert G(torch.randn(5, 4)).shape == (5, 1, 8, 8) and D(torch.rand(5, 1, 8, 8)).shape == (5, 1)
    kernels = [m.kernel_size for m in G.modules() if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(3, 3), (3, 3)]  # at 4x4, and the 8x8 map's to the image
    plain = create_model("dcgan_generator_digits", latent_dim=4, width=8)
    assert not any(type(m) is torch.nn.Conv2d for m in plain.modules())  # transposed only


def test_conditional_gan_feeds_the_label_to_both_networks():
    torch.manual_seed(0)
    G = create_model("gan_generator_digits", latent_dim=4, num_classes=10, num_hiddens=8)
    D = create_model("gan_discriminator_digits", num_classes=10, num_hiddens=8)
    model = GAN(G, D, latent_dim=4, num_classes=10)
    y = torch.tensor([3, 7])
    z = model.noise(2, y)
    assert z.shape == (2, 14) and torch.equal(z[:, 4:].argmax(1), y)
    X = torch.rand(6, 1, 8, 8)
    t = Trainer(model, loss=GANTask(), quiet=True)
    t.fit((X, torch.arange(6)), num_epochs=1, batch_size=3)
    with pytest.raises(ConfigError, match="condition"):
        t.fit(X, num_epochs=2, batch_size=3)


def test_gan_optimizers_use_radford_betas_and_the_helper_sets_them_on_any_adam():
    t = gan_trainer()
    for optimizer in t.optimizers.values():
        assert optimizer.param_groups[0]["betas"] == (0.5, 0.999)  # Radford et al., §4
    adam = torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    set_adam_betas([adam, sgd])
    assert adam.param_groups[0]["betas"] == (0.5, 0.999)
    assert "betas" not in sgd.param_groups[0]  # other optimizers are left as they are


def test_bad_gan_settings_are_config_errors():
    with pytest.raises(ConfigError):
        GANTask("hinge")
    with pytest.raises(ConfigError):
        GANTask(n_critic=0)
    with pytest.raises(ConfigError, match="unknown optimizer 'critic'"):
        gan_trainer(schedule={"critic": "cosine"}).fit(make_data(32), batch_size=16)


def test_each_gan_optimizer_follows_its_own_schedule_once_per_batch():
    """One spec schedules both networks; a dict gives each its own. Every schedule steps once
    per batch, also for the discriminator's n_critic steps per generator step."""
    task = GANTask("wgan_gp", n_critic=2)
    both = gan_trainer(task, schedule="cosine")
    both.fit(make_data(64), num_epochs=2, batch_size=16)  # 8 batches
    for key in ("generator", "discriminator"):
        assert both.schedulers[key].last_epoch == 8
        assert both.optimizers[key].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    own = gan_trainer(task, schedule={"discriminator": Schedule("step", step_epochs=1, gamma=0.5)})
    own.fit(make_data(64), num_epochs=2, batch_size=16)
    assert list(own.schedulers) == ["discriminator"]
    assert own.optimizers["discriminator"].param_groups[0]["lr"] == pytest.approx(1e-3 * 0.25)
    assert own.optimizers["generator"].param_groups[0]["lr"] == pytest.approx(1e-3)
    lrs = [(e["lr_generator"], e["lr_discriminator"]) for e in own.history.epochs]
    assert lrs == [pytest.approx((1e-3, 5e-4)), pytest.approx((1e-3, 2.5e-4))]


def test_clipping_logs_of_each_gan_network_stay_per_step():
    trainer = gan_trainer(grad_clip=ClipNorm(1.0))
    trainer.fit(make_data(64), num_epochs=1, batch_size=16)
    logged = {"grad_norm_generator", "grad_norm_discriminator", "clip_factor_generator"}
    assert logged <= set(trainer.history.steps[-1])
    assert not any(k.startswith(("grad_norm", "clip_factor")) for k in trainer.history.epochs[0])


@pytest.mark.slow
@pytest.mark.parametrize("stop_step", [7, 16])  # mid-epoch (between G steps), end of an epoch
def test_resume_of_a_gan_run_equals_an_uninterrupted_run(tmp_path, stop_step):
    X = make_data(128)
    task = GANTask("wgan_gp", n_critic=3)
    schedule = {"generator": "cosine", "discriminator": "onecycle"}  # restored with the rest
    reference = gan_trainer(task, schedule=schedule)
    reference.fit(X, num_epochs=4, batch_size=16)
    checkpoints = ModelCheckpoint(tmp_path, min_interval_s=0)
    first = gan_trainer(task, schedule=schedule, callbacks=[checkpoints, StopAt(stop_step)])
    with pytest.raises(KeyboardInterrupt):
        first.fit(X, num_epochs=4, batch_size=16)
    checkpoints = ModelCheckpoint(tmp_path, min_interval_s=0)
    resumed = gan_trainer(task, seed=0, schedule=schedule, callbacks=[checkpoints])
    resumed.fit(X, num_epochs=4, batch_size=16, resume=tmp_path)
    assert resumed.history.steps == reference.history.steps
    assert (
        resumed.history.epochs[-1]["lr_discriminator"]
        == reference.history.epochs[-1]["lr_discriminator"]
    )
    assert same_weights(resumed.model, reference.model)  # generator, discriminator and EMA


def test_pixelcnn_is_causal_in_raster_order():
    torch.manual_seed(0)
    model = create_model("pixelcnn_digits", channels=8, num_layers=3)
    x = torch.bernoulli(torch.full((1, 1, 8, 8), 0.5))
    for i, j in [(0, 0), (3, 4), (7, 7)]:
        flipped = x.clone()
        flipped[0, 0, i, j] = 1 - flipped[0, 0, i, j]
        changed = (model(flipped) != model(x))[0, 0].flatten()  # (64,)
        position = 8 * i + j
        assert not changed[: position + 1].any()  # pixel i,j and all before it: unchanged
        if position < 63:
            assert changed[position + 1 :].any()


def test_super_resolution_task_adds_the_content_loss():
    torch.manual_seed(0)
    G = create_model("srgan_generator_digits", channels=8, num_blocks=1)
    D = create_model("dcgan_discriminator_digits", width=8)
    model = GAN(G, D, latent_dim=0, ema=False)
    task = SuperResolutionTask(lambda a, b: F.mse_loss(a, b), adversarial_weight=0.5)
    X = torch.rand(4, 1, 8, 8)
    low = F.avg_pool2d(X, 2)
    loss, logs = task.compute(model.eval(), (X, low))
    fake = G(low)
    expected = F.mse_loss(fake, X) + 0.5 * F.softplus(-D(fake)).mean()
    assert logs["loss_g"].item() == pytest.approx(expected.item(), rel=1e-5)
