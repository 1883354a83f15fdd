"""Media I/O: decoding and encoding videos, animated GIFs and still images with PyAV and
Pillow, streamed frame by frame, and atomic writing of outputs."""
