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
