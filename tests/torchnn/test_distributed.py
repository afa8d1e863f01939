"""fit under torchrun: two CPU processes over gloo end with the single-process weights (batch 2b), and
with its probes' records (gradients averaged over the ranks, activations of all the ranks' samples)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from backproplab.torchnn import MLP, ActivationStats, DeadUnits, GradientMagnitudes, fit
from backproplab.torchnn.distributed import shard_bounds

pytestmark = pytest.mark.torchnn

WORKER = textwrap.dedent("""
    import atexit
    import os
    import sys
    import torch
    from backproplab.torchnn import MLP, ActivationStats, DeadUnits, GradientMagnitudes, fit
    from backproplab.torchnn import distributed as ddp

    out, b = sys.argv[1], int(sys.argv[2])
    # registered first, so it runs last: is the process group still there when the interpreter ends?
    atexit.register(lambda: open(f"{out}.exit{os.environ['RANK']}", "w").write(str(ddp.world_size())))
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(N, 10, generator=g), torch.randint(0, 4, (N,), generator=g)
    torch.manual_seed(3)
    model = MLP([10, 16, 4], "relu")
    hist = fit(model, (X, y), (X, y), epochs=2, batch_size=b, lr=0.1, momentum=0.5, seed=5, device="cpu",
               progress=False, checkpoint=out + ".ckpt", probes=[GradientMagnitudes(), ActivationStats(), DeadUnits()])
    assert ddp.world_size() == 2, ddp.world_size()
    torch.save({"state": model.state_dict(), "train_loss": hist.train_loss, "val_acc": hist.val_acc,
                "probes": hist.probes}, f"{out}.rank{ddp.rank()}")
""")
#: 6 global batches of 32 (b = 16 a rank) and a ragged 1: rank 1's shard of it is empty, and the rank takes
#: part in the step with a stand-in sample of loss scale 0 (that batch was skipped on every rank before)
N = 193


def test_shard_bounds_cover_a_batch_once():
    for n in (1, 7, 64):
        for world in (1, 2, 3):
            parts = [shard_bounds(n, world, r) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts[:-1], parts[1:], strict=True))
            sizes = [hi - lo for lo, hi in parts]
            assert max(sizes) - min(sizes) <= 1


def test_ddp_two_processes_equal_single_process_with_double_batch(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(f"N = {N}\n" + WORKER)
    out = str(tmp_path / "ddp")
    b = 16
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), out, str(b)], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the group fit made is destroyed at exit: left to the interpreter's teardown, gloo aborted a rank at times
    assert [open(f"{out}.exit{r}").read() for r in (0, 1)] == ["1", "1"]
    r0, r1 = (torch.load(f"{out}.rank{r}", weights_only=True) for r in (0, 1))

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(N, 10, generator=g), torch.randint(0, 4, (N,), generator=g)
    torch.manual_seed(3)
    single = MLP([10, 16, 4], "relu")
    hist = fit(single, (X, y), (X, y), epochs=2, batch_size=2 * b, lr=0.1, momentum=0.5, seed=5, device="cpu",
               progress=False, probes=[GradientMagnitudes(), ActivationStats(), DeadUnits()])
    for k, v in single.state_dict().items():
        torch.testing.assert_close(r0["state"][k], v, atol=1e-5, rtol=0)
        torch.testing.assert_close(r1["state"][k], r0["state"][k], atol=0, rtol=0)  # ranks agree exactly
    assert r0["train_loss"] == pytest.approx(hist.train_loss, rel=1e-5)
    assert r0["val_acc"] == pytest.approx(hist.val_acc)
    # each rank recorded its own shard's gradient (the hook fires before DDP averages), and activations of
    # its own samples: now every rank holds what the single process recorded
    assert r0["probes"] == r1["probes"] and r0["probes"].keys() == hist.probes.keys()
    for name, records in hist.probes.items():
        for key, values in records.items():
            assert r0["probes"][name][key] == pytest.approx(values, rel=1e-5, abs=1e-7), (name, key)
    # only rank 0 writes the checkpoint, and it holds the same weights
    assert sorted(p.name for p in tmp_path.iterdir() if "ckpt" in p.name) == ["ddp.ckpt"]
