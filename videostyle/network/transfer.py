"""Frames to the device and back, overlapped with the network on CUDA.

On a GPU, a batch crosses the bus as uint8 (a quarter of the bytes of fp32), or as 4:2:0
planes (half of that again), from pinned host memory so the copy is a DMA. Copies run
on their own CUDA stream: the upload in :meth:`Transfer.run` of batch n+1 and the
download of batch n-1 overlap the network on batch n, as long as the caller keeps a
batch in flight (:mod:`videostyle.pipeline.streams` submits the next batch before it
collects the last). On a CPU the tensors are views of the arrays and the work is done
when ``run`` returns.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch


class Pending:
    """The outputs of one submitted batch; :meth:`result` waits for their copy to the host."""

    def __init__(self, outputs: Sequence[torch.Tensor], event=None, keep: tuple = ()):
        self.outputs = outputs
        self.event = event
        self._keep = keep  # pinned inputs must outlive their asynchronous copy

    def result(self) -> list[np.ndarray]:
        if self.event is not None:
            self.event.synchronize()
        return [t.numpy() for t in self.outputs]


class Transfer:
    """Host <-> ``device`` copies of uint8 tensors, asynchronous on CUDA."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cuda = device.type == "cuda"
        self.copies = torch.cuda.Stream(device) if self.cuda else None

    def run(self, arrays: Sequence[np.ndarray], work: Callable[..., Sequence[torch.Tensor]]) -> Pending:
        """Upload ``arrays`` (each a stacked uint8 batch), run ``work`` on the device
        tensors, and start copying the uint8 tensors it returns back to the host."""
        if not self.cuda:
            inputs = [torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in arrays]
            return Pending([t.cpu() for t in work(*inputs)])
        compute = torch.cuda.current_stream(self.device)
        hosts = [torch.from_numpy(np.ascontiguousarray(a)).pin_memory() for a in arrays]
        with torch.cuda.stream(self.copies):
            inputs = [h.to(self.device, non_blocking=True) for h in hosts]
        compute.wait_stream(self.copies)
        for t in inputs:  # allocated on the copy stream, used on the compute stream
            t.record_stream(compute)
        outputs = work(*inputs)
        back = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True) for t in outputs]
        self.copies.wait_stream(compute)
        with torch.cuda.stream(self.copies):
            for host, t in zip(back, outputs):
                host.copy_(t, non_blocking=True)
                t.record_stream(self.copies)
        event = torch.cuda.Event()
        event.record(self.copies)
        return Pending(back, event, keep=tuple(hosts))
