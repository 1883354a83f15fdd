"""Hostile input and rude interruptions: damaged and truncated files, decompression bombs,
signals, killed runs, odd folder trees, unwritable places. Every case ends in one line a
user can act on, never a traceback, and never an output with frames silently missing."""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import listing
from media import make_gif, make_video, read_video
from PIL import Image

from videostyle.cli import main
from videostyle.media.atomic import TEMP_PREFIX

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videostyle", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kwargs)


def strict_frames(path: Path) -> int | None:
    """Frames a strict reader gets from ``path``: one thread, every packet decoded, any
    error fatal. None when it is not readable whole."""
    if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
        try:
            with Image.open(path) as im:
                im.load()
            return 1
        except Exception:
            return None
    try:
        # metadata that is not UTF-8 is no damage to the pictures (videostyle reads past it too)
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                return None
            frames = 0
            for packet in container.demux(container.streams.video[0]):
                frames += len(packet.decode())
            return frames
    except (av.FFmpegError, OSError):
        return None


def output_frames(path: Path) -> int:
    if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
        with Image.open(path) as im:
            im.load()
        return 1
    with av.open(str(path), metadata_errors="ignore") as container:
        return sum(1 for _ in container.decode(video=0))


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random injury: flipped bits, a cut, a burst of noise, or a lost chunk, all past
    the first tenth of the file (so most mutants still open)."""
    m = bytearray(data)
    start = len(m) // 10
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.choice([1, 3, 10])):
            i = rng.randrange(start, len(m))
            m[i] ^= 1 << rng.randrange(8)
    elif kind == 1:
        m = m[:rng.randrange(start, len(m))]
    elif kind == 2:
        i = rng.randrange(start, len(m))
        m[i:i + rng.randrange(4, 33)] = bytes(rng.randrange(256) for _ in range(rng.randrange(4, 33)))
    else:
        i = rng.randrange(start, len(m))
        del m[i:i + rng.randrange(16, 257)]
    return bytes(m)


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    return make_originals(tmp_path_factory.mktemp("originals"))


def make_originals(folder: Path) -> dict[str, bytes]:
    """The files the fuzzing mutates: an MP4, an MKV, a GIF and a JPEG (name -> bytes)."""
    make_video(folder / "clip.mp4", size=(96, 64), frames=20, audio="aac")
    make_video(folder / "clip.mkv", size=(96, 64), frames=20, audio="aac")
    make_gif(folder / "anim.gif", size=(60, 40), durations_ms=(40, 60, 30, 80, 50, 70, 40, 60))
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "photo.jpg", quality=90)
    return {name: (folder / name).read_bytes() for name in ("clip.mp4", "clip.mkv", "anim.gif", "photo.jpg")}


def check_mutants(tmp_path: Path, originals: dict[str, bytes], model: Path, per_kind: int, seed: int,
                  runner) -> dict[str, int]:
    """Runs every mutant; asserts the guarantees; returns counts of the outcomes."""
    rng = random.Random(seed)
    counts = {"mutants": 0, "exit 0": 0, "exit 1": 0, "exit 0 whole": 0}
    for name, data in originals.items():
        for k in range(per_kind):
            src = tmp_path / f"m{k}_{name}"
            src.write_bytes(mutate(data, rng))
            out = tmp_path / f"out{k}_{name}"
            code, err = runner(src, out, model)
            counts["mutants"] += 1
            assert code in (0, 1), (src, code, err)
            assert "Traceback" not in err and "unexpected" not in err, (src, err)
            assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir()), (src, err)
            if code == 0:
                counts["exit 0"] += 1
                expected = strict_frames(src)
                assert expected is not None, (src, "exit 0, but a strict reader finds it damaged", err)
                assert output_frames(out) == expected, (src, err)
                counts["exit 0 whole"] += 1
            else:
                counts["exit 1"] += 1
                errors = [line for line in err.splitlines() if line.startswith("error: ")]
                assert len(errors) == 1 and err.rstrip().endswith(errors[0]) and not out.exists(), (src, err)
            src.unlink()
            out.unlink(missing_ok=True)
    return counts


def in_process(capsys):
    """A runner calling the command's ``main`` in this process, 30 s at most per file."""
    def runner(src: Path, out: Path, model: Path) -> tuple[int, str]:
        def alarm(signum, frame):
            raise TimeoutError(f"{src} hung")
        previous = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(30)
        try:
            code = main(["run", str(src), "-o", str(out), "--model", str(model), "-q"])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        return code, capsys.readouterr().err
    return runner


def test_fuzzed_media_fail_cleanly_or_come_out_whole(tmp_path, tiny_model, originals, capsys):
    """30 seeded mutants each of an MP4, an MKV, a GIF and a JPEG: no traceback, no hang,
    no temporary file left, and an output only when it has every frame a strict reader
    decodes (the fix for damaged files that came out short with exit 0)."""
    counts = check_mutants(tmp_path, originals, tiny_model, 30, seed=20261204, runner=in_process(capsys))
    assert counts["mutants"] == 120 and counts["exit 0"] and counts["exit 1"]


@pytest.mark.slow
def test_fuzzed_media_many_mutants(tmp_path, tiny_model, originals, capsys):
    """The same guarantees over 200 more mutants of each file in this process, and 10 of
    each through their own process (a crash there would kill the interpreter, not raise).
    ``benchmarks/fuzz.py`` runs the same and writes the counts to RESULTS.md."""
    counts = check_mutants(tmp_path, originals, tiny_model, 200, seed=7, runner=in_process(capsys))
    print("fuzz counts, in process:", counts)

    def subprocess_runner(src, out, model):
        result = run_cli("run", str(src), "-o", str(out), "--model", str(model), "-q", timeout=60)
        return result.returncode, result.stderr
    counts = check_mutants(tmp_path, originals, tiny_model, 10, seed=8, runner=subprocess_runner)
    print("fuzz counts, one process each:", counts)


def damage_packet(path: Path, index: int) -> None:
    """Overwrite the bytes of video packet ``index`` with noise, in place."""
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    pos, size = packets[index]
    data = bytearray(path.read_bytes())
    data[pos + 4:pos + size] = bytes(random.Random(index).randrange(256) for _ in range(size - 4))
    path.write_bytes(bytes(data))


def test_a_damaged_mp4_fails_with_what_was_read_and_keep_going_salvages_the_rest(tmp_path, tiny_model):
    """Regression: a damaged MP4 came out with fewer frames than its header counts, exit 0."""
    src = tmp_path / "damaged.mp4"
    make_video(src, size=(96, 64), frames=24, audio="aac")
    damage_packet(src, 9)
    result = run_cli("run", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_model))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "damaged" in result.stderr and "--keep-going" in result.stderr
    assert not (tmp_path / "out.mp4").exists()
    result = run_cli("run", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_model), "--keep-going")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "left out" in result.stderr
    decoded = read_video(tmp_path / "out.mp4").frames
    assert 0 < decoded < 24


@pytest.mark.parametrize("name", ["cut.mkv", "cut.gif"])
def test_a_truncated_file_says_so(tmp_path, tiny_model, name):
    """Regression: a truncated MKV came out with 1 frame, a truncated GIF with 1 of 6, exit 0."""
    src = tmp_path / name
    if name.endswith(".mkv"):
        make_video(src, size=(96, 64), frames=20, audio="aac")
    else:
        make_gif(src, size=(60, 40), durations_ms=(40, 60, 30, 80, 50, 70))
    data = src.read_bytes()
    src.write_bytes(data[:len(data) * 2 // 3])
    result = run_cli("run", str(src), "-o", str(tmp_path / ("out" + src.suffix)), "--model", str(tiny_model))
    assert result.returncode == 1 and "cut short" in result.stderr, result.stderr
    result = run_cli("run", str(src), "-o", str(tmp_path / ("out" + src.suffix)), "--model", str(tiny_model),
                     "--keep-going")
    assert result.returncode == 0 and "cut short" in result.stderr, result.stderr
    assert output_frames(tmp_path / ("out" + src.suffix)) >= 1


def write_png_header_bomb(path: Path, width: int, height: int) -> None:
    """A grey PNG of ``width`` x ``height`` that compresses to almost nothing."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def write_canvas_bomb_gif(path: Path, side: int) -> None:
    """An 35-byte GIF whose logical screen is ``side`` x ``side``, holding one 1x1 image."""
    data = b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    data += b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b"
    path.write_bytes(data)


def peak_kib(args: list[str], limit_bytes: int | None = None) -> tuple[subprocess.CompletedProcess, int]:
    """Run the command in a child with an optional address-space limit; its peak RSS (KiB)."""
    def limit():
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-m", "videostyle", *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, preexec_fn=limit)
    return result, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)


def vm_peak_bytes(args: list[str]) -> int:
    """Peak virtual memory of a normal run (the address space an RLIMIT_AS limits)."""
    probe = ("import resource, runpy, sys; sys.argv = ['videostyle', *sys.argv[1:]];\n"
             "try:\n    runpy.run_module('videostyle', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print([l for l in open('/proc/self/status') if l.startswith('VmPeak')][0].split()[1], file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    return int(result.stderr.strip().splitlines()[-1]) * 1024


def test_bombs_are_refused_by_their_size_within_1_gib_of_a_normal_run(tmp_path, tiny_model):
    """Regression: an 85-byte GIF declaring a 16000x16000 canvas took ~2.8 GB even with
    --max-size 64; a small PNG made the network try to allocate 10 GB. Both are refused
    by the size in their headers, under an address-space limit of a normal run's peak
    plus 1 GiB, and a frame too large for the network's memory is refused with its size."""
    normal = tmp_path / "normal.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(normal)
    limit = vm_peak_bytes(["run", str(normal), "-o", str(tmp_path / "n.png"), "--model", str(tiny_model)]) + 2 ** 30
    gif, png = tmp_path / "canvas.gif", tmp_path / "huge.png"
    write_canvas_bomb_gif(gif, 16000)
    write_png_header_bomb(png, 20000, 20000)
    for bomb in (gif, png):
        result, _ = peak_kib(["run", str(bomb), "-o", str(tmp_path / ("out" + bomb.suffix)), "--model",
                              str(tiny_model), "--max-size", "64"], limit)
        assert result.returncode == 1, result.stderr
        assert "megapixels" in result.stderr and "--max-pixels" in result.stderr and "Traceback" not in result.stderr
    big = tmp_path / "big.png"
    write_png_header_bomb(big, 3000, 2000)
    result = run_cli("run", str(big), "-o", str(tmp_path / "big_out.png"), "--model", str(tiny_model),
                     "--max-pixels", "4000000")
    assert result.returncode == 1 and "3000x2000" in result.stderr and "4.0 megapixels" in result.stderr
    result = run_cli("run", str(big), "-o", str(tmp_path / "big_out.png"), "--model", str(tiny_model),
                     "--max-size", "200")
    assert result.returncode == 0, result.stderr


def test_a_bomb_among_training_images_is_skipped_and_a_bomb_style_image_is_one_line(tmp_path):
    """Regression: style and validation images that were bombs ended in a
    DecompressionBombError traceback."""
    from videostyle.training.data import TrainingImages

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 60 * i, np.uint8)).save(photos / f"p{i}.png")
    write_png_header_bomb(photos / "bomb.png", 12000, 12000)
    data = TrainingImages(sorted(photos.iterdir()), 16, seed=0)
    for step in range(4):
        assert data.batch(step, 2).shape == (2, 3, 16, 16)
    assert data.unreadable == {photos / "bomb.png"}
    result = run_cli("train", "--style", str(photos / "bomb.png"), "--data", str(photos), "--out",
                     str(tmp_path / "m.pth"), "--loss-net", "efficientnet-lite0", "--iterations", "1", "--holdout", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "style image" in result.stderr and "megapixels" in result.stderr


def test_a_killed_run_leaves_a_stamped_partial_that_the_next_run_removes(tmp_path, tiny_model):
    """Regression: SIGKILL left .videostyle-partial-* files forever. Their names carry the
    writer's pid; the next run in the folder removes those whose writer is gone."""
    from videostyle.media.atomic import _HOST

    src = tmp_path / "clip.mp4"
    make_video(src, frames=4, audio=None)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f"{TEMP_PREFIX}{dead}@{_HOST}-abc123.mp4"
    alive = tmp_path / f"{TEMP_PREFIX}{os.getpid()}@{_HOST}-def456.mp4"
    other_host = tmp_path / f"{TEMP_PREFIX}{dead}@elsewhere-ghi789.mp4"
    for path in (stale, alive, other_host):
        path.write_bytes(b"half a video")
    assert main(["run", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_model), "-q"]) == 0
    assert not stale.exists() and alive.exists() and other_host.exists()


def wait_for_partial(folder: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.name.startswith(TEMP_PREFIX) for p in folder.iterdir()):
            return
        time.sleep(0.05)
    raise AssertionError("the run never started writing")


@pytest.mark.parametrize("signum, code, word", [(signal.SIGTERM, 143, "terminated"),
                                                (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_ctrl_c_mid_video_clean_up(tmp_path, tiny_model, signum, code, word):
    """Regression: SIGTERM (timeout, docker stop, systemd) was not handled; now it unwinds
    like Ctrl-C: exit 143, no partial file, no traceback."""
    src = tmp_path / "long.mp4"
    make_video(src, size=(320, 240), frames=400, audio="aac")
    process = subprocess.Popen([sys.executable, "-m", "videostyle", "run", str(src), "-o", str(tmp_path / "out.mp4"),
                                "--model", str(tiny_model), "-q"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    wait_for_partial(tmp_path, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code and err.strip() == word, err
    assert listing(tmp_path) == ["long.mp4"]


@pytest.mark.parametrize("delay_s", [0.15, 0.3, 0.6])
def test_ctrl_c_during_start_up_prints_one_line(tmp_path, tiny_model, delay_s):
    """Regressions: Ctrl-C while the command was still importing printed a 35-line
    traceback; on a 2-core CI machine one printed "interrupted" and then died by SIGINT
    (returncode -2), and here one arriving inside torch's import was swallowed and the
    run went on to write its output."""
    src = tmp_path / "clip.mp4"
    make_video(src, size=(320, 240), frames=400, audio=None)  # far longer than any delay here
    process = subprocess.Popen([sys.executable, "-m", "videostyle", "run", str(src), "--model", str(tiny_model),
                                "-o", str(tmp_path / "out.mp4")],
                               cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(delay_s)  # the interpreter is starting, or the command is importing torch and PyAV
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip() == "interrupted", (process.returncode, err)
    assert listing(tmp_path) == ["clip.mp4"]


def test_a_symlink_loop_in_a_folder_fails_alone(tmp_path, tiny_model, capsys):
    """Regression: a symlink cycle among files ended the whole run with
    'RuntimeError: Symlink loop'."""
    tree = tmp_path / "tree"
    tree.mkdir()
    make_video(tree / "good.mp4", frames=3, audio=None)
    os.symlink(tree / "b.mp4", tree / "a.mp4")
    os.symlink(tree / "a.mp4", tree / "b.mp4")
    code = main(["run", str(tree), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "Symlink loop" not in err
    assert (tmp_path / "out" / "good.mp4").is_file()
    assert sorted(line.split(":")[1].strip() for line in err.splitlines()) == [str(tree / "a.mp4"), str(tree / "b.mp4")]


def without_permission_to_read_folders() -> list[str]:
    """A command prefix under which root, too, is refused by folder permissions (the
    capabilities that bypass them dropped); [] when not root."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root, which reads every folder, and setpriv (util-linux) is not here to drop "
                    "that capability")
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}"]


def test_unreadable_folders_are_reported_not_skipped_silently(tmp_path, tiny_model):
    """Regression: a folder without search permission gave a PermissionError traceback, and
    an unreadable subfolder was skipped without a word."""
    prefix = without_permission_to_read_folders()
    tree = tmp_path / "tree"
    (tree / "locked").mkdir(parents=True)
    make_video(tree / "good.mp4", frames=3, audio=None)
    make_video(tree / "locked" / "hidden.mp4", frames=3, audio=None)
    (tree / "locked").chmod(0)
    try:
        result = subprocess.run([*prefix, sys.executable, "-m", "videostyle", "run", str(tree), "-o",
                                 str(tmp_path / "out"), "--model", str(tiny_model)], capture_output=True, text=True,
                                cwd=ROOT, timeout=120)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"error: {tree / 'locked'}: cannot read this folder (permission denied)" in result.stderr
        assert "1 converted, 0 skipped, 1 failed" in result.stdout
        result = subprocess.run([*prefix, sys.executable, "-m", "videostyle", "run", str(tree / "locked" / "hidden.mp4"),
                                 "--model", str(tiny_model)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    finally:
        (tree / "locked").chmod(0o755)


def test_outputs_that_cannot_be_written_say_why(tmp_path, tiny_model, capsys):
    """Regression: a folder as the output target was 'unexpected IsADirectoryError', and
    'cannot write in this folder' did not name the folder."""
    src = tmp_path / "clip.mp4"
    make_video(src, frames=3, audio=None)
    (tmp_path / "clip_tiny.mp4").mkdir()  # where the default output name points
    assert main(["run", str(src), "--model", str(tiny_model), "-q", "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "is a folder" in err and "unexpected" not in err
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    assert main(["run", str(src), "-o", str(blocker / "sub"), "--model", str(tiny_model), "-q"]) == 1
    err = capsys.readouterr().err
    assert str(blocker) in err and "unexpected" not in err


def test_a_folder_or_a_truncated_file_as_model_says_what_it_is(tmp_path, tiny_model, capsys):
    """Regression: a folder as --model said 'model file not found'; a truncated model file
    said '(OSError: [Errno 22] Invalid argument)'."""
    src = tmp_path / "clip.mp4"
    make_video(src, frames=3, audio=None)
    assert main(["run", str(src), "--model", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err
    cut = tmp_path / "cut.pth"
    cut.write_bytes(tiny_model.read_bytes()[:len(tiny_model.read_bytes()) // 2])
    assert main(["run", str(src), "--model", str(cut)]) == 1
    err = capsys.readouterr().err
    assert "damaged or incomplete" in err and "Errno" not in err


def test_disk_full_is_said_in_words(tmp_path, tiny_model, monkeypatch, capsys):
    """Regression: a full disk came out as 'unexpected OSError'."""
    import errno

    from videostyle.media import gif

    src = tmp_path / "anim.gif"
    make_gif(src)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(gif.GifSink, "close", full)
    assert main(["run", str(src), "-o", str(tmp_path / "out.gif"), "--model", str(tiny_model), "-q"]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "unexpected" not in err
    assert listing(tmp_path) == ["anim.gif"]


def test_a_signal_inside_an_import_is_raised_after_it_not_swallowed():
    """Regression: a Ctrl-C raised inside an extension's import was swallowed there and the
    run went on; now it is recorded while the command starts and raised when starting ends."""
    from videostyle import interrupts

    # what was there before: Python's default, or SIG_IGN where the tests run in the background
    before = signal.getsignal(signal.SIGINT)
    restore = interrupts.install(defer=True)
    try:
        reached_the_end = False
        with pytest.raises(KeyboardInterrupt):
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the handler runs here, between bytecodes, and must not raise
                reached_the_end = True
        assert reached_the_end and interrupts.received()
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before
