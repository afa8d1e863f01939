import pytest
import torch

from backproplab.errors import InputError
from backproplab.torchnn.threads import one_torch_thread, torch_threads

pytestmark = pytest.mark.torchnn


def test_one_torch_thread_sets_one_and_restores():
    before = torch.get_num_threads()
    with one_torch_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_restored_even_when_the_block_raises():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_none_leaves_the_pool_alone():
    before = torch.get_num_threads()
    with torch_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_thread_counts_are_named(bad):
    with pytest.raises(InputError, match="threads must be an integer >= 1"), torch_threads(bad):
        pass


def test_run_threads_caps_torch_and_blas_and_restores():
    from threadpoolctl import threadpool_info

    from backproplab.threads import run_threads

    before = torch.get_num_threads()
    blas_before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    with run_threads(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
        with one_torch_thread():  # a lesson's own cap still holds inside
            assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == blas_before


def test_run_threads_none_changes_nothing_and_bad_counts_are_named():
    from backproplab.threads import run_threads

    before = torch.get_num_threads()
    with run_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(InputError, match="threads must be an integer >= 1"), run_threads(0):
        pass


def test_a_thread_count_past_the_bound_is_refused_not_a_segfault(capsys):
    """`bench --threads 100000000` ended in a segmentation fault (status 139, nothing said)."""
    from backproplab.bench import run_bench
    from backproplab.cli import main
    from backproplab.threads import MAX_THREADS, run_threads

    with pytest.raises(SystemExit) as info:  # refused at the door, as every --threads is
        main(["bench", "--quick", "--device", "cpu", "--threads", "100000000"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --threads: expected an integer from 1 to {MAX_THREADS} (" in err and err.count("\n") == 1
    for bad in (MAX_THREADS + 1, 10**8):
        with pytest.raises(InputError, match=rf"threads must be an integer >= 1 \(at most {MAX_THREADS}\)"):
            run_bench("cpu", quick=True, threads=bad)
        with pytest.raises(InputError, match="threads must be an integer >= 1"), run_threads(bad):
            pass
