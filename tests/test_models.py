"""TransformerNet compatibility with pytorch/examples, and safe, explained model loading."""

import pickle
from pathlib import Path

import pytest
import torch

from videostyle.errors import ModelError
from videostyle.network.models import available_models, load_model, read_weights, resolve_model
from videostyle.network.transformer_net import TransformerNet

# The keys of pytorch/examples fast_neural_style/neural_style/transformer_net.py, in order.
EXAMPLES_KEYS = (
    ["conv1.conv2d.weight", "conv1.conv2d.bias", "in1.weight", "in1.bias",
     "conv2.conv2d.weight", "conv2.conv2d.bias", "in2.weight", "in2.bias",
     "conv3.conv2d.weight", "conv3.conv2d.bias", "in3.weight", "in3.bias"]
    + [f"res{i}.{k}" for i in range(1, 6) for k in
       ["conv1.conv2d.weight", "conv1.conv2d.bias", "in1.weight", "in1.bias",
        "conv2.conv2d.weight", "conv2.conv2d.bias", "in2.weight", "in2.bias"]]
    + ["deconv1.conv2d.weight", "deconv1.conv2d.bias", "in4.weight", "in4.bias",
       "deconv2.conv2d.weight", "deconv2.conv2d.bias", "in5.weight", "in5.bias",
       "deconv3.conv2d.weight", "deconv3.conv2d.bias"]
)


def test_state_dict_keys_and_shapes_match_pytorch_examples():
    state = TransformerNet().state_dict()
    assert list(state) == EXAMPLES_KEYS
    assert state["conv1.conv2d.weight"].shape == (32, 3, 9, 9)
    assert state["res3.conv2.conv2d.weight"].shape == (128, 128, 3, 3)
    assert state["deconv3.conv2d.weight"].shape == (3, 32, 9, 9)


def test_legacy_instance_norm_running_stats_are_dropped(tmp_path):
    """Old PyTorch saved in*.running_mean/var for InstanceNorm; pytorch/examples deletes
    them before loading, and so do we (explicitly, not by loading non-strictly)."""
    state = TransformerNet().state_dict()
    for name in ["in1", "in2", "res1.in1", "res5.in2", "in5"]:
        state[f"{name}.running_mean"] = torch.zeros(1)
        state[f"{name}.running_var"] = torch.ones(1)
    path = tmp_path / "old_mosaic.pth"
    torch.save(state, path)
    net = load_model(path)
    assert list(net.state_dict()) == EXAMPLES_KEYS


def test_architecture_is_read_from_shapes(tiny_model):
    state, architecture, _ = read_weights(tiny_model)
    assert architecture == {"channels": 4, "residual_blocks": 1}
    net = load_model(tiny_model)
    assert net(torch.rand(1, 3, 20, 24) * 255).shape == (1, 3, 20, 24)


def _error(path) -> str:
    with pytest.raises(ModelError) as info:
        load_model(path)
    return str(info.value)


def test_missing_empty_and_text_files_are_explained(tmp_path):
    assert "model file not found" in _error(tmp_path / "nope.pth")
    (tmp_path / "empty.pth").write_bytes(b"")
    assert "empty file" in _error(tmp_path / "empty.pth")
    (tmp_path / "text.pth").write_text("hello, not a model\n")
    assert "not a PyTorch weights file" in _error(tmp_path / "text.pth")


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickle_with_code_is_refused_and_nothing_runs(tmp_path, writer):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    payload = {"conv1.conv2d.weight": _Payload(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    message = _error(path)
    assert "refusing to load" in message and str(path) in message and "run" in message
    assert not marker.exists()


def test_wrong_shapes_name_the_mismatch(tmp_path):
    state = TransformerNet().state_dict()
    state["res2.conv1.conv2d.weight"] = torch.zeros(128, 128, 5, 5)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    message = _error(path)
    assert "res2.conv1.conv2d.weight" in message and "do not fit" in message


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    assert "expected a state dict" in _error(path)
    torch.save({"something": torch.zeros(3)}, path)
    assert "no conv1.conv2d.weight" in _error(path)


def test_unknown_name_lists_the_shipped_models():
    with pytest.raises(ModelError) as info:
        resolve_model("no-such-style")
    for name in available_models():
        assert name in str(info.value)


def test_every_shipped_model_loads_and_has_a_card():
    models = available_models()
    assert "mosaic" in models, "the default model must ship"
    for name, info in models.items():
        net = load_model(name)
        assert isinstance(net, TransformerNet)
        assert info.card.get("style", {}).get("licence"), f"{name}: the card must give the style's licence"
        assert info.path.with_suffix(".md").is_file()


def test_markdown_cards_link_their_samples_and_match_the_json():
    """The cards once showed ``![sample]({'sheet': ...})``: a Python dict, not a link."""
    import re

    from videostyle.training.cards import render_card

    for name, info in available_models().items():
        markdown = info.path.with_suffix(".md").read_text()
        assert markdown == render_card(info.card), f"{name}: the .md card is stale; re-render it from the .json"
        assert "{'" not in markdown
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
        assert links, name
        for link in links:
            assert (info.path.parent / link).resolve().is_file(), f"{name}: {link} does not exist"
    assert render_card({"name": "x", "sample": "examples/a.gif"}).count("](../examples/a.gif)") == 1


def test_markdown_card_numbers_each_earlier_fine_tuning_stage():
    """A four-stage fine-tune's earlier stages ran together on one line, one stage's last
    field straight into the next one's first."""
    from videostyle.training.cards import render_card

    card = {"name": "x", "temporal": {"steps": 300, "earlier_stages": [{"steps": 900, "style_weight": 6},
                                                                      {"steps": 300, "style_weight": 7}]}}
    lines = render_card(card).splitlines()
    start = lines.index("- **earlier stages**:")
    assert lines[start + 1:start + 3] == ["  1. steps: 900, style_weight: 6", "  2. steps: 300, style_weight: 7"]


def _random_net(**kwargs) -> TransformerNet:
    torch.manual_seed(0)
    net = TransformerNet(channels=8, residual_blocks=1, **kwargs).eval()
    for m in net.modules():  # random norm affines, so that the flat-frame colour is not zero
        if isinstance(m, torch.nn.InstanceNorm2d):
            torch.nn.init.normal_(m.weight, 1.0, 0.5)
            torch.nn.init.normal_(m.bias, 0.0, 0.5)
    with torch.no_grad():  # output on a 0-255 scale with texture, like a trained one
        net.deconv3.conv2d.weight.mul_(60)
        net.deconv3.conv2d.bias.uniform_(50, 200)
    return net


def test_the_network_ignores_the_inputs_contrast():
    """Why fades from black flash: instance norms remove every convolution's mean and
    scale, so a photo dimmed to noise level (std ~0.15 grey levels) and lifted by 3
    levels comes out as the photo does."""
    net = _random_net()
    photo = torch.rand(1, 3, 32, 32) * 255
    with torch.no_grad():
        full, faint = net(photo), net(0.002 * photo + 3)
    assert (full - faint).abs().max() < 0.01 * full.std()


def test_fade_from_black_is_not_painted_at_full_strength():
    net = _random_net(contrast_ramp=4.0)
    plain = _random_net()
    photo = torch.rand(2, 3, 32, 32) * 255
    faint = 0.002 * photo + 3  # std ~0.15 levels
    mixed = torch.cat([photo[:1], faint[1:]])  # per image within a batch
    with torch.no_grad():
        flat, raw, out = net.flat_output(photo), plain(mixed), net(mixed)
        black = net(torch.zeros(1, 3, 32, 32))
    assert torch.equal(out[0], raw[0])  # a normal frame: bit for bit
    gain = float(faint[1].std()) / 4.0
    assert 0.01 < gain < 0.1
    assert torch.allclose(out[1], flat[0] + gain * (raw[1] - flat[0]), atol=1e-3)
    assert (out[1] - flat[0]).abs().max() < 0.1 * (raw[1] - flat[0]).abs().max()
    assert flat.min() > 10 and raw[1].std() > 10  # neither the flat colour nor the texture is trivial
    assert torch.allclose(black, flat.expand_as(black), atol=1e-3)  # a black frame is the flat colour already
    assert list(net.state_dict()) == list(plain.state_dict())  # the ramp is not a weight


def test_the_contrast_ramp_comes_from_the_model_card(tmp_path):
    path = tmp_path / "m.pth"
    torch.save(TransformerNet(channels=8, residual_blocks=1).state_dict(), path)
    assert load_model(path).contrast_ramp == 0.0  # no card: off
    path.with_suffix(".json").write_text('{"architecture": {"channels": 8, "contrast_ramp": 6}}')
    assert load_model(path).contrast_ramp == 6.0
    assert load_model(path, contrast_ramp=0).contrast_ramp == 0.0
    path.with_suffix(".json").write_text('{"architecture": {"contrast_ramp": "high"}}')
    with pytest.raises(ModelError, match="contrast_ramp 'high'"):
        load_model(path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read"):
        load_model(path)


def test_shipped_stable_models_fade_low_contrast_frames_and_base_models_do_not():
    """The -fast models learned from the -stable twins, and keep their ramp."""
    models = available_models()
    for name in models:
        expected = 4.0 if name.endswith(("-stable", "-fast")) else 0.0
        assert load_model(name).contrast_ramp == expected, name
