"""Motion and flicker: optical flow, synthetic and real frame pairs, temporal losses,
the flicker metric, scene cuts and the test-time stabilizer."""
