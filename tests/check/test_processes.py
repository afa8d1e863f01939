"""The checker's count of the disk a graded child takes (:func:`backproplab.check.processes.disk_used`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.check.processes import disk_used

_MAPS_A_REMOVED_FILE = """
import mmap, os, sys, time
fd = os.open("held.bin", os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, b"x" * (8 << 20))
held = mmap.mmap(fd, 8 << 20)
inode = os.fstat(fd).st_ino
for other in map(int, os.listdir("/proc/self/fd")):  # mmap's own duplicate of fd too: only the map is left
    try:
        if os.fstat(other).st_ino == inode:
            os.close(other)
    except OSError:
        pass
os.unlink("held.bin")
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/map_files").is_dir(), reason="needs /proc/PID/map_files")
def test_a_removed_file_the_child_keeps_only_mapped_counts(tmp_path):
    """40 files of 60 MiB, each mapped, closed and removed, held 2.4 GB on disk past a 1 GiB count that
    looked at the open files and the folder only: the mapped ones count too."""
    child = subprocess.Popen([sys.executable, "-c", _MAPS_A_REMOVED_FILE], cwd=tmp_path, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        used, entries = disk_used(tmp_path, child.pid)
        assert entries == 0 and used >= 8 << 20
    finally:
        child.kill()
        child.wait()


def test_shared_anonymous_memory_is_not_disk(tmp_path):
    """mmap.mmap(-1, n) is shared anonymous memory, shown in /proc/PID/map_files as "/dev/zero (deleted)", a
    removed regular file: 300 MiB of it counted as disk would have stopped a child that wrote nothing."""
    code = "import mmap, time\nm = mmap.mmap(-1, 64 << 20)\nm.write(b'x' * (64 << 20))\nprint('ready', flush=True)\n" \
           "time.sleep(60)\n"
    child = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert disk_used(tmp_path, child.pid) == (0, 0)
    finally:
        child.kill()
        child.wait()
