"""backproplab bench: the table's structure at --quick size (no timing assertions), and the workloads' same-work claims."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from backproplab.bench import Row, to_json, to_markdown
from backproplab.bench import workloads as W
from backproplab.bench.limits import MAX_ROUNDS
from backproplab.cli import main
from backproplab.errors import InputError

pytestmark = pytest.mark.bench

GROUPS = {"engine": 1, "ann": 1, "loops": 3, "cnn": 1, "scale-batch": 7, "scale-width": 4}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, fashion_available):
    if not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["bench", "--quick", "--device", "cpu", "--json", str(path)])
    return code, out.getvalue(), err.getvalue(), path


def test_quick_json_has_every_workload_row(quick_run):
    code, _, _, path = quick_run
    assert code == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["rows"]
    counts = {g: sum(r["group"] == g for r in rows) for g in GROUPS}
    assert counts == GROUPS
    batches = [int(r["workload"].rsplit("batch ", 1)[1]) for r in rows if r["group"] == "scale-batch"]
    assert batches == [16, 32, 64, 128, 256, 512, 1024]
    widths = [r["workload"] for r in rows if r["group"] == "scale-width"]
    assert [w.split("784-")[1].split("-")[0] for w in widths] == ["128", "256", "512", "1024"]
    refs = {r["reference"] for r in rows if r["group"] == "loops"}
    assert refs == {"plain in-memory tensor loop",
                    "course loop (torchvision-style per-item PIL, ToTensor, Normalize + DataLoader)",
                    "item loop (per-item Dataset over a normalised tensor + DataLoader)"}
    assert data["meta"]["device"] == "cpu" and data["meta"]["quick"] is True


def test_quick_ratios_are_ours_over_reference(quick_run):
    _, _, _, path = quick_run
    for r in json.loads(path.read_text(encoding="utf-8"))["rows"]:
        assert r["ours_s"] > 0 and r["reference_s"] > 0
        assert r["ratio"] == pytest.approx(r["ours_s"] / r["reference_s"], rel=1e-12)
        assert r["cpu_ratio"] == pytest.approx(r["ours_cpu_s"] / r["reference_cpu_s"], rel=1e-12)
        assert 0.0 <= r["ours_acc"] <= 1.0 and 0.0 <= r["reference_acc"] <= 1.0
        assert r["samples"] < 60_000
        assert r["ours_s_per_60k_est"] == pytest.approx(r["ours_s"] * 60_000 / r["samples"])


def test_quick_markdown_table_on_stdout_progress_on_stderr(quick_run):
    _, out, err, path = quick_run
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 2 + sum(GROUPS.values())  # header, separator, rows
    assert all(line.count(" | ") == table[0].count(" | ") for line in table)
    assert "[bench" in err and "[bench" not in out
    assert f"wrote {path}" in err


def test_cuda_without_gpu_is_one_line_exit_2(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["bench", "--device", "cuda", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cuda" in err.lower() and err.startswith("backproplab: error:")


@pytest.mark.parametrize("rounds", ["1000", "11", "0"])
def test_rounds_out_of_range_is_a_usage_error_naming_the_maximum(rounds, capsys):
    """'bench --rounds 1000' was accepted (about 50 hours); now argparse refuses it before any work."""
    with pytest.raises(SystemExit) as info:
        main(["bench", "--quick", "--rounds", rounds])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"argument --rounds: expected an integer from 1 to {MAX_ROUNDS} (each round" in err
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert f"--rounds N timings per side, 1 to {MAX_ROUNDS} (" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("rounds", [MAX_ROUNDS + 1, 10**6, 0, True, 2.0])
def test_rounds_out_of_range_from_python_is_refused_before_any_work(rounds, monkeypatch):
    """``run_bench(rounds=10**6)`` from Python had no upper bound (a run of years); it has the CLI's."""
    from backproplab.bench import runner

    monkeypatch.setattr(runner, "_load_data", lambda *_: pytest.fail("data loaded before rounds was checked"))
    with pytest.raises(InputError, match=rf"rounds must be an integer from 1 to {MAX_ROUNDS} \(each round"):
        runner.run_bench("cpu", quick=True, rounds=rounds)


def test_bad_threads_names_the_argument(capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--quick", "--device", "cpu", "--threads", "0"])
    assert info.value.code == 2 and "argument --threads: expected an integer from 1 to" in capsys.readouterr().err


def test_row_ratio_extrapolation_and_json_without_nan():
    row = Row("ann", "w", 15_000, "a", "b", 3.0, 1.5, 0.8, float("nan"))
    assert row.ratio == 2.0
    assert row.extrapolated(3.0) == pytest.approx(12.0)
    assert Row("ann", "w", 60_000, "a", "b", 3.0, 1.5, 0.8, 0.8).extrapolated(3.0) is None
    data = json.loads(to_json([row], {"device": "cpu"}))
    assert data["rows"][0]["reference_acc"] is None and data["rows"][0]["ratio"] == 2.0
    md = to_markdown([row], {"device": "cpu", "threads": 1, "seed": 0, "total_s": 1.0, "test_samples": 10})
    assert "| 2.00× |" in md and "≈ 12.0" in md and "| — |" in md
    assert math.isnan(row.cpu_ratio) and data["rows"][0]["cpu_ratio"] is None


def test_engine_and_torch_sides_do_the_same_work():
    """One full batch (so the shuffle order cannot matter): both sides end with the same weights."""
    rng = np.random.default_rng(0)
    X = rng.random((48, 20), dtype=np.float32)
    y = rng.integers(0, 5, 48)
    sizes = (20, 16, 12, 5)
    ours = W.scratch_mlp_epoch(X, y, sizes=sizes, batch_size=48, lr=0.5, seed=3)
    ref = W.torch_mlp_epoch(torch.from_numpy(X), torch.from_numpy(y), sizes=sizes, batch_size=48, lr=0.5, seed=3)
    linears = [m for m in ref.model if isinstance(m, torch.nn.Linear)]
    for (Wo, bo, _), lin in zip(ours.model.as_params(), linears, strict=True):
        np.testing.assert_allclose(Wo, lin.weight.detach().numpy().T, atol=1e-5)
        np.testing.assert_allclose(bo.reshape(-1), lin.bias.detach().numpy(), atol=1e-5)
    assert ours.train_acc == pytest.approx(ref.train_acc)


def test_fit_and_plain_loops_record_the_same_gradients():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(200, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (200,), generator=g)
    cpu = torch.device("cpu")
    fit_run, plain_run = W.fit_loop(X, y, cpu), W.plain_loop(X, y, cpu)
    assert [len(g) for g in fit_run.grads] == [4, 4, 4]  # ceil(200 / 64) batches, 3 layers
    np.testing.assert_allclose(fit_run.grads, plain_run.grads, rtol=1e-4)
    assert math.isnan(plain_run.train_acc) and 0.0 <= fit_run.train_acc <= 1.0


def test_json_path_that_is_a_directory_fails_before_timing(tmp_path, capsys):
    assert main(["bench", "--quick", "--device", "cpu", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--json" in err and len(err.strip().splitlines()) == 1


def _tiny_images(n=130, seed=2):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,), generator=g)
    normalised = images.to(torch.float32).div_(255.0).sub_(0.1307).div_(0.3081).unsqueeze(1)  # as fashion_mnist_tensors
    return images, labels, normalised


def test_course_dataset_gives_the_normalised_image_and_an_int_label():
    images, labels, normalised = _tiny_images()
    ds = W.CourseFashionMNIST(images, labels)
    assert len(ds) == 130
    for i in (0, 57, 129):
        x, target = ds[i]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32
        torch.testing.assert_close(x, normalised[i], atol=1e-6, rtol=0)
        assert type(target) is int and target == int(labels[i])


def test_course_dataset_refuses_images_that_are_already_floats():
    _, labels, normalised = _tiny_images()
    with pytest.raises(ValueError, match="images must be uint8"):
        W.CourseFashionMNIST(normalised, labels)


def test_course_loop_and_item_loop_do_the_same_training():
    images, labels, normalised = _tiny_images()
    cpu = torch.device("cpu")
    course, item = W.course_loop(images, labels, cpu), W.item_loop(normalised, labels, cpu)
    assert [len(g) for g in course.grads] == [3, 3, 3]  # ceil(130 / 64) batches, 3 layers
    np.testing.assert_allclose(course.grads, item.grads, rtol=1e-5)
    for a, b in zip(course.model.parameters(), item.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
