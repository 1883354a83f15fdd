"""Flicker metric, test-time stabilization and temporal fine-tuning."""

import json
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import without_times
from PIL import Image

from videostyle.config import FinetuneConfig, Motion
from videostyle.errors import InputError
from videostyle.network.models import load_model
from videostyle.network.transformer_net import TransformerNet
from videostyle.pipeline.file import stylize_file
from videostyle.temporal.cuts import frame_correlation, is_scene_cut
from videostyle.temporal.degrade import compress_pairs, drift_pairs, gif_pairs
from videostyle.temporal.flicker import plot, warping_error
from videostyle.temporal.flow import flow_and_mask, optical_flow, valid_mask, warp_array
from videostyle.temporal.losses import output_temporal_loss
from videostyle.temporal.motion import ellipse_alpha, synthetic_pairs
from videostyle.temporal.stabilize import Stabilizer
from videostyle.training.finetune import finetune


def scene(width: int = 360, height: int = 240) -> np.ndarray:
    rng = np.random.default_rng(5)
    coarse = rng.integers(0, 255, (height // 12, width // 12, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))


def panning_frames(count: int = 8, size=(96, 72), step: int = 3) -> list[np.ndarray]:
    """A camera panning across a smooth scene, `step` pixels per frame."""
    big = scene()
    w, h = size
    return [np.ascontiguousarray(big[40:40 + h, 20 + step * i:20 + step * i + w]) for i in range(count)]


def write_lossless(path: Path, frames, pts=None, time_base=Fraction(1, 1000)) -> None:
    """FFV1; RGB frames, or RGBA frames (kept with their alpha)."""
    rgba = frames[0].shape[2] == 4
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1")
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "bgra" if rgba else "bgr0"
        stream.time_base = stream.codec_context.time_base = time_base
        for i, frame in enumerate(frames):
            f = av.VideoFrame.from_ndarray(frame, format="rgba" if rgba else "rgb24")
            f.pts = pts[i] if pts else i * 40
            f.time_base = time_base
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def colour_transform(rgb: np.ndarray) -> np.ndarray:
    """A fixed per-pixel 'style': swap channels and raise contrast."""
    x = rgb[..., ::-1].astype(np.float32)
    return ((x - 128) * 1.3 + 128).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    frames = panning_frames()
    pts = [0, 40, 90, 120, 200, 240, 270, 330]  # variable frame rate
    write_lossless(root / "original.mkv", frames, pts)
    write_lossless(root / "stable.mkv", [colour_transform(f) for f in frames], pts)
    rng = np.random.default_rng(0)
    noisy = [(colour_transform(f).astype(int) + rng.normal(0, 12, f.shape)).clip(0, 255).astype(np.uint8) for f in frames]
    write_lossless(root / "flicker.mkv", noisy, pts)
    write_lossless(root / "short.mkv", [colour_transform(f) for f in frames[:5]], pts[:5])
    write_lossless(root / "shifted.mkv", [colour_transform(f) for f in frames], [p + 20 for p in pts])
    return root


def test_stable_stylization_scores_near_the_floor_and_flicker_far_above(clips):
    stable = warping_error(clips / "original.mkv", clips / "stable.mkv")
    flicker = warping_error(clips / "original.mkv", clips / "flicker.mkv")
    assert stable.frames == flicker.frames == 8 and len(stable.per_frame) == 7
    assert stable.floor == flicker.floor > 0
    assert stable.ratio < 3, stable.ratio  # contrast x1.3 scales the floor by at most 1.69
    assert flicker.ratio > 10 * stable.ratio, (flicker.ratio, stable.ratio)
    assert all(f["mask_fraction"] > 0.8 for f in stable.per_frame)


def moving_hole(frames) -> list[np.ndarray]:
    """Alpha for each frame: opaque but for a 30x20 hole moving 4 px per frame against
    the pan (like pigs_in_a_polka.gif's holes)."""
    holes = []
    for i in range(len(frames)):
        alpha = np.full(frames[0].shape[:2], 255, np.uint8)
        alpha[20:50, 60 - 4 * i:80 - 4 * i] = 0
        holes.append(alpha)
    return holes


def test_moving_transparent_hole_is_masked_not_counted_as_flicker(tmp_path):
    """Regression: a hole moving against the pan (like pigs_in_a_polka.gif) put the
    stylized colours' distance to the background into the error at its edges, so a
    perfectly stable dark stylization measured 2.3x its floor instead of ~0.19x."""
    frames = panning_frames()
    holes = moving_hole(frames)

    def dark(rgb):  # a stable per-pixel style, far from the white background
        return colour_transform(rgb) // 3

    write_lossless(tmp_path / "opaque.mkv", frames)
    write_lossless(tmp_path / "opaque_dark.mkv", [dark(f) for f in frames])
    write_lossless(tmp_path / "holes.mkv", [np.dstack([f, a]) for f, a in zip(frames, holes)])
    write_lossless(tmp_path / "holes_dark.mkv", [np.dstack([dark(f), a]) for f, a in zip(frames, holes)])
    opaque = warping_error(tmp_path / "opaque.mkv", tmp_path / "opaque_dark.mkv")
    holes_result = warping_error(tmp_path / "holes.mkv", tmp_path / "holes_dark.mkv")
    assert opaque.ratio < 0.25
    assert abs(holes_result.ratio / opaque.ratio - 1) < 0.25, (holes_result.ratio, opaque.ratio)
    hole_share = 30 * 20 / holes[0].size
    assert all(f["mask_fraction"] <= 1 - hole_share for f in holes_result.per_frame)


def two_shots(count: int = 4) -> list[np.ndarray]:
    """``count`` frames of a pan, then a hard cut to ``count`` frames of another pan over
    the scene turned upside down."""
    other = np.ascontiguousarray(scene()[::-1, ::-1])
    second = [np.ascontiguousarray(other[100:172, 30 + 3 * i:126 + 3 * i]) for i in range(count)]
    return panning_frames(count) + second


def test_scene_cut_is_left_out_of_the_warping_error(tmp_path):
    """Regression: across bikes.mp4's hard cuts the occlusion mask kept 0-45 % of the
    pixels, so the distance between two shots' colours counted as flicker (48 % of
    the_scream-stable's error on that clip)."""
    frames = two_shots()
    write_lossless(tmp_path / "original.mkv", frames)
    write_lossless(tmp_path / "stable.mkv", [colour_transform(f) for f in frames])
    result = warping_error(tmp_path / "original.mkv", tmp_path / "stable.mkv")
    assert result.cuts == 1 and [f["cut"] for f in result.per_frame] == [False] * 3 + [True] + [False] * 3
    kept = [f for f in result.per_frame if not f["cut"]]
    assert result.warping_error == pytest.approx(np.mean([f["warping_error"] for f in kept]))
    assert result.floor == pytest.approx(np.mean([f["floor"] for f in kept]))
    assert result.ratio < 3  # as on a clip without a cut
    cut = result.per_frame[3]
    assert cut["warping_error"] > 10 * max(f["warping_error"] for f in kept)  # what used to count
    plot(result, tmp_path / "plot.png")  # draws the shots, not the cut's spike
    assert Image.open(tmp_path / "plot.png").size == (1000, 500)
    write_lossless(tmp_path / "cut_only.mkv", frames[3:5])
    with pytest.raises(InputError, match="every one of its 1 frame pairs is a scene cut"):
        warping_error(tmp_path / "cut_only.mkv", tmp_path / "cut_only.mkv")


def test_a_fade_from_a_black_noisy_frame_is_no_scene_cut_for_the_metric_or_the_stabilizer():
    # The flow fails and noise does not correlate, but a frame that is black but for noise
    # shows no picture: a stylized flash there is flicker people see, so the metric
    # measures it and the stabilizer blends it (one rule serves both).
    rng = np.random.default_rng(3)
    black = rng.normal(0, 0.5, (72, 96, 3)).clip(0, 255).round().astype(np.uint8)
    faint = (panning_frames(1)[0] * 0.02 + rng.normal(0, 0.5, (72, 96, 3))).clip(0, 255).round().astype(np.uint8)
    flow, mask = flow_and_mask(black, faint)
    assert mask.mean() < 0.5 and frame_correlation(black, faint) < 0.5
    assert not is_scene_cut(mask, black, faint)
    stabilizer = Stabilizer(0.5)
    stabilizer(black, np.full_like(black, 200))
    stabilizer(faint, np.full_like(faint, 40))
    assert stabilizer.cuts == 0
    first, second = two_shots()[3:5]
    flow, mask = flow_and_mask(first, second)
    assert is_scene_cut(mask, first, second)


def test_real_pairs_leave_a_scene_cut_out(tmp_path):
    from videostyle.temporal.video_pairs import VideoPairs
    write_lossless(tmp_path / "cut.mkv", two_shots(3))
    pairs = VideoPairs(tmp_path, 64, seed=0).pairs
    assert len(pairs) == 4  # 5 consecutive pairs, one across the cut


def test_mismatched_inputs_are_clear_errors(clips, tmp_path):
    with pytest.raises(InputError, match="has 5 frames, the original 8"):
        warping_error(clips / "original.mkv", clips / "short.mkv")
    with pytest.raises(InputError, match="cannot be paired"):
        warping_error(clips / "original.mkv", clips / "shifted.mkv")
    small = tmp_path / "small.mkv"
    write_lossless(small, [f[:40, :50] for f in panning_frames()])
    with pytest.raises(InputError, match="frame size 50x40 differs"):
        warping_error(clips / "original.mkv", small)


def test_flicker_cli_json_and_plot(clips, tmp_path):
    plot = tmp_path / "flicker.png"
    result = subprocess.run([sys.executable, "-m", "videostyle", "flicker", str(clips / "original.mkv"),
                             str(clips / "flicker.mkv"), "--json", "--plot", str(plot)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"warping_error", "floor", "ratio", "per_frame"} <= set(data)
    assert len(data["per_frame"]) == 7 and data["ratio"] > 10
    assert Image.open(plot).size == (1000, 500)
    both = subprocess.run([sys.executable, "-m", "videostyle", "flicker", str(clips / "original.mkv"),
                           str(clips / "flicker.mkv"), str(clips / "stable.mkv"), "--json", "--plot", str(plot)],
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 0, both.stderr
    lines = [json.loads(line) for line in both.stdout.splitlines()]
    assert [Path(d["stylized"]).name for d in lines] == ["flicker.mkv", "stable.mkv"]
    assert lines[0]["ratio"] > 10 * lines[1]["ratio"] and lines[0]["floor"] == lines[1]["floor"]
    bad = subprocess.run([sys.executable, "-m", "videostyle", "flicker", str(clips / "original.mkv"),
                          str(clips / "short.mkv")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")


def test_flow_and_mask_recover_a_known_shift():
    frames = panning_frames(2, step=4)
    flow = optical_flow(frames[0], frames[1])
    mask = valid_mask(flow, optical_flow(frames[1], frames[0]))
    # the camera pans right, so content moves left: frame0(x) = frame1(x - 4)
    assert abs(np.median(flow[..., 0][mask]) + 4) < 0.25 and abs(np.median(flow[..., 1][mask])) < 0.25
    assert not mask[:, :3].any()  # what leaves the frame (its left edge) is masked
    back = warp_array(frames[1], flow)
    assert np.abs(back[mask] - frames[0][mask]).mean() < 3


class NoisyStyle:
    """A flickering 'network': a fixed colour transform plus fresh noise on every frame."""

    batch_size = 2

    def __init__(self):
        self.rng = np.random.default_rng(1)

    def __call__(self, frames):
        return [(colour_transform(f).astype(int) + self.rng.normal(0, 12, f.shape)).clip(0, 255).astype(np.uint8)
                for f in frames]


def test_stabilize_reduces_measured_flicker(clips, tmp_path):
    plain, steady = tmp_path / "plain.mkv", tmp_path / "steady.mkv"
    stylize_file(clips / "original.mkv", plain, NoisyStyle())
    stylize_file(clips / "original.mkv", steady, NoisyStyle(), frame_filter=Stabilizer(0.6))
    before = warping_error(clips / "original.mkv", plain).warping_error
    after = warping_error(clips / "original.mkv", steady).warping_error
    assert after < 0.6 * before, (before, after)


def dark_fade_frames(levels=(3, 4), size=(96, 64)) -> list[np.ndarray]:
    """Two frames of a fade from black: the same smooth scene at 0..3 and 0..4 grey levels."""
    grey = scene(size[0], size[1]).astype(np.float32).mean(-1)
    grey = (grey - grey.min()) / (grey.max() - grey.min())
    return [np.repeat((grey * top).round().astype(np.uint8)[..., None], 3, -1) for top in levels]


def test_stabilize_blends_a_dark_fade_the_flow_cannot_follow_instead_of_calling_it_a_cut():
    # Before, a frame counted as a scene cut whenever the flow's mask covered under half of
    # it; that left 74 % of the frames of bbb_480p_vp9_opus_1second.webm (a fade from black)
    # unstabilized.
    first, second = dark_fade_frames()
    coverage = valid_mask(optical_flow(second, first), optical_flow(first, second)).mean()
    assert coverage < 0.5  # what made the old rule call it a cut
    stabilizer = Stabilizer(0.5)
    styled_first = np.full_like(first, 200)
    styled_second = np.full_like(second, 40)
    stabilizer(first, styled_first)
    out = stabilizer(second, styled_second)
    assert stabilizer.cuts == 0
    blended = (out != styled_second).any(-1)
    assert blended.mean() == pytest.approx(coverage, abs=0.02)  # every pixel the mask keeps, and only those
    assert np.all(out[blended] == 120)  # halfway between 40 and the warped 200


def test_stabilize_does_not_blend_pixels_with_the_output_of_a_moving_transparent_hole(tmp_path):
    """Regression: --stabilize built its mask from the flow of the unflattened RGB and
    ignored alpha, so pixels next to a moving hole (like pigs_in_a_polka.gif's) were
    blended with the stylized background of the previous frame's hole: up to 42 levels
    off a perfectly stable stylization, against at most 4 now."""
    frames = panning_frames(4)
    holes = moving_hole(frames)
    write_lossless(tmp_path / "holes.mkv", [np.dstack([f, a]) for f, a in zip(frames, holes)])

    class Dark:  # a stable per-pixel style, far from the white background
        batch_size = 2

        def __call__(self, batch):
            return [colour_transform(f) // 3 for f in batch]

    seen = []

    class Recording(Stabilizer):
        def __call__(self, original, stylized, alpha=None):
            out = super().__call__(original, stylized, alpha)
            seen.append((original, alpha, stylized, out))
            return out

    stylize_file(tmp_path / "holes.mkv", tmp_path / "out.mkv", Dark(), frame_filter=Recording(0.5))
    assert len(seen) == 4
    for (original, alpha, stylized, out), frame, hole in zip(seen, frames, holes):
        assert np.array_equal(alpha, hole)
        assert np.array_equal(original[hole == 0], np.full_like(original[hole == 0], 255))  # as the network saw it
        assert np.array_equal(original[hole == 255], frame[hole == 255])
        difference = np.abs(out.astype(int) - stylized.astype(int)).max(-1)
        assert difference[hole == 255].max() <= 8
        assert not difference[hole == 0].any()  # nothing blended into the hole itself


def test_stabilize_leaves_a_scene_cut_alone():
    first = panning_frames(1)[0]
    second = np.ascontiguousarray(scene()[::-1, ::-1][:72, :96])  # another part of the scene, upside down
    coverage = valid_mask(optical_flow(second, first), optical_flow(first, second)).mean()
    assert coverage < 0.5
    stabilizer = Stabilizer(0.5)
    stabilizer(first, colour_transform(first))
    styled = colour_transform(second)
    assert np.array_equal(stabilizer(second, styled), styled)
    assert stabilizer.cuts == 1


def test_synthetic_pairs_have_exact_flow_and_mask():
    photos = torch.from_numpy(scene(64, 64).copy()).permute(2, 0, 1)[None].float() / 255
    first, second, flow, mask = synthetic_pairs(photos, Motion(max_shift_px=4), np.random.default_rng(0))
    # with the exact flow, warping output-equal-input gives zero temporal loss where the mask holds
    assert output_temporal_loss(first, second, flow, mask).item() < 1e-10
    assert 0.6 < mask.mean().item() < 1.0


def test_moving_objects_have_exact_flow_and_mask_the_uncovered_background():
    photos = torch.from_numpy(np.stack([scene(64, 64), scene(64, 64)[::-1]]).copy()).permute(0, 3, 1, 2).float() / 255
    motion = Motion(max_shift_px=3, elastic_px=0.5, object_probability=1.0, object_shift_px=10)
    first, second, flow, mask = synthetic_pairs(photos, motion, np.random.default_rng(3))
    assert output_temporal_loss(first, second, flow, mask).item() < 1e-10
    plain = synthetic_pairs(photos, replace(motion, object_probability=0.0), np.random.default_rng(3))
    assert not torch.equal(first, plain[0])  # an object was pasted into frame 1
    # two motions: the flow is not one smooth field, and the mask drops the uncovered background and the edges
    assert (flow - plain[2]).abs().amax().item() > 2
    assert mask.mean().item() < plain[3].mean().item() - 0.02
    # without the object's own flow, the same pixels do not match: the mask is not trivially hiding it
    assert output_temporal_loss(first, second, plain[2], mask).item() > 1e-4


def test_object_radius_sets_the_size_of_the_moving_objects():
    rng = np.random.default_rng(5)
    small = ellipse_alpha(64, 100, 200, rng, (0.03, 0.05)).mean((1, 2, 3))
    large = ellipse_alpha(64, 100, 200, rng, (0.25, 0.3)).mean((1, 2, 3))
    # an ellipse of radii r1, r2 (times the shorter side, 100 px) covers pi r1 r2 100^2 / (100 * 200) of the frame
    assert 0.0014 * 0.9 < small.min().item() and small.max().item() < 0.0040 * 1.1
    assert 0.098 * 0.95 < large.min().item() and large.max().item() < 0.1414 * 1.05
    # the default range draws the same numbers as before the option existed: earlier runs repeat exactly
    default = ellipse_alpha(4, 64, 64, np.random.default_rng(3))
    assert torch.equal(default, ellipse_alpha(4, 64, 64, np.random.default_rng(3), (0.1, 0.3)))


@pytest.mark.parametrize("degrade, min_loss", [(compress_pairs, 1e-5), (gif_pairs, 1e-6)])
def test_compressed_and_gif_pairs_carry_independent_noise_and_keep_the_flow(degrade, min_loss):
    photos = torch.from_numpy(np.stack([scene(64, 64), scene(64, 64)[::-1]]).copy()).permute(0, 3, 1, 2).float() / 255
    first, second, flow, mask = synthetic_pairs(photos, Motion(max_shift_px=4), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert degrade(first, second, 0.0, rng) == (first, second)
    assert rng.bit_generator.state == state  # share 0 draws nothing: earlier runs repeat exactly
    d1, d2 = degrade(first, second, 1.0, rng)
    for before, after in ((first, d1), (second, d2)):
        change = (after - before).abs()
        assert 0.001 < change.mean().item() < 0.05, change.mean().item()  # JPEG or GIF noise, not another picture
        assert 0 <= after.min().item() and after.max().item() <= 1
        if degrade is gif_pairs:  # each frame has its own palette of at most 256 colours
            assert all(len(torch.unique((image * 255).round().flatten(1), dim=1).T) <= 256 for image in after)
    # the frames' noise differs, so the exact flow no longer matches them perfectly
    assert output_temporal_loss(first, second, flow, mask).item() < 1e-10
    assert output_temporal_loss(d1, d2, flow, mask).item() > min_loss


def test_brightness_drift_is_a_smooth_grey_change_of_frame_two_that_keeps_the_flow():
    photos = torch.from_numpy(np.stack([scene(96, 64), scene(96, 64)[::-1]]).copy()).permute(0, 3, 1, 2).float() / 255
    first, second, flow, mask = synthetic_pairs(photos, Motion(max_shift_px=4), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert drift_pairs(second, 0.0, rng) is second
    assert rng.bit_generator.state == state  # std 0 draws nothing: earlier runs repeat exactly
    flat = torch.full((8, 3, 64, 96), 0.5)  # no clamping, so the field itself is seen
    drifted = drift_pairs(flat, 0.02, np.random.default_rng(2))
    change = drifted - flat
    assert torch.equal(change[:, 0], change[:, 1]) and torch.equal(change[:, 0], change[:, 2])  # grey
    stds = change[:, 0].flatten(1).std(1)
    assert stds.max().item() <= 0.02 * 1.001 and stds.min().item() < 0.015 < stds.max().item()  # up to std
    # smooth: a neighbour differs by a small part of the field's amplitude, unlike pixel noise (about 1.4x)
    step = (change[..., 1:] - change[..., :-1]).abs().flatten(1).mean(1) / change[:, 0].flatten(1).abs().mean(1)
    assert step.max().item() < 0.3, step
    # frame 1 and the flow stay: the exact flow now leaves the drift, and only it, in the temporal loss
    d2 = drift_pairs(second, 0.02, np.random.default_rng(3))
    assert output_temporal_loss(first, second, flow, mask).item() < 1e-10
    assert 1e-6 < output_temporal_loss(first, d2, flow, mask).item() < 0.02 ** 2 * 3


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    root = tmp_path_factory.mktemp("finetune")
    photos = root / "photos"
    photos.mkdir()
    for i in range(6):
        Image.fromarray(scene(80 + 8 * i, 64)).save(photos / f"p{i}.png")
    style = root / "style.png"
    y, x = np.mgrid[0:48, 0:48]
    Image.fromarray(np.dstack([(np.sin(x / 2) > 0) * 255, (np.sin(y / 3) > 0) * 255, np.full((48, 48), 80)])
                    .astype(np.uint8)).save(style)
    torch.manual_seed(0)
    net = TransformerNet(4, 1)
    with torch.no_grad():  # a random net whose output has texture (and flickers) like a styled one
        net.deconv3.conv2d.weight.mul_(60)
    model = root / "base.pth"
    torch.save(net.state_dict(), model)
    return root, photos, style, model


def temporal_loss_of(model_path, photos_dir) -> float:
    from videostyle.training.data import list_images, load_square
    net = load_model(model_path)
    photos = torch.stack([load_square(p, 32) for p in list_images(photos_dir)])
    first, second, flow, mask = synthetic_pairs(photos, Motion(max_shift_px=2, elastic_px=0.5), np.random.default_rng(9))
    with torch.no_grad():
        out1, out2 = net(first * 255) / 255, net(second * 255) / 255
    return output_temporal_loss(out1, out2, flow, mask).item()


def tiny_finetune(tmp_path, tiny_base, **changes) -> FinetuneConfig:
    root, photos, style, model = tiny_base
    config = FinetuneConfig(model=str(model), data=str(photos), out=str(tmp_path / "stable.pth"), style=str(style),
                            loss_net="efficientnet-lite0", image_size=32, style_size=48, batch_size=2, iterations=4,
                            sample_every=2, checkpoint_every=2, holdout=1, device="cpu", seed=1,
                            motion=Motion(max_shift_px=2, elastic_px=0.5))
    return replace(config, **changes)


def test_finetune_reduces_the_temporal_loss(tmp_path, tiny_base):
    root, photos, _, base = tiny_base
    # the default temporal and style weights (the shipped twins' 6000 and x2). fp32: the
    # trajectory depends on precision and thread count; an earlier 0.5 bound at weight 2000
    # failed on a 2-thread AMX Xeon (0.51-0.52). At the defaults: 0.33 on 1 thread, 0.21 on 2
    result = finetune(tiny_finetune(tmp_path, tiny_base, iterations=60, lr=3e-3, feature_weight=1, noise_weight=10,
                                    sample_every=100, checkpoint_every=100, amp=False))
    before, after = temporal_loss_of(base, photos), temporal_loss_of(result.model_path, photos)
    assert after < 0.6 * before, (before, after)
    card = json.loads(result.model_path.with_suffix(".json").read_text())
    assert card["temporal"]["temporal_weight"] == 6000 and card["temporal"]["steps"] == 60


def test_finetuned_card_does_not_keep_the_base_models_final_losses_note_or_held_out_losses(tmp_path, tiny_base):
    # the shipped stable cards said "mean over training steps 951-1000" (the base model's
    # training) beside the fine-tune's own last-step losses
    _, _, _, base = tiny_base
    carded = tmp_path / "carded.pth"
    carded.write_bytes(base.read_bytes())
    carded.with_suffix(".json").write_text(json.dumps({"final_losses": {"total": 1.0},
                                                       "final_losses_note": "mean over training steps 951-1000",
                                                       "architecture": {"contrast_ramp": 9.0},
                                                       "held_out_losses": {"content": 0.3372, "style": 0.492}}))
    result = finetune(tiny_finetune(tmp_path, tiny_base, model=str(carded), iterations=2))
    card = json.loads(result.model_path.with_suffix(".json").read_text())
    assert card["final_losses_note"] == "the last fine-tuning step (2), one batch"
    assert card["final_losses"]["total"] != 1.0
    assert "held_out_losses" not in card  # the_scream-stable's card carried the base model's
    # the fine-tune's contrast ramp (default 4) replaces the base card's, and loading uses it
    assert card["architecture"] == {"channels": 4, "residual_blocks": 1, "contrast_ramp": 4.0}
    assert load_model(result.model_path).contrast_ramp == 4.0
    off = finetune(tiny_finetune(tmp_path / "off", tiny_base, model=str(carded), iterations=1, contrast_ramp=0.0))
    assert "contrast_ramp" not in json.loads(off.model_path.with_suffix(".json").read_text())["architecture"]


def test_finetune_resume_is_exact(tmp_path, tiny_base):
    motion = Motion(max_shift_px=2, elastic_px=0.5, object_probability=0.5, object_shift_px=3)  # objects drawn too
    extras = dict(motion=motion, compressed_share=0.5, gif_share=0.5, drift_std=0.01)
    full = finetune(tiny_finetune(tmp_path / "full", tiny_base, **extras))
    resumed = finetune(tiny_finetune(tmp_path / "resumed", tiny_base, **extras,
                                     resume=str(full.run_dir / "checkpoints" / "step_000002.pt")))
    assert without_times(resumed.history) == without_times(full.history)
    a = torch.load(full.model_path, weights_only=True)
    b = torch.load(resumed.model_path, weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_finetune_with_real_video_pairs(tmp_path, tiny_base, clips):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "pan.mkv").symlink_to(clips / "original.mkv")
    result = finetune(tiny_finetune(tmp_path, tiny_base, videos=str(videos), real_pair_fraction=1.0, iterations=2))
    card = json.loads(result.model_path.with_suffix(".json").read_text())
    assert card["temporal"]["videos"] == str(videos)
    assert all(np.isfinite(r["temporal"]) for r in result.history if "total" in r)


def test_real_pairs_mask_a_moving_transparent_hole_like_the_metric(tmp_path):
    from videostyle.temporal.video_pairs import VideoPairs
    frames = panning_frames(count=4, size=(64, 48))
    holes = []
    for i in range(len(frames)):
        alpha = np.full((48, 64), 255, np.uint8)
        alpha[10:30, 40 - 4 * i:56 - 4 * i] = 0
        holes.append(alpha)
    write_lossless(tmp_path / "holes.mkv", [np.dstack([f, a]) for f, a in zip(frames, holes)])
    pairs = VideoPairs(tmp_path, 48, seed=0).pairs
    assert len(pairs) == 3
    for first, second, flow, mask in pairs:
        assert mask.shape == (1, 48, 48) and 0.3 < mask.mean().item() < 1
        # where frame 2 is transparent (flattened onto white), nothing is kept
        transparent = (second == 1).all(0)
        assert transparent.sum().item() >= 16 * 10 and not mask[0][transparent].any()


def test_cli_finetune_and_run_with_stabilize(tmp_path, tiny_base, clips):
    root, photos, style, model = tiny_base
    out = tmp_path / "stable.pth"
    result = subprocess.run([sys.executable, "-m", "videostyle", "finetune", "--model", str(model), "--data", str(photos),
                             "--out", str(out), "--style", str(style), "--loss-net", "efficientnet-lite0",
                             "--image-size", "32", "--style-size", "48", "--iterations", "2", "--holdout", "1",
                             "--temporal-weight", "500", "--noise-std", "0.05", "--moving-objects", "0.25",
                             "--object-radius", "0.05,0.2", "--compressed-pairs", "0.5", "--gif-pairs", "0.5",
                             "--brightness-drift", "0.01",
                             "--seed", "3", "--device", "cpu", "-q"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["temporal"]["temporal_weight"] == 500 and card["temporal"]["noise_std"] == 0.05
    assert card["temporal"]["motion"]["object_probability"] == 0.25 and card["temporal"]["compressed_share"] == 0.5
    assert card["temporal"]["brightness_drift_std"] == 0.01 and card["temporal"]["gif_share"] == 0.5
    assert card["temporal"]["motion"]["object_radius"] == [0.05, 0.2]
    assert card["temporal"]["seed"] == 3  # the card alone repeats the run
    styled = tmp_path / "styled.mkv"
    result = subprocess.run([sys.executable, "-m", "videostyle", "run", str(clips / "original.mkv"), "--model", str(out),
                             "-o", str(styled), "--stabilize", "0.7", "-q"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert warping_error(clips / "original.mkv", styled).frames == 8
    bad = subprocess.run([sys.executable, "-m", "videostyle", "run", str(clips / "original.mkv"), "--model", str(out),
                          "--stabilize", "1.5"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--stabilize" in bad.stderr
