from pathlib import Path

import pytest
import torch

from videostyle.network.transformer_net import TransformerNet

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A small random TransformerNet (4 channels, 1 residual block), saved as a plain state dict."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.pth"
    torch.save(TransformerNet(channels=4, residual_blocks=1).state_dict(), path)
    return path


class IdentityStylizer:
    """Stands in for the network: returns the frames unchanged and records their shapes,
    so that geometry and timing can be checked exactly."""

    def __init__(self, batch_size: int = 3):
        self.batch_size = batch_size
        self.shapes = []

    def __call__(self, frames):
        self.shapes.extend(f.shape for f in frames)
        return [f.copy() for f in frames]


@pytest.fixture
def identity():
    return IdentityStylizer()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def without_times(history: list[dict]) -> list[dict]:
    """Logged rows less their wall-clock seconds, which no two runs share."""
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in history]
