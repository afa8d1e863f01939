"""backproplab.files: the writable-folder check every --out and --json goes through before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backproplab.bench import check_json_path
from backproplab.errors import InputError
from backproplab.files import check_writable_dir


def test_a_missing_folder_under_a_writable_one_passes_and_nothing_is_created(tmp_path):
    target = tmp_path / "new" / "deeper"
    assert check_writable_dir(target, "out") == target
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_refuses_files_is_refused_before_any_work_even_as_root():
    """root passes os.access in /proc; a reviewer's `fashion --out /proc/nope` trained 30 s and then failed."""
    with pytest.raises(InputError, match=r"^out: cannot write into '/proc/nope'"):
        check_writable_dir("/proc/nope", "out")
    with pytest.raises(InputError, match=r"^the folder of --json: cannot write into '/proc/nope'"):
        check_json_path("/proc/nope/bench.json")


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="^out must be a directory, but .* lies below the file"):
        check_writable_dir(tmp_path / "afile" / "sub", "out")


def test_atomic_write_refuses_a_pipe_or_a_link_to_one_and_leaves_it(tmp_path):
    """The rename would replace the node itself: as root, `--json /dev/null` made /dev/null a file."""
    from backproplab.files import atomic_write_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to(fifo)
    for target in (fifo, tmp_path / "link"):
        with pytest.raises(InputError, match=r"is a pipe; expected a path to a regular file"):
            atomic_write_text(target, "{}")
    assert fifo.is_fifo() and (tmp_path / "link").is_symlink() and sorted(os.listdir(tmp_path)) == ["link", "pipe"]


def test_atomic_write_replaces_a_link_not_the_file_it_points_to(tmp_path):
    from backproplab.files import atomic_write_text

    (tmp_path / "victim").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "victim")
    atomic_write_text(tmp_path / "link", "new")
    assert (tmp_path / "victim").read_text() == "keep" and (tmp_path / "link").read_text() == "new"


@pytest.mark.parametrize("content, refused", [("not json\n", True), ("", True), ('{"rows": []}', True),
                                              ("[1, 2]", True), ('{"name": "my-app"}', True),
                                              ('{"meta": {}, "rows": []}', False)])
def test_bench_json_replaces_only_an_earlier_json_file(tmp_path, content, refused):
    target = tmp_path / "bench.json"
    target.write_text(content)
    if refused:
        with pytest.raises(InputError, match=r"^--json '.*bench.json' exists and is (not a JSON file|JSON without "
                                             r"the keys 'meta', 'rows')"):
            check_json_path(target)
    else:
        assert check_json_path(target) == target
    assert target.read_text() == content


def test_bench_json_refuses_a_device_before_any_timing():
    with pytest.raises(InputError, match=r"^--json '/dev/null' is a character device"):
        check_json_path("/dev/null")


def test_a_dangling_link_is_named_as_one_not_as_a_file(tmp_path):
    """'out must be a directory, but 'dangling' is a file' sent the user looking for a file."""
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    for target in (tmp_path / "dangling", tmp_path / "dangling" / "sub"):
        with pytest.raises(InputError, match=r"^out must be a directory, but '.*dangling' is a link to "
                                             r"'.*nowhere/x', which does not exist; choose another --out"):
            check_writable_dir(target, "out")


def test_read_regular_refuses_a_pipe_without_waiting_and_a_link_when_asked(tmp_path):
    """A plain open() of a pipe waits for a writer for ever: a graded child that planted one where the
    checker reads its results stopped the whole batch."""
    from backproplab.files import read_regular

    pipe = tmp_path / "result.json"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="not a regular file"):
        read_regular(pipe, 100)
    target = tmp_path / "target.txt"
    target.write_text("x" * 50)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert read_regular(link, 100) == b"x" * 50
    with pytest.raises(OSError):
        read_regular(link, 100, follow_links=False)
    assert read_regular(target, 10) == b"x" * 11  # one byte past the bound shows the file is over it
    assert len(read_regular("/proc/self/status", 10)) == 11  # its size says 0


def test_write_new_replaces_a_planted_link_and_leaves_its_target_alone(tmp_path):
    from backproplab.files import write_new

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = tmp_path / "spec1.json"
    planted.symlink_to(victim)
    write_new(planted, "{}")
    assert victim.read_text() == "precious"
    assert not planted.is_symlink() and planted.read_text() == "{}" and (planted.stat().st_mode & 0o777) == 0o600


def test_remove_tree_removes_a_tree_too_deep_for_shutil_and_follows_no_link(tmp_path):
    """shutil.rmtree recursed once a level: on a 3,000-deep tree (paths longer than the system calls take)
    it raised RecursionError even with ignore_errors. remove_tree walks it with one open folder."""
    from backproplab.files import remove_tree

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("kept")
    top = tmp_path / "top"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    for _ in range(3000):
        os.mkdir("d", dir_fd=fd)
        os.symlink(str(outside), "link", dir_fd=fd)
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    remove_tree(top)
    assert not top.exists() and (outside / "keep.txt").read_text() == "kept"
    remove_tree(tmp_path / "missing")  # nothing there: nothing to do


def test_read_regular_without_links_refuses_a_link_as_the_folder_too(tmp_path):
    """A graded child made its out folder a link to a classmate's: the checker, reading out/1.2.json with
    O_NOFOLLOW (the last part only), read the classmate's results as the child's own."""
    from backproplab.files import read_regular

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "1.2.json").write_text("{}")
    (tmp_path / "out").symlink_to(theirs)
    assert read_regular(tmp_path / "out" / "1.2.json", 100) == b"{}"  # links followed when allowed
    with pytest.raises(OSError):
        read_regular(tmp_path / "out" / "1.2.json", 100, follow_links=False)
    assert read_regular(theirs / "1.2.json", 100, follow_links=False) == b"{}"


def test_replaced_together_replaces_every_file_at_the_end_or_none(tmp_path):
    """A lesson's --out held the new page beside the old figures after a Ctrl-C between two writes."""
    from backproplab.files import atomic_write_text, replaced_together

    for name in ("a.md", "b.png"):
        (tmp_path / name).write_text("old")
    with pytest.raises(KeyboardInterrupt), replaced_together(tmp_path):
        atomic_write_text(tmp_path / "a.md", "new")
        assert (tmp_path / "a.md").read_text() == "old"  # held back until the block ends
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.png"]  # no temporary file left
    assert {p.read_text() for p in tmp_path.iterdir()} == {"old"}
    with replaced_together(tmp_path) as written:
        atomic_write_text(tmp_path / "a.md", "new")
        atomic_write_text(tmp_path / "b.png", "new")
        assert written == []
    assert written == [tmp_path / "a.md", tmp_path / "b.png"]
    assert {p.read_text() for p in tmp_path.iterdir()} == {"new"}
    elsewhere = tmp_path / "cache"
    with replaced_together(tmp_path / "out"):
        atomic_write_text(elsewhere / "data.npy", "cached")  # outside the folder: renamed at once
        assert elsewhere.joinpath("data.npy").read_text() == "cached"


def test_a_ctrl_c_during_the_renames_comes_after_all_of_them(tmp_path, monkeypatch):
    import signal

    from backproplab import files

    real_replace, calls = os.replace, []

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # the user's Ctrl-C, between the first and second rename

    monkeypatch.setattr(files.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt), files.replaced_together(tmp_path):
        files.atomic_write_text(tmp_path / "a.md", "new")
        files.atomic_write_text(tmp_path / "b.png", "new")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.md": "new", "b.png": "new"}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_folder_in_the_way_fails_at_the_write_inside_replaced_together(tmp_path):
    from backproplab.files import atomic_write_text, replaced_together

    (tmp_path / "a.md").mkdir()
    with pytest.raises(IsADirectoryError) as err, replaced_together(tmp_path):
        atomic_write_text(tmp_path / "a.md", "new")
    assert err.value.filename == str(tmp_path / "a.md") and os.listdir(tmp_path) == ["a.md"]


def test_an_out_that_is_not_a_path_is_named():
    """gradient_descent.run(out=5) was 'TypeError: expected str, bytes or os.PathLike object, not int'."""
    from backproplab.lessons import gradient_descent

    with pytest.raises(InputError, match="^out must be a folder path, got int$"):
        check_writable_dir(5, "out")
    with pytest.raises(InputError, match="^out must be a folder path, got list$"):
        gradient_descent.run(quick=True, out=["figs"])


_LOCKED_TREE = """
import os, sys
from pathlib import Path
from backproplab.files import remove_tree
from backproplab.check.processes import disk_used
work = Path(sys.argv[1])
(work / "locked" / "deeper").mkdir(parents=True)
(work / "locked" / "deeper" / "big.bin").write_bytes(b"x" * 200_000)
(work / "readonly").mkdir()
(work / "readonly" / "kept.txt").write_text("x")
os.chmod(work / "locked" / "deeper", 0o300)  # a graded child's os.mkdir("d", 0o300): no reading it
os.chmod(work / "locked", 0o100)
os.chmod(work / "readonly", 0o500)  # no removing what it holds
print(disk_used(work, None)[0] >= 200_000)
remove_tree(work)
print(work.exists())
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_folders_that_shut_their_owner_out_are_counted_and_removed(tmp_path):
    """A graded child ran as the checker's user made a folder of mode 0o300 and wrote 1.9 GB into it: the
    disk count could not open it (no quota stop) and the removal left it behind. The owner gets rwx back."""
    import subprocess
    import sys

    command = [sys.executable, "-c", _LOCKED_TREE, str(tmp_path / "work")]
    if os.geteuid() == 0:  # as root the permission bits bind nobody: drop the overrides, as a plain user has none
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]
