"""Atomic writes and bounded reads: the helpers, model files under kill and concurrency, the CLI's output.

The process-level cases run in subprocesses on the committed format-1 model file,
through :mod:`sivae_sklearn._modelfile.format` alone (no TensorFlow to import):

* a save killed (SIGKILL) in the middle of its write leaves the previous file whole;
* processes saving to one path at once leave one valid file;
* ``load`` refuses named pipes and devices at once, without blocking or reading them.
"""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sivae_sklearn import ModelFileError
from sivae_sklearn._io import (
    NotRegularFileError,
    atomic_path,
    atomic_write,
    create_exclusive,
    open_regular,
    read_regular,
)
from sivae_sklearn._modelfile.format import read_model_file

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "data" / "model_format1.sivae"
POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and signals are POSIX")


def run_python(code: str, *args, timeout=120, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=env, text=True, **kwargs
    )


def weights_of(path) -> dict:
    return read_model_file(path).weights


# ----------------------------------------------------------------- the helpers
FILE_NAMES = st.text(
    st.characters(codec="utf-8", exclude_characters="/\\\0", exclude_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda s: s not in (".", "..") and len(s.encode("utf-8")) <= 200)


@settings(max_examples=40)
@given(name=FILE_NAMES, old=st.binary(max_size=64), new=st.binary(max_size=64))
def test_atomic_write_replaces_whole_and_leaves_nothing_beside(tmp_path_factory, name, old, new):
    folder = tmp_path_factory.mktemp("w")
    path = folder / name
    path.write_bytes(old)
    with atomic_write(path) as fh:
        fh.write(new)
        assert path.read_bytes() == old  # nothing visible before the block ends
    assert path.read_bytes() == new
    assert os.listdir(folder) == [name]


@settings(max_examples=20)
@given(name=FILE_NAMES)
def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("f")
    path = folder / name
    path.write_bytes(b"old")
    for fail in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(fail)), atomic_write(path) as fh:
            fh.write(b"half of the new")
            raise fail
        with pytest.raises(type(fail)), atomic_path(path, suffix=".h5ad") as tmp:
            Path(tmp).write_bytes(b"half")
            raise fail
    assert path.read_bytes() == b"old"
    assert os.listdir(folder) == [name]


def test_atomic_path_publishes_what_the_library_wrote(tmp_path):
    path = tmp_path / "out.h5ad"
    with atomic_path(path, suffix=".h5ad") as tmp:
        assert tmp.endswith(".h5ad") and os.path.dirname(tmp) == str(tmp_path) and os.path.exists(tmp)
        Path(tmp).write_bytes(b"data")
        assert not path.exists()
    assert path.read_bytes() == b"data" and os.listdir(tmp_path) == ["out.h5ad"]


@POSIX
def test_permissions_are_those_of_the_file_replaced_or_the_default(tmp_path):
    path = tmp_path / "f"
    with atomic_write(path) as fh:
        fh.write(b"1")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    with atomic_write(path) as fh:
        fh.write(b"2")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_create_exclusive_has_one_winner_among_threads(tmp_path):
    path = tmp_path / "claimed"
    results, start = [], threading.Barrier(8)

    def claim():
        start.wait()
        results.append(create_exclusive(path))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


@POSIX
def test_open_regular_refuses_pipes_devices_and_folders_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "named pipe"), ("/dev/zero", "character device"), (tmp_path, "folder")):
        with pytest.raises(NotRegularFileError, match=kind):
            open_regular(path)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        read_regular(tmp_path / "big", max_bytes=10)


# ------------------------------------------------------------------ model files
@POSIX
def test_load_refuses_a_named_pipe_and_dev_zero_naming_the_file(tmp_path):
    from sivae_sklearn import load

    fifo = tmp_path / "model.sivae"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "named pipe"), ("/dev/zero", "character device")):
        with pytest.raises(ModelFileError, match=rf"{str(path)!r}.*{kind}"):
            load(path)
    with pytest.raises(ModelFileError, match="folder"):
        load(tmp_path)


def test_a_member_declared_past_the_end_of_the_file_is_refused(tmp_path):
    data = MODEL.read_bytes()
    cut = tmp_path / "cut.sivae"
    cut.write_bytes(data[: len(data) // 2] + data[-2000:])  # central directory kept, members cut
    with pytest.raises(ModelFileError, match=str(cut.name)):
        read_model_file(cut)


SLOW_SAVE = """
import io, sys, time
import numpy as np
from sivae_sklearn._modelfile import format as s

contents = s.read_model_file(sys.argv[1])
original = np.savez_compressed

def slow(fh, **arrays):  # write half the archive, then stall, as a large save would
    buffer = io.BytesIO()
    original(buffer, **arrays)
    fh.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    fh.flush()
    print("writing", flush=True)
    time.sleep(60)

s.np.savez_compressed = slow
contents.weights = {k: v + 1 for k, v in contents.weights.items()}
s.write_model_file(sys.argv[2], contents)
"""


@POSIX
def test_a_save_killed_while_writing_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "model.sivae"
    path.write_bytes(MODEL.read_bytes())
    before = weights_of(path)
    process = run_python(SLOW_SAVE, MODEL, path, stdout=subprocess.PIPE)
    try:
        assert process.stdout.readline().strip() == "writing"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    after = weights_of(path)  # loads: the old file, whole
    assert all(np.array_equal(after[k], before[k]) for k in before)
    leftovers = [name for name in os.listdir(tmp_path) if name != "model.sivae"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.sivae.") and leftovers[0].endswith(".tmp")


CONCURRENT_SAVES = """
import sys
from sivae_sklearn._modelfile import format as s

contents = s.read_model_file(sys.argv[1])
shift = float(sys.argv[3])
contents.weights = {k: v + shift for k, v in contents.weights.items()}
for _ in range(int(sys.argv[4])):
    s.write_model_file(sys.argv[2], contents)
"""


def test_concurrent_saves_to_one_path_leave_one_valid_file(tmp_path):
    path = tmp_path / "model.sivae"
    base = weights_of(MODEL)
    processes = [run_python(CONCURRENT_SAVES, MODEL, path, shift, 30) for shift in (1.0, 2.0, 3.0)]
    for process in processes:
        assert process.wait(timeout=300) == 0
    saved = weights_of(path)
    shifts = {float(np.round(np.mean(saved[k] - base[k]), 4)) for k in base}
    assert len(shifts) == 1 and shifts <= {1.0, 2.0, 3.0}  # one writer's file, whole
    assert os.listdir(tmp_path) == ["model.sivae"]


# ----------------------------------------------------------------------- the CLI
def test_cli_writes_its_output_atomically_even_over_its_input(tmp_path, monkeypatch):
    anndata = pytest.importorskip("anndata")
    from sivae_sklearn.cli import CommandError, _write_h5ad

    path = tmp_path / "data.h5ad"
    anndata.AnnData(np.ones((3, 2), np.float32)).write_h5ad(path)
    original = path.read_bytes()
    adata = anndata.read_h5ad(path)
    adata.obsm["X_new"] = np.zeros((3, 1))

    def interrupted(self, filename, **kwargs):
        Path(filename).write_bytes(b"800 unreadable bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(anndata.AnnData, "write_h5ad", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _write_h5ad(adata, str(path))
    assert path.read_bytes() == original and os.listdir(tmp_path) == ["data.h5ad"]
    monkeypatch.undo()
    _write_h5ad(adata, str(path))  # output == input: read whole, written beside, renamed over
    assert "X_new" in anndata.read_h5ad(path).obsm and os.listdir(tmp_path) == ["data.h5ad"]
    with pytest.raises(CommandError, match="cannot write"):
        _write_h5ad(adata, str(tmp_path / "missing" / "out.h5ad"))


def test_benchmark_results_are_written_atomically():
    """Every JSON result of benchmarks/ goes through the package's atomic write_json, never a plain open."""
    import pathlib
    import re

    folder = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
    plain = re.compile(r"json\.dump\(|write_text\(json\.dumps|open\([^)]*[\"']w[\"']")
    offenders = [
        f"{p.name}: {line.strip()}"
        for p in folder.glob("*.py")
        for line in p.read_text().splitlines()
        if plain.search(line)
    ]
    assert not offenders, offenders
    writers = [p.name for p in folder.glob("*.py") if "write_json(" in p.read_text()]
    assert len(writers) >= 10, writers


def test_write_json_replaces_the_file_whole(tmp_path):
    import json

    from sivae_sklearn._io import write_json

    path = tmp_path / "result.json"
    write_json(path, {"old": 1})
    with pytest.raises(TypeError):
        write_json(path, {"new": object()})  # not JSON: the old file stays, no temporary file is left
    assert json.loads(path.read_text()) == {"old": 1} and sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    write_json(path, {"new": [1.5]}, indent=1)
    assert json.loads(path.read_text()) == {"new": [1.5]}
