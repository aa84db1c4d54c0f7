"""Augmentation: shapes, seeding, probabilities, and each transform checked against an exact
reference (torch.rot90, torch.roll, pad-and-crop, box areas, the mixup loss identity)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dllab.data import augment as A
from dllab.errors import ConfigError

NAMES = A.list_augmentations()
DETERMINISTIC = {"sobel", "laplacian"}  # no random parameter at p = 1
SIGNAL_NAMES = [n for n in NAMES if 3 in A.augmentation(n).ndims]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(shape=(8, 3, 12, 12), seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(shape, generator=gen(seed), dtype=dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_kept(name, dtype):
    for shape in [(5, 1, 8, 8), (4, 3, 10, 12)]:
        out = A.augmentation(name)(images(shape, dtype=dtype), gen())
        assert out.shape == shape and out.dtype == dtype and torch.isfinite(out).all()


@pytest.mark.parametrize("name", SIGNAL_NAMES)
def test_signals_kept(name):
    x = torch.randn(6, 2, 40, generator=gen())
    assert A.augmentation(name)(x, gen()).shape == x.shape


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output_other_seed_other_output(name):
    x, transform = images((16, 3, 12, 12)), A.augmentation(name)
    assert torch.equal(transform(x, gen(1)), transform(x, gen(1)))
    if name not in DETERMINISTIC:
        assert not torch.equal(transform(x, gen(1)), transform(x, gen(2)))


@pytest.mark.parametrize("name", NAMES)
def test_p0_is_identity_p1_changes_every_sample(name):
    x = images()
    assert torch.equal(A.augmentation(name, p=0.0)(x, gen()), x)
    strong = {"sigma": (0.5, 2.0)} if name == "blur" else {}  # σ = 0.1 leaves 12x12 images be
    changed = (A.augmentation(name, p=1.0, **strong)(x, gen()) != x).flatten(1).any(1)
    assert changed.all()


def test_p_selects_whole_samples():
    x = images((400, 1, 4, 4))
    out = A.augmentation("hflip", p=0.3)(x, gen())
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert ((out == x).flatten(1).all(1) | flipped).all()
    assert 0.2 < flipped.float().mean() < 0.4


def test_compose_is_sequential_with_one_generator():
    x = images()
    steps = [A.augmentation("rotate"), A.augmentation("color_jitter"), A.augmentation("cutout")]
    g = gen()
    expected = steps[2](steps[1](steps[0](x, g), g), g)
    assert torch.equal(A.Compose(steps)(x, gen()), expected)


def test_rotation_by_0_and_360_and_double_flips_give_the_input():
    x = images()
    for degrees in (0.0, 360.0):
        assert torch.allclose(A.Affine(degrees=(degrees, degrees))(x, gen()), x, atol=1e-5)
    for axis in ("horizontal", "vertical"):
        flip = A.Flip(axis=axis, p=1.0)
        assert torch.equal(flip(flip(x, gen()), gen()), x)
    mirror = A.Affine(hflip=1.0, vflip=1.0)
    assert torch.allclose(mirror(mirror(x, gen()), gen()), x, atol=1e-5)


def test_rotation_by_90_is_rot90_counter_clockwise():
    x = images((4, 2, 9, 9))
    out = A.Affine(degrees=(90.0, 90.0))(x, gen())
    expected = torch.rot90(x, 1, dims=(-2, -1))
    assert torch.allclose(out[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5)
    assert torch.allclose(out, expected, atol=1e-3)  # the border, up to interpolation


def test_whole_pixel_translation_is_roll_inside_and_zero_outside():
    x = images((3, 1, 8, 8))
    out = A.Affine(translate=(0.25, 0.25))(x, gen())  # 2 pixels right and down
    rolled = torch.roll(x, (2, 2), dims=(-2, -1))
    assert torch.allclose(out[..., 2:, 2:], rolled[..., 2:, 2:], atol=1e-6)
    assert out[..., :2, :].abs().max() < 1e-6 and out[..., :, :2].abs().max() < 1e-6


def test_zoom_scales_coordinates_about_the_centre():
    u = torch.arange(8.0) - 3.5  # centred x coordinate of each pixel
    ramp = u.expand(1, 1, 8, 8)  # bilinear sampling reproduces a linear image exactly
    assert torch.allclose(A.Affine(scale=(2.0, 2.0))(ramp, gen()), ramp / 2, atol=1e-5)
    shrunk = A.Affine(scale=(0.5, 0.5))(ramp, gen())  # pixel u reads 2u: the middle half only
    assert torch.allclose(shrunk[..., 2:6, 2:6], ramp[..., 2:6, 2:6] * 2, atol=1e-5)
    assert shrunk[..., :, :1].abs().max() < 1e-6


def test_colour_ops_stay_in_unit_range_and_are_identity_when_neutral():
    x = images((16, 3, 8, 8))
    strong = A.ColorJitter(brightness=(0, 3), contrast=(0, 3), saturation=(0, 3), hue=0.5)
    out = strong(x, gen())
    assert out.min() >= 0 and out.max() <= 1
    neutral = A.ColorJitter(brightness=0, contrast=0, saturation=0, hue=0)
    assert torch.allclose(neutral(x, gen()), x, atol=1e-6)


def test_colour_factors_match_their_definitions():
    x = 0.4 + 0.2 * images((4, 3, 8, 8))  # muted colours: no channel leaves [0, 1] below
    assert torch.allclose(A.ColorJitter(brightness=(1.5, 1.5))(x, gen()), 1.5 * x, atol=1e-6)
    grey = A.ColorJitter(saturation=(0.0, 0.0))(x, gen())
    luma = torch.einsum("c,bchw->bhw", A.YIQ_FROM_RGB[0].float(), x)
    assert torch.allclose(grey, luma[:, None].expand_as(x), atol=1e-6)
    flat = A.ColorJitter(contrast=(0.0, 0.0))(x, gen())
    assert torch.allclose(flat, luma.mean((1, 2))[:, None, None, None].expand_as(x), atol=1e-6)
    there = A.ColorJitter(hue=(0.2, 0.2))(x, gen())
    back = A.ColorJitter(hue=(-0.2, -0.2))(there, gen())
    assert torch.allclose(back, x, atol=1e-5)


def test_hue_turns_red_towards_green_as_in_hsv():
    red = torch.tensor([0.6, 0.2, 0.2]).view(1, 3, 1, 1)
    out = A.ColorJitter(hue=(0.25, 0.25))(red, gen()).flatten()
    assert out[1] > out[0] and out[1] > out[2]


def test_saturation_and_hue_leave_grey_images_unchanged():
    x = images((4, 1, 8, 8))
    assert torch.allclose(A.ColorJitter(saturation=(0.0, 3.0), hue=0.5)(x, gen()), x, atol=1e-6)


def test_blur_keeps_a_constant_image_and_the_mass_of_an_impulse():
    constant = torch.full((3, 2, 9, 9), 0.3)
    blurred = A.GaussianBlur(sigma=(0.5, 2.0))(constant, gen())
    assert torch.allclose(blurred, constant, atol=1e-6)
    impulse = torch.zeros(2, 1, 21, 21)
    impulse[..., 10, 10] = 1.0
    out = A.gaussian_blur(impulse, torch.tensor([1.0, 2.0]))
    assert torch.allclose(out.sum((1, 2, 3)), torch.ones(2), atol=1e-5)
    assert out[0, 0, 10, 10] > out[1, 0, 10, 10]  # the wider kernel spreads more


def test_blur_matches_a_per_image_convolution():
    x, sigma = images((3, 2, 10, 10)), torch.tensor([0.5, 1.0, 1.6])
    out = A.gaussian_blur(x, sigma)
    for b, s in enumerate(sigma.tolist()):
        r = math.ceil(3 * s)
        g = torch.exp(-(torch.arange(-r, r + 1.0) ** 2) / (2 * s**2))
        kernel = (g[:, None] * g[None, :]) / g.sum() ** 2
        padded = F.pad(x[b : b + 1], (r, r, r, r), mode="replicate")
        ref = F.conv2d(padded.transpose(0, 1), kernel[None, None]).transpose(0, 1)
        assert torch.allclose(out[b : b + 1], ref, atol=1e-5)


def test_edges_of_constants_and_ramps():
    constant = torch.full((2, 3, 7, 7), 0.4)
    assert A.sobel(constant).abs().max() == 0 and A.laplacian(constant).abs().max() == 0
    ramp = torch.arange(7.0).expand(1, 1, 7, 7) * 0.1  # slope 0.1 per pixel along x
    assert torch.allclose(A.sobel(ramp)[..., 1:-1], torch.full((1, 1, 7, 5), 0.1), atol=1e-6)
    assert A.laplacian(ramp)[..., 1:-1].abs().max() < 1e-6
    assert torch.equal(A.Sharpen(amount=0.0)(images(), gen()), images())


def test_noise_has_the_requested_std():
    x = torch.zeros(4, 1, 64, 64)
    out = A.GaussianNoise(std=0.2)(x, gen())
    assert abs(float(out.std()) - 0.2) < 0.01 and abs(float(out.mean())) < 0.01


def test_cutout_zeros_exactly_one_box_of_the_requested_size():
    x = torch.ones(6, 3, 12, 12)
    out = A.augmentation("cutout", area=16 / 144)(x, gen())  # a 4x4 box
    zeros = out == 0
    assert torch.equal(zeros.sum((1, 2, 3)), torch.full((6,), 3 * 16))
    rows, cols = zeros[:, 0].any(2), zeros[:, 0].any(1)  # (B, H), (B, W): the box's extent
    assert torch.equal(rows.sum(1), torch.full((6,), 4)) and torch.equal(cols.sum(1), rows.sum(1))
    segment = A.Erase(area=0.25)(torch.ones(5, 1, 40), gen())
    assert torch.equal((segment == 0).sum((1, 2)), torch.full((5,), 10))


def test_shift_is_a_per_sample_roll_or_pad_and_crop():
    x, shifts = images((5, 2, 7, 9)), torch.tensor([[1, -2], [0, 3], [-3, 0], [2, 2], [0, 0]])
    rolled = torch.stack([torch.roll(x[b], tuple(s), (-2, -1)) for b, s in enumerate(shifts)])
    assert torch.equal(A.shift(x, shifts, "circular"), rolled)
    padded = F.pad(x, (3, 3, 3, 3))
    crops = [padded[b, :, 3 - dy : 10 - dy, 3 - dx : 12 - dx] for b, (dy, dx) in enumerate(shifts)]
    assert torch.equal(A.shift(x, shifts, "zeros"), torch.stack(crops))
    signal = torch.arange(1.0, 6.0).view(1, 1, 5)
    assert A.shift(signal, torch.tensor([[2]])).flatten().tolist() == [0, 0, 1, 2, 3]


def test_mixup_with_lam_1_is_the_identity_and_mixes_with_its_partner():
    x, y = images(), torch.arange(8)
    mixed, y_a, y_b, lam = A.mixup(x, y, gen(), lam=1.0)
    assert torch.equal(mixed, x) and torch.equal(y_a, y) and float(lam) == 1.0
    mixed, y_a, y_b, lam = A.mixup(x, y, gen(), alpha=0.4, per_sample=True)
    assert lam.shape == (8,) and ((lam >= 0) & (lam <= 1)).all()
    expected = lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[y_b]
    assert torch.allclose(mixed, expected, atol=1e-6)


@pytest.mark.parametrize("per_sample", [False, True])
def test_mixed_loss_is_the_lam_weighted_sum(per_sample):
    logits, y = torch.randn(8, 5, generator=gen()), torch.arange(8) % 5
    _, y_a, y_b, lam = A.mixup(images(), y, gen(), per_sample=per_sample)
    per = lam if per_sample else lam.expand(8)
    loss_a = F.cross_entropy(logits, y_a, reduction="none")
    loss_b = F.cross_entropy(logits, y_b, reduction="none")
    if per_sample:
        loss = A.mixed_loss(partial_ce_none, logits, y_a, y_b, lam)
        expected = (per * loss_a + (1 - per) * loss_b).mean()
        with pytest.raises(ConfigError, match="per-sample"):
            A.mixed_loss(F.cross_entropy, logits, y_a, y_b, lam)
    else:
        loss = A.mixed_loss(F.cross_entropy, logits, y_a, y_b, lam)
        expected = lam * F.cross_entropy(logits, y_a) + (1 - lam) * F.cross_entropy(logits, y_b)
    assert torch.equal(loss, expected)


def partial_ce_none(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("shape", [(8, 2, 12, 10), (8, 1, 40)])
def test_cutmix_lam_is_the_kept_area_fraction(per_sample, shape):
    y = torch.arange(8)
    x = (y + 1.0).view(-1, *[1] * (len(shape) - 1)).expand(shape).contiguous()  # image b is b+1
    for seed in range(5):
        mixed, y_a, y_b, lam = A.cutmix(x, y, gen(seed), per_sample=per_sample)
        kept = (mixed == x).flatten(1).float().mean(1)
        pasted = (mixed == x[y_b]).flatten(1).float().mean(1)
        moved = y_b != y_a  # a sample mixed with itself keeps everything
        assert torch.allclose(kept[moved], (lam if per_sample else lam.expand(8))[moved])
        assert torch.allclose(kept[moved] + pasted[moved], torch.ones(int(moved.sum())))


def test_bad_names_and_values_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean 'rotate'"):
        A.augmentation("rotat")
    with pytest.raises(ConfigError, match="unknown option 'sigma'"):
        A.augmentation("rotate", sigma=1.0)
    bad = [
        ("rotate", {"p": 1.5}),
        ("rotate", {"degrees": -3}),
        ("scale", {"scale": (1.2, 0.8)}),
        ("shear", {"shear": 95}),
        ("hue", {"hue": 0.7}),
        ("brightness", {"brightness": 1.5}),
        ("blur", {"sigma": 0.0}),
        ("crop", {"max_shift": 1.5}),
        ("erase", {"area": (0.1, 2.0)}),
        ("affine", {"degrees": "a lot"}),
    ]
    for name, kw in bad:
        with pytest.raises(ConfigError):
            A.augmentation(name, **kw)
    with pytest.raises(ConfigError, match="4 dimensions"):
        A.augmentation("rotate")(torch.zeros(2, 1, 40), gen())
    with pytest.raises(ConfigError, match="1 or 3 channels"):
        A.augmentation("hue")(torch.zeros(2, 2, 4, 4), gen())
    with pytest.raises(ConfigError, match="alpha"):
        A.mixup(images(), torch.arange(8), gen(), alpha=0.0)


def test_gallery_shows_every_transform_on_the_same_images():
    x = images((3, 3, 16, 16))
    shown = A.gallery(x)
    assert list(shown)[0] == "original" and {"mixup", "cutmix"} <= set(shown)
    assert set(A.GALLERY) <= set(shown)
    for name, out in shown.items():
        assert out.shape == x.shape and torch.isfinite(out).all(), name
    assert not torch.equal(shown["mixup"], x)  # each image mixed with the next one
    assert all(torch.equal(a, b) for a, b in zip(A.gallery(x).values(), shown.values()))


@settings(max_examples=15, deadline=None)
@pytest.mark.slow
@given(
    batch=st.integers(1, 4),
    channels=st.sampled_from([1, 3]),
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_outputs_stay_finite_on_any_shape(batch, channels, height, width, seed):
    x = torch.rand(batch, channels, height, width, generator=gen(seed))
    for name in NAMES:
        out = A.augmentation(name, p=1.0)(x, gen(seed))
        assert out.shape == x.shape and torch.isfinite(out).all(), name
    y = torch.arange(batch)
    for mix in (A.mixup, A.cutmix):
        mixed, _, _, lam = mix(x, y, gen(seed), per_sample=bool(seed % 2))
        assert torch.isfinite(mixed).all() and ((lam >= 0) & (lam <= 1)).all()
