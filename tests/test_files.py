"""backproplab.files: the writable-folder check every --out and --json goes through before any work."""

from __future__ import annotations

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
    with pytest.raises(InputError, match=r"^json: cannot write into '/proc/nope'"):
        check_json_path("/proc/nope/bench.json")


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="^out must be a directory, but .* lies below the file"):
        check_writable_dir(tmp_path / "afile" / "sub", "out")
