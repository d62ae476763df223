import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from feedlab.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text


def _leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def test_write_bytes_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert _leftovers(tmp_path, "out.bin") == []


def test_write_text_keeps_line_endings_and_encodes(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write_text(target, "a\r\nb\né\n")
    assert target.read_bytes() == "a\r\nb\né\n".encode()
    atomic_write_text(str(target), "é", encoding="latin-1")
    assert target.read_bytes() == b"\xe9"


def test_atomic_path_yields_a_sibling_and_keeps_the_old_file_until_success(
    tmp_path: Path,
) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        assert tmp.exists()
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible before the block succeeds
    assert target.read_text() == "new"
    assert not tmp.exists()
    assert _leftovers(tmp_path, "table.csv") == []


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_atomic_path_removes_the_temporary_file_on_error(
    tmp_path: Path, error: BaseException
) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(type(error)), atomic_path(target) as tmp:
        tmp.write_text("half writ")
        raise error
    assert target.read_text() == "old"
    assert _leftovers(tmp_path, "table.csv") == []


def test_atomic_path_does_not_create_the_target_on_error(tmp_path: Path) -> None:
    target = tmp_path / "never.txt"
    with pytest.raises(ValueError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("x")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_raises_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "no" / "such" / "file", b"x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_new_file_has_the_permissions_of_a_plain_open(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    atomic_write_bytes(tmp_path / "atomic", b"x")
    mode = stat.S_IMODE((tmp_path / "atomic").stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="folders cannot be fsynced on Windows")
def test_file_is_synced_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_write_bytes(tmp_path / "out", b"data")
    assert events == ["fsync file", "replace", "fsync folder"]


def test_concurrent_reader_only_ever_sees_complete_files(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    versions = [bytes([65 + i]) * 2_000_000 for i in range(3)]
    atomic_write_bytes(target, versions[0])
    done = threading.Event()

    def write_repeatedly() -> None:
        for i in range(30):
            atomic_write_bytes(target, versions[i % len(versions)])
        done.set()

    writer = threading.Thread(target=write_repeatedly)
    writer.start()
    reads = 0
    while not done.is_set() or reads < 5:
        content = target.read_bytes()
        assert content in versions, f"partial file of {len(content)} bytes"
        reads += 1
    writer.join()
    assert target.read_bytes() == versions[29 % 3]
    assert _leftovers(tmp_path, "big.bin") == []
