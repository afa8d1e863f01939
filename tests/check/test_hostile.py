"""Hostile submissions cost the affected items, with a clear message, and nothing else: the checker
finishes, the other items keep their points, and nothing is written outside the temporary folder."""

from __future__ import annotations

import platform
import threading
from pathlib import Path

import pytest

from backproplab.check import Limits, check

from ._helpers import fixture

ALL = [f"1.{i}" for i in range(1, 11)]
NON_TRAINING = ALL[:-1]
# (lost items, words in the message); the hostile code sits in accuracy() (1.9) or runs on import
HOSTILE = {
    "hostile_endless_loop": ({"1.9"}, "did not finish within 3 s of wall clock"),
    "hostile_memory_bomb": ({"1.9"}, "MemoryError"),
    "hostile_fork": ({"1.9"}, "may not start a process (os.fork)"),
    "hostile_subprocess": ({"1.9"}, "may not start a process (subprocess)"),
    "hostile_write_outside": ({"1.9"}, "writing outside the working directory is not allowed"),
    "hostile_sys_exit": ({"1.9"}, "called sys.exit(3)"),
    "hostile_os_exit": ({"1.9"}, "exited with status 7"),
    # the checker read its result and exit files with plain open(): a pipe there stopped the whole batch
    # (the exit status is now out of the child's reach: the child, stuck writing its result into its
    # own pipe, is seen running and times out)
    "hostile_pipes_where_the_checker_reads": ({"1.9"}, "did not finish within 3 s"),
    # past the os.symlink refusal: the zygote then wrote an exit status through the link, outside
    "hostile_c_calls_through_ctypes": ({"1.9"}, "may not look up a C function (ctypes)"),
    # memory outside the address space: 100 memfds held 6.3 GiB in a child limited to 4 GiB
    "hostile_memory_outside_its_limit": ({"1.9"}, "PermissionError: [Errno 1] Operation not permitted"),
    # each thread is a process id: 3,000 ran where the machine had 32,768, and root has no RLIMIT_NPROC
    "hostile_starts_threads": ({"1.9"}, "started more than 512 threads and was stopped"),
    # the kernel's per-user cap on pipe memory binds the child, root too, as it holds no capability (with
    # them, it ran out of files instead, and not even its result could be written)
    "hostile_fills_pipes": ({"1.9"}, "raised PermissionError: [Errno 1] Operation not permitted"),
    # removing its working folder raised RecursionError in the checker: no grade at all, the folder left
    "hostile_deep_folder_tree": (set(), ""),
    # {"event": ["done"]} on the progress channel raised TypeError in the checker: no grade at all
    "hostile_malformed_progress_event": (set(), ""),
    "hostile_prints": (set(), ""),
    "hostile_syntax_error": (set(NON_TRAINING), "SyntaxError: expected ':'"),
    "hostile_import_error": (set(NON_TRAINING), "No module named 'tensorflow_is_not_installed_here'"),
    "hostile_missing_class": (set(NON_TRAINING), "defines no NumpyANN"),
    "hostile_exit_on_import": (set(NON_TRAINING), "put the run under `if __name__ == \"__main__\":`"),
    "hostile_loop_on_import": (set(NON_TRAINING), "importing numpy_ann.py took longer than 4 s"),
    # the lab is installed beside the student's code: its references would be the answers
    "hostile_uses_the_lab": (set(NON_TRAINING), "may not use the backproplab package"),
    "hostile_reads_the_lab": (set(NON_TRAINING), "may not use the backproplab package"),
    # answers the child could find on disk: the public test labels, a classmate's results
    "hostile_reads_the_test_labels": ({"1.9"}, "may not read the Fashion-MNIST files"),
    "hostile_reads_another_work_folder": ({"1.9"}, "may not read the checker's other working folders"),
    "hostile_reads_the_checkers_memory": ({"1.9"}, "may not read another process's memory or files"),
    # the feedback shows 1.9's whole expected value: it is drawn anew for each submission
    "hostile_accuracy_read_off_the_feedback": ({"1.9"}, "accuracy(X, y_true) with known weights"),
}
ESCAPES = [Path("/tmp/backproplab-check-escape.txt"), Path("/tmp/backproplab-check-escape-sub")]


def _ends_within(seconds: float, grade, *args, **kwargs):
    """``grade(*args, **kwargs)`` in a thread; fails (instead of hanging the suite) when it does not end."""
    done: list = []
    thread = threading.Thread(target=lambda: done.append(grade(*args, **kwargs)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert done, f"the checker did not finish within {seconds} s"
    return done[0]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_submission_costs_only_its_items(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in ESCAPES:
        path.unlink(missing_ok=True)
    lost, message = HOSTILE[name]
    result = _ends_within(120, check, "purdue-numpy-ann", fixture("numpy_ann", name), items=NON_TRAINING,
                          timeout=3, limits=Limits(import_timeout=4, memory_mb=2048))
    assert set(result.lost()) == lost
    if message:
        assert all(message in result.item(i).failures()[0] for i in lost)
    assert not any(path.exists() for path in ESCAPES)
    assert not (tmp_path.parent / "backproplab-check-escape.txt").exists()
    assert list(tmp_path.iterdir()) == []


def test_100_mb_of_prints_are_cut():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_prints"), items=["1.9"])
    item = result.item("1.9")
    assert item.passed
    assert "more characters cut" in item.stdout and len(item.stdout) < 10_000


def test_a_hung_item_does_not_stop_the_items_after_it():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_endless_loop"), items=["1.8", "1.9", "1.2"],
                   timeout=2)
    assert result.lost() == ["1.9"] and result.item("1.2").passed and result.item("1.8").passed


def test_a_limit_under_a_second_is_said_as_given():
    """``--timeout 0.5`` said "did not finish within 0 s"."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_endless_loop"), items=["1.9"], timeout=0.5)
    assert "did not finish within 0.5 s of wall clock" in result.item("1.9").failures()[0]


@pytest.mark.parametrize("name, lost, message", [
    ("hostile_endless_loop", ["1.9"], "did not finish within 2 s"),
    ("hostile_os_exit", ["1.9"], "exited with status 7"),
    ("hostile_write_outside", ["1.9"], "writing outside the working directory"),
])
def test_without_the_fork_server_too(name, lost, message):
    """Each child started from scratch (Limits(fork_server=False)) behaves the same."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", name), items=["1.2", "1.9", "1.3"], timeout=2,
                   limits=Limits(fork_server=False))
    assert result.lost() == lost and message in result.item(lost[0]).failures()[0]


def test_forked_children_start_from_a_clean_state():
    """Two submissions through the same fork server: nothing of the first is left in the second."""
    bad = check("purdue-numpy-ann", fixture("numpy_ann", "relu_grad_at_zero"), items=["1.3"])
    good = check("purdue-numpy-ann", fixture("numpy_ann", "correct"), items=["1.3"])
    assert bad.lost() == ["1.3"] and good.lost() == []


def test_killing_the_checker_stops_the_graded_children(tmp_path):
    """A checker killed mid-item leaves no student process behind: its fork server stops them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("from backproplab.check import check\n"
              f"check('purdue-numpy-ann', {str(fixture('numpy_ann', 'hostile_endless_loop'))!r}, items=['1.9'],"
              " timeout=600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ), start_new_session=True)

    def ppid(pid: str) -> int:
        with open(f"/proc/{pid}/status") as f:
            return int(next(line for line in f if line.startswith("PPid:")).split()[1])

    def looping() -> list[int]:
        """The graded children forked by the fork server that this checker process started."""
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        parents = {}
        for pid in pids:
            try:
                parents[int(pid)] = ppid(pid)
            except (OSError, StopIteration):
                continue
        servers = {pid for pid, parent in parents.items() if parent == proc.pid}
        return [pid for pid, parent in parents.items() if parent in servers]

    deadline = time.monotonic() + 120
    while not looping() and time.monotonic() < deadline:
        time.sleep(0.2)
    children = looping()
    assert children, "the graded child never started"
    folders = [os.readlink(f"/proc/{pid}/cwd") for pid in children]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/status") as f:
                return not any(line.startswith("State:") and "Z" in line for line in f)
        except OSError:
            return False

    def left() -> bool:  # the server stops the children first, then removes their folders
        return any(map(running, children)) or any(os.path.exists(f) for f in folders)

    deadline = time.monotonic() + 30
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(running, children))
    left_behind = [f for f in folders if os.path.exists(f)]
    assert not left_behind, {f: os.listdir(f) for f in left_behind}


def test_a_child_stopped_before_it_made_its_session_is_stopped_too(tmp_path):
    """A child forked a moment before the checker died has not yet called setsid: no process group of its pid
    exists, so killing the group alone left it running. The fork server kills the child itself, then the
    group. A ``sleep`` in the server's own group stands for such a child (in a process of its own: the
    server reaps every child of the process it runs in)."""
    import os
    import signal
    import subprocess
    import sys

    from backproplab.check import processes

    script = f"""
import importlib.util, os, subprocess, sys
spec = importlib.util.spec_from_file_location("zygote", {str(processes.ZYGOTE)!r})
zygote = importlib.util.module_from_spec(spec)
spec.loader.exec_module(zygote)
child = subprocess.Popen(["sleep", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # as before setsid
os.makedirs("backproplab-check-x")
zygote._WORK[child.pid] = (os.path.abspath("backproplab-check-x"), None)
zygote._stop_children()
print(child.pid, os.path.exists("/proc/%d" % child.pid), os.path.exists("backproplab-check-x"))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid, running, folder_left = done.stdout.split()
    if running == "True":
        os.kill(int(pid), signal.SIGKILL)
    assert running == "False", "the child that had not called setsid was left running"
    assert folder_left == "False"


def test_a_child_the_checker_gives_up_on_is_stopped_by_its_server_even_before_its_session(tmp_path):
    """The checker stopped a child it gave up on (a timeout, Ctrl-C) by killing its group alone, which missed
    one that had not called setsid yet; killing by pid from the checker could hit a reused pid. It now asks
    the fork server (the parent, which knows the pid is still its child's) to kill the child, then its
    session. ``sleep`` processes in the server's own group stand for such children; one that is not the
    server's child is left alone."""
    import subprocess
    import sys

    from backproplab.check import processes

    script = f"""
import importlib.util, os, subprocess, sys
spec = importlib.util.spec_from_file_location("zygote", {str(processes.ZYGOTE)!r})
zygote = importlib.util.module_from_spec(spec)
spec.loader.exec_module(zygote)
mine, other = (subprocess.Popen(["sleep", "600"]) for _ in range(2))
zygote._WORK[mine.pid] = ("unused", None)
zygote._stop(mine.pid)
zygote._stop(other.pid)
print(mine.wait(timeout=10), other.poll())
other.kill()
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["-9", "None"]


def test_a_checker_gone_before_the_fork_servers_answer_leaves_nothing_running(tmp_path):
    """The fork server wrote each child's pid back to the checker; when the checker had died just before (a
    kill at that moment), the write raised BrokenPipeError and the server died of it, leaving the child it
    had just forked running, with its folder. It now stops its children and removes their folders."""
    import json
    import os
    import tempfile
    import time

    from backproplab.check import processes
    from backproplab.check.api import parts

    server = processes.ForkServer(parts("purdue-numpy-ann")[0].probes, 60)
    work = Path(tempfile.mkdtemp(prefix="backproplab-check-"))
    (work / "numpy_ann.py").write_text("import time\ntime.sleep(600)\n")
    (work / "out").mkdir()
    (work / "spec1.json").write_text(json.dumps({"filename": "numpy_ann.py", "module": "numpy_ann", "out": "out",
                                                 "items": [], "events_path": "_events1"}))
    os.mkfifo(work / "_events1")
    keep_open = os.open(work / "_events1", os.O_RDWR | os.O_NONBLOCK)
    try:
        os.close(server.proc.stdout.fileno())  # the checker is gone before the answer
        request = {"work": str(work), "spec": "spec1.json", "exit": str(server.dir / "exit1.json")}
        server.proc.stdin.write((json.dumps(request) + "\n").encode())
        deadline = time.monotonic() + 60
        while server.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.proc.poll() is not None, "the fork server did not stop"
        time.sleep(0.5)

        def cwd(pid: str) -> str:
            try:
                return os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                return ""

        assert [p for p in filter(str.isdigit, os.listdir("/proc")) if cwd(p).startswith(str(work))] == []
        assert not work.exists()
    finally:
        os.close(keep_open)
        server.close()
        if work.exists():
            import shutil
            shutil.rmtree(work)


def test_a_notebook_that_imports_the_labs_reference_loses_that_item(tmp_path, needs_fashion):
    """The handed-out cells import the lab's data loaders and the course's train/test (the checker gives
    the module its own); a class taken from the lab is refused, and only its item is lost."""
    import nbformat

    from backproplab.check.templates import init

    init("jku-a7", tmp_path / "solution", solution=True)
    nb = nbformat.read(str(tmp_path / "solution" / "jku_a7.ipynb"), as_version=4)
    next(c for c in nb.cells if c["id"] == "jku-ann-relu").source = "from backproplab.courses.jku import ANN_relu"
    nbformat.write(nb, str(tmp_path / "jku_a7.ipynb"))
    result = check("jku-a7", tmp_path / "jku_a7.ipynb", items=["3.2a", "3.2b"])
    assert result.lost() == ["3.2b"]
    assert "may not use the backproplab package" in result.item("3.2b").failures()[0]


def test_a_classmates_results_beside_the_work_folder_are_refused():
    """With --jobs 2 a classmate's child writes its results in a working folder beside this one: the
    right accuracy planted there is not read (it scored the item before the guard refused it)."""
    import json
    import shutil
    import tempfile

    from backproplab.check.numpy_ann import ASSIGNMENT, _known

    inputs = ASSIGNMENT.inputs
    right = float(_known(inputs).accuracy(inputs["X2"].copy(), inputs["Y2"].copy()))
    classmate = Path(tempfile.gettempdir()) / "backproplab-check-classmate"
    (classmate / "out").mkdir(parents=True, exist_ok=True)
    try:
        (classmate / "out" / "1.9.json").write_text(json.dumps({"values": {"acc": right}}))
        result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_reads_another_work_folder"),
                       items=["1.9"])
    finally:
        shutil.rmtree(classmate, ignore_errors=True)
    assert result.lost() == ["1.9"]
    assert "may not read the checker's other working folders" in result.item("1.9").failures()[0]


def _copying(tmp_path: Path, name: str, source: Path) -> Path:
    """A submission folder whose numpy_ann.py runs the file at ``source`` (a classmate's, a copy of the lab)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "numpy_ann.py").write_text(f'"""Hostile: runs {source.name} from elsewhere."""\n'
                                         f"exec(compile(open({str(source)!r}).read(), 'numpy_ann.py', 'exec'))\n")
    return folder


def test_a_batch_submission_may_not_read_a_classmates_file(tmp_path):
    """In a batch each child may not read the other submissions: copying a classmate's file at grading
    time scored 18/18 (found through the checker's command line in /proc)."""
    from backproplab.check import check_batch

    from ._helpers import SOLUTIONS

    alice = tmp_path / "batch" / "alice"
    alice.mkdir(parents=True)
    (alice / "numpy_ann.py").write_text((SOLUTIONS / "numpy_ann.py").read_text())
    _copying(tmp_path / "batch", "mallory", alice / "numpy_ann.py")
    results = check_batch("purdue-numpy-ann", [tmp_path / "batch"], items=["1.2", "1.9"], progress=False)
    by_name = {r.student: r for r in results}
    assert by_name["alice"].lost() == []
    assert by_name["mallory"].lost() == ["1.2", "1.9"]
    assert "may not read another submission of this batch" in by_name["mallory"].item("1.2").failures()[0]
    alone = check("purdue-numpy-ann", tmp_path / "batch" / "mallory", items=["1.2"])  # graded alone: allowed
    assert alone.lost() == []


def test_a_copy_of_the_lab_elsewhere_is_refused_too(tmp_path):
    """A second copy of the package (another checkout, another environment's install) holds the same
    references: a folder named backproplab holding __init__.py is the lab wherever it is."""
    from ._helpers import SOLUTIONS

    copy = tmp_path / "elsewhere" / "backproplab" / "scratch"
    copy.mkdir(parents=True)
    (copy.parent / "__init__.py").write_text("")
    (copy / "numpy_ann.py").write_text((SOLUTIONS / "numpy_ann.py").read_text())
    result = check("purdue-numpy-ann", _copying(tmp_path, "student", copy / "numpy_ann.py"), items=["1.2"])
    assert result.lost() == ["1.2"]
    assert "may not use the backproplab package" in result.item("1.2").failures()[0]


def test_results_the_submission_forged_cost_its_items_and_stop_nothing(tmp_path):
    """The result files are in the child's own folder, so its code can write them: values of kinds the
    probes never return made a judge raise and stopped the whole batch (no gradebook for anyone)."""
    from backproplab.check import check_batch

    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_forges_its_results"), items=NON_TRAINING)
    assert result.lost() == NON_TRAINING
    assert "not laid out as the checker writes it" in result.item("1.2").failures()[0]
    assert "the checker could not judge what came back" in result.item("1.7").failures()[0]
    batch = tmp_path / "batch"
    (batch / "alice").mkdir(parents=True)
    (batch / "alice" / "numpy_ann.py").write_text((fixture("numpy_ann", "correct") / "numpy_ann.py").read_text())
    forged = fixture("numpy_ann", "hostile_forges_its_results") / "numpy_ann.py"
    (batch / "zed").mkdir()
    (batch / "zed" / "numpy_ann.py").write_text(forged.read_text())
    scores = {r.student: r.score for r in check_batch("purdue-numpy-ann", [batch], items=["1.2", "1.7"],
                                                      progress=False)}
    assert scores == {"alice": 3, "zed": 0}


def test_result_files_that_unpack_too_far_are_not_read(monkeypatch):
    """The child writes its own .npz: one whose arrays unpack past MAX_RESULT_BYTES (by the zip's sizes,
    or by a header's shape, which np.load allocates before reading) costs its item and is never
    unpacked (a 64 MiB file of zeros unpacks to 64 GiB, and stopped the checker)."""
    from backproplab.check import runner

    bomb = fixture("numpy_ann", "hostile_zip_bomb_results")
    result = check("purdue-numpy-ann", bomb, items=["1.2"])
    assert "states a shape (1000000000000,) larger than the data it holds" in result.item("1.2").error
    monkeypatch.setattr(runner, "MAX_RESULT_BYTES", 16 << 20)
    result = check("purdue-numpy-ann", bomb, items=["1.9"])
    assert result.lost() == ["1.9"] and "they unpack to more than 16 MiB" in result.item("1.9").error


def test_json_nested_past_the_stack_or_endless_lines_cost_their_items():
    """The result file and the progress channel are the child's to write: JSON nested 200,000 deep made
    the checker's json.loads raise RecursionError (a traceback, the batch stopped), and a line without
    an end would grow in its memory."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_deep_json"), items=["1.2", "1.3", "1.9", "1.1"],
                   timeout=10)
    assert result.lost() == ["1.2", "1.3", "1.9"] and result.item("1.1").passed
    assert "left no readable result" in result.item("1.2").error
    assert "exited with status 0" in result.item("1.3").error


@pytest.mark.parametrize("name", ["purdue-numpy-ann", "purdue-pytorch-ann", "radboud-a1"])
def test_inputs_whose_answers_the_feedback_shows_are_drawn_for_each_submission(name):
    """A number the feedback showed as expected (1.9's accuracy, 1.4's losses, 2.4's twelve labels;
    Radboud's bce_loss, model1 and evaluate values, 3/3 and 17/17 when hard-coded) is of that run's
    inputs only; 1.9's two accuracies differ, so no constant answers both."""
    import numpy as np

    from backproplab.check.api import parts
    from backproplab.check.assignment import _submission_inputs

    assignment = parts(name)[0]
    first, second = _submission_inputs(assignment, 1), _submission_inputs(assignment, 2)
    again = _submission_inputs(assignment, 1)  # the same file is graded on the same inputs every time
    assert all(np.array_equal(first[k], again[k]) for k in first)
    fresh = assignment.fresh_inputs(np.random.default_rng(0), dict(assignment.inputs))
    # real numbers (a one-hot row, or eight 0/1 labels, may repeat)
    drawn = [k for k in fresh if k.startswith(("X", "ce.pred", "rad.")) and k != "rad.bce_y"]
    assert drawn and all(not np.array_equal(first[k], second[k]) for k in drawn)
    assert all(first[k].shape == assignment.inputs[k].shape for k in fresh)
    if name == "purdue-numpy-ann":
        from backproplab.check.numpy_ann import _known

        ref = _known(first)
        low, high = (ref.accuracy(first["X2"].copy(), first[k].copy()) for k in ("Y2", "Y2b"))
        assert low < 0.5 < high



def test_the_public_test_labels_in_the_test_sets_order_do_not_answer_1_10(tmp_path, needs_fashion):
    """Fashion-MNIST's test labels are public: carried in the source as a string, in the test set's
    order, they made a perfect predict with no training (1.10 2/2); each submission now gets the test
    images in an order of its own."""
    from backproplab.data import load_fashion_mnist

    _, labels = load_fashion_mnist("test")
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "numpy_ann.py").write_text(f'''"""Hostile: predict returns the public test labels in order."""
import numpy as np

LABELS = "{"".join(str(int(v)) for v in labels[:1000])}"


class NumpyANN:
    def __init__(self, input_size, hidden_size, output_size, lr, seed):
        self.k = output_size

    def train(self, *args):
        return {{}}

    def predict(self, X):
        out = np.zeros((len(X), self.k))
        out[np.arange(len(X)), [int(c) for c in LABELS[:len(X)]]] = 1
        return out
''')
    result = check("purdue-numpy-ann", folder, quick=True, items=["1.10"])
    assert result.lost() == ["1.10"]
    assert "test accuracy 0.0" in result.item("1.10").failures()[0] or \
        "test accuracy 0.1" in result.item("1.10").failures()[0]


def test_the_right_numbers_in_the_wrong_kind_fail():
    """Complex numbers (their real part was compared, with a ComplexWarning on the checker's stderr),
    times and text ("0.7", what the child sends for an object whose repr it is) are not numbers."""
    import numpy as np

    from backproplab.check.compare import Bad, array, close, number
    from backproplab.check.runner import ProbeOutput

    expected = np.array([[0.25, 0.75]])
    assert close("p", "predict(X)", expected.copy(), expected).passed
    assert not close("p", "predict(X)", expected + 0j, expected).passed
    assert "(complex numbers)" in close("p", "predict(X)", expected + 1j, expected).message
    assert not close("t", "f(x)", np.array([[1, 3]], dtype="timedelta64[s]"), np.array([[1.0, 3.0]])).passed
    for value in ("0.7", ["0.25", "0.75"]):
        out = ProbeOutput(values={"acc": value})
        with pytest.raises(Bad):
            number(out, "acc", "accuracy(X, y_true)") if isinstance(value, str) else array(out, "acc", "f(x)")
    assert number(ProbeOutput(arrays={"acc": np.array(0.7)}), "acc", "accuracy") == 0.7
    with pytest.raises(Bad):
        number(ProbeOutput(arrays={"acc": np.array(0.7 + 0j)}), "acc", "accuracy")


def test_files_planted_for_the_next_child_change_nothing():
    """A child that dies leaves its folder to the next one: files it planted under the names the checker
    gives the next child's FIFO and exit status made mkfifo fail (no grade at all) or the next child
    look dead at once."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_plants_the_next_childs_files"),
                   items=["1.2", "1.3", "1.4"])
    assert result.lost() == ["1.2"] and "exited with status 1" in result.item("1.2").error


def _children_of(parent: int) -> list[int]:
    """The live processes whose parent is ``parent``."""
    import os

    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(pid))
    return found


def test_an_exit_status_the_child_wrote_itself_does_not_leave_it_running():
    """The fork server wrote each child's exit status in the child's folder, where the student's code could
    write it first: the checker took the live child for ended, failed the item with "exited with status 0"
    and never stopped it (a process left running per item, with its memory, until the checker exited). The
    status is now out of the child's reach: the item times out and the child is stopped."""
    from backproplab.check import processes
    from backproplab.check.api import parts

    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_forges_its_exit_status"), items=["1.2", "1.3"],
                   timeout=2)
    assert result.lost() == ["1.2"] and "did not finish within 2 s" in result.item("1.2").error
    server = processes._SERVERS[str(parts("purdue-numpy-ann")[0].probes)]
    assert _children_of(server.proc.pid) == []


@pytest.mark.parametrize("name", ["hostile_fills_its_folder", "hostile_fills_removed_files"])
def test_a_child_that_fills_its_folder_is_stopped_and_its_files_removed(name):
    """RLIMIT_FSIZE bounds each file a child writes, not their number: 40 files of 64 MiB filled 2.5 GiB of
    the checker's disk and scored (and a file removed but held open keeps its space). A child whose folder
    grows past Limits.disk_mb is stopped; what it wrote is removed before the next child runs."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", name), items=["1.2", "1.9", "1.3"], timeout=30,
                   limits=Limits(disk_mb=64))
    assert result.lost() == ["1.9"]
    assert "wrote more than 64 MiB in its working folder and was stopped" in result.item("1.9").error


def test_what_a_submission_prints_reaches_the_terminal_written_out():
    """The student's output and error messages went to the instructor's terminal as they were: escape
    sequences cleared it and showed a made-up 18 / 18 for a submission that lost the item (or set the
    clipboard, OSC 52). Every character a terminal acts on is now written out."""
    from backproplab.check import format_table
    from backproplab.check.outputs import terminal_text

    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_terminal_escapes"), items=["1.9"])
    table = format_table(result)
    assert result.lost() == ["1.9"]
    assert not any(c in table for c in "\x1b\x07\x9b\u202e")
    assert "\\x1b[2J\\x1b[3J\\x1b[H\\x1b]52;c;ZWNobyBvd25lZA==\\x07\\x9b2J" in table
    assert "raised RuntimeError: \\x1b[1A\\x1b[2Kok \\u202e81 / 81" in table
    assert terminal_text("tab\tnewline\n — ✓ é") == "tab\tnewline\n — ✓ é"
    # on one line, the Unicode line and paragraph separators too (str.splitlines broke a name there)
    assert terminal_text("eve\u2028alice 50 / 50\u2029", one_line=True) == "eve\\u2028alice 50 / 50\\u2029"


def test_a_file_beside_the_submission_does_not_carry_answers(tmp_path):
    """1.9's expected accuracies are drawn from the graded file's bytes, so a changed file gets new ones; but
    a file uploaded beside it (answers.json, read by absolute path: /autograder/submission on Gradescope)
    could change while the graded file, and so the draws, stayed the same: answers read off one run's
    feedback scored 1.9 2/2 in the next with no accuracy at all. The child may not read its own folder."""
    import json

    import numpy as np

    from backproplab.check.api import parts
    from backproplab.check.assignment import _submission_inputs, submission_seed
    from backproplab.check.numpy_ann import _known

    folder = tmp_path / "student"
    folder.mkdir()
    answers = folder / "answers.json"
    source = (fixture("numpy_ann", "correct") / "numpy_ann.py").read_text()
    old = "        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))\n"
    assert source.count(old) == 1
    (folder / "numpy_ann.py").write_text(source.replace(old, f"""\
        import json
        global _CALLS
        _CALLS = globals().get("_CALLS", -1) + 1
        with open({str(answers)!r}) as f:
            return json.load(f)[_CALLS]
"""))
    inp = _submission_inputs(parts("purdue-numpy-ann")[0], submission_seed(folder / "numpy_ann.py"))
    ref = _known(inp)
    answers.write_text(json.dumps([float(ref.accuracy(inp["X2"].copy(), inp[k].copy())) for k in ("Y2", "Y2b")]))
    assert np.isfinite(json.loads(answers.read_text())).all()
    result = check("purdue-numpy-ann", folder, items=["1.9", "1.2"])
    assert result.lost() == ["1.9"]
    assert "may not read the submission's own folder" in result.item("1.9").error


MALLORY = '''\
"""No code: makes its out folder a link to a classmate's, then announces every item done."""
import glob
import json
import os
import sys
import time

try:  # switch the audit hook off through a refusal's traceback (os.symlink is refused by it)
    open("/tmp/backproplab-check-escape.txt", "w")
except PermissionError as refusal:
    tb = refusal.__traceback__
    while tb is not None:
        for helper in (tb.tb_frame.f_locals.get("inside"), tb.tb_frame.f_locals.get("refused_read")):
            for cell in (helper.__closure__ or ()) if helper is not None else ():
                if isinstance(cell.cell_contents, list):
                    cell.cell_contents.clear()
                elif isinstance(cell.cell_contents, str) and cell.cell_contents.startswith("/"):
                    cell.cell_contents = ""
        tb = tb.tb_next
main = sys.modules.get("_backproplab_child_main") or sys.modules["__main__"]
main._DENIED.clear()
me, deadline, others = os.getcwd(), time.time() + 60, []
while not others and time.time() < deadline:  # the folders' names can be listed, not read
    others = [d for d in glob.glob(os.path.join(os.path.dirname(me), "backproplab-check-*")) if d != me]
    time.sleep(0.05)
os.rmdir("out")
os.symlink(os.path.join(max(others, key=os.path.getmtime), "out"), "out")
while not os.path.exists("out/1.9.json") and time.time() < deadline:  # stat passes where a read does not
    time.sleep(0.05)
time.sleep(0.2)
main._emit(event="ready")
for item in json.load(open(sorted(glob.glob("spec*.json"))[-1]))["items"]:
    main._emit(event="start", item=item)
    main._emit(event="done", item=item)
time.sleep(5)
os._exit(0)
'''


def test_a_link_to_a_classmates_results_scores_nothing(tmp_path, needs_fashion):
    """The checker read a child's out/<item>.json with O_NOFOLLOW on the file only: a submission with no
    code that made its out folder a link to a classmate's (graded at the same time, --jobs 2) scored their
    results, 12/18 (all but the items drawn for each submission and 1.10). A link as the folder is refused."""
    from backproplab.check import check_batch

    for name, text in (("alice", (fixture("numpy_ann", "correct") / "numpy_ann.py").read_text()),
                       ("mallory", MALLORY)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "numpy_ann.py").write_text(text)
    results = {r.student: r for r in check_batch("purdue-numpy-ann", [tmp_path], jobs=2, quick=True,
                                                  progress=False)}
    assert results["alice"].score == 18
    assert results["mallory"].score == 0


def test_a_submission_that_breaks_the_checker_does_not_stop_the_batch(tmp_path, monkeypatch):
    """Any error of the checker's own on one submission (here a RuntimeError) is that student's 'not
    graded' record; before, only OSError and ValueError were, and anything else ended the batch."""
    from backproplab.check import api

    real = api.check

    def breaks_on_zed(assignment, path, **kwargs):
        if Path(path).name == "zed":
            raise RuntimeError("a checker bug")
        return real(assignment, path, **kwargs)

    for name in ("alice", "zed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "numpy_ann.py").write_text((fixture("numpy_ann", "correct") / "numpy_ann.py").read_text())
    monkeypatch.setattr(api, "check", breaks_on_zed)
    results = {r.student: r for r in api.check_batch("purdue-numpy-ann", [tmp_path], items=["1.2"], progress=False)}
    assert results["alice"].score == 1 and results["zed"].score == 0
    assert "the checker failed on this submission (RuntimeError: a checker bug)" in results["zed"].item("1.2").error


def test_a_fit_that_rewrites_the_validation_labels_scores_nothing_for_it(tmp_path, needs_fashion):
    """Radboud 1.6 hands fit x and y whole; the child used to count fit's validation hits against y["val"],
    which a fit that trains nothing could overwrite with its own predictions (17/17). The checker now counts
    them against the labels it holds."""
    import nbformat

    from backproplab.check.templates import init

    init("radboud-a1", tmp_path / "solution", solution=True)
    nb = nbformat.read(str(tmp_path / "solution" / "radboud_a1.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if c["id"] == "rad-training")
    head, _ = cell.source.split("def fit(", 1)
    cell.source = head + '''def fit(params, x, y, learning_rate, batch_size, epochs=25):
    with torch.no_grad():
        y["val"][:] = (network(x["val"], params) > 0.5).to(y["val"].dtype)
    return {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
'''
    nbformat.write(nb, str(tmp_path / "radboud_a1.ipynb"))
    result = check("radboud-a1", tmp_path / "radboud_a1.ipynb", items=["1.6"])
    failures = result.item("1.6").failures()
    assert result.lost() == ["1.6"] and any(f.startswith("fit: validation accuracy ≥ 0.95") for f in failures)
    assert all("fit" in f for f in failures), failures  # the other parts of 1.6 keep their points


def test_a_link_to_the_installed_reference_solution_is_not_graded(tmp_path):
    """A student's numpy_ann.py that was a symbolic link to the lab's own solution (installed beside the
    checker, its path guessable) scored 18/18: a link is not graded, in a folder, as a PATH or in a batch."""
    from backproplab.check import check_batch
    from backproplab.check.templates.purdue import SOLUTIONS

    alice, bob = tmp_path / "class" / "alice", tmp_path / "class" / "bob"
    alice.mkdir(parents=True)
    (alice / "numpy_ann.py").symlink_to(SOLUTIONS / "numpy_ann.py")
    bob.mkdir()
    (bob / "numpy_ann.py").write_text((SOLUTIONS / "numpy_ann.py").read_text())
    for path in (alice, alice / "numpy_ann.py"):
        result = check("purdue-numpy-ann", path, items=["1.2"])
        assert result.lost() == ["1.2"] and "numpy_ann.py is a symbolic link" in result.item("1.2").failures()[0]
        assert f"is a symbolic link to {str(SOLUTIONS / 'numpy_ann.py')!r}: not graded" in result.messages[0]
    graded = {r.student: r.lost() for r in check_batch("purdue-numpy-ann", [tmp_path / "class"], items=["1.2"],
                                                       progress=False)}
    assert graded == {"alice": ["1.2"], "bob": []}


def test_a_linked_notebook_is_not_graded_whatever_its_name(tmp_path):
    from backproplab.check.jku import ASSIGNMENT as JKU

    elsewhere = tmp_path / "elsewhere.ipynb"
    elsewhere.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    for name in ("jku_a7.ipynb", "A7_smith.ipynb"):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).symlink_to(elsewhere)
        found = JKU.locate(folder)
        assert found.path is None and found.holds and "is a symbolic link" in found.problem



def _landlock() -> int:
    import importlib.util

    import backproplab.check.child as child

    spec = importlib.util.spec_from_file_location("landlock", Path(child.__file__).with_name("landlock.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.abi_version()


LABELS = Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")


@pytest.mark.skipif(not _landlock(), reason="this kernel has no Landlock: the audit hook alone guards")
@pytest.mark.skipif(not LABELS.exists(), reason="Debian's Fashion-MNIST is not installed")
def test_the_kernel_refuses_what_the_audit_hook_did_once_the_hook_is_switched_off(tmp_path, monkeypatch):
    """The audit hook is Python in the student's process: a refusal's traceback leads to its frame and its
    helpers' closures, and rewritten folders let a read of the test labels and a write outside through.
    Landlock refuses both in the kernel, and, where it can, the signal and the connection that clearing
    the hook's table of refusals lets through; the seccomp filter refuses the fork."""
    monkeypatch.chdir(tmp_path)
    ESCAPES[0].unlink(missing_ok=True)
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_switches_off_the_audit_hook"),
                   items=["1.2", "1.9"], timeout=10)
    assert result.lost() == ["1.9"]
    failure = result.item("1.9").failures()[0]
    assert f"read: [Errno 13] Permission denied: '{LABELS}' | write: [Errno 13] Permission denied: " \
           "'/tmp/backproplab-check-escape.txt'" in failure, failure
    if _landlock() >= 6:  # Linux 6.12: TCP (ABI 4) and signals out of the domain (ABI 6) too
        assert "signal: [Errno 1] Operation not permitted | " in failure
        assert " | connect: [Errno 13] Permission denied" in failure or \
            " | connect: [Errno 1] Operation not permitted" in failure  # or no socket at all (below)
    if platform.machine() in ("x86_64", "aarch64"):  # the seccomp filter: no new process, even as root
        assert " | fork: [Errno 1] Operation not permitted" in failure
        # nor a socket: Landlock refuses TCP only; a Unix socket at a path outside and UDP had got through
        assert " | connect: [Errno 1] Operation not permitted | unix: [Errno 1] Operation not permitted | " \
               "udp: [Errno 1] Operation not permitted" in failure
        # then a socketpair's sendto to a Unix socket outside, and io_uring's sockets, got through
        assert " | socketpair: [Errno 1] Operation not permitted | io_uring: [Errno 1] Operation not permitted" \
            in failure
        # nor fallocate (10 GB between two counts), nor any capability (root made its files immutable)
        assert " | fallocate: [Errno 1] Operation not permitted | capabilities: none held | " in failure
        # nor a new limit (as root with CAP_SYS_RESOURCE, RLIMIT_AS could go back up to unlimited)
        assert " | rlimit: not allowed to raise maximum limit" in failure
    assert not ESCAPES[0].exists()


def test_a_file_larger_than_any_submission_is_refused_unread(tmp_path):
    """A 50 MB numpy_ann.py was read whole (for its seed) before its size was checked: now at most the
    largest submission's bytes are read, and the file is refused, with the bound named."""
    from backproplab.check.runner import MAX_SOURCE_BYTES

    folder = tmp_path / "big"
    folder.mkdir()
    with open(folder / "numpy_ann.py", "wb") as f:
        f.write(b"# padding\n" * 5_000_000)
    with pytest.raises(ValueError, match=f"over {MAX_SOURCE_BYTES:,} bytes, the most a submission file may have"):
        check("purdue-numpy-ann", folder, items=["1.2"])  # a batch records it as the student's "not graded"


def test_a_ctrl_c_while_the_checker_closes_its_fork_servers_is_no_traceback(monkeypatch):
    """A Ctrl-C while a batch exited (in close_fork_servers, at exit) printed a KeyboardInterrupt traceback
    "ignored in atexit callback". It now ends the waiting only: every server's stdin is still closed, on
    which each stops its children by itself."""
    from types import SimpleNamespace

    from backproplab.check import processes

    closed = []

    class Stdin:
        def __init__(self, name):
            self.name = name

        def close(self):
            closed.append(self.name)

    def interrupted():
        raise KeyboardInterrupt

    servers = {name: SimpleNamespace(proc=SimpleNamespace(stdin=Stdin(name)), close=interrupted)
               for name in ("numpy", "torch")}
    monkeypatch.setattr(processes, "_SERVERS", servers)
    processes.close_fork_servers()
    assert closed == ["numpy", "torch"] and servers == {}


def test_the_checkers_own_results_are_not_the_submissions_to_read(tmp_path):
    """An earlier run's records in --out hold the expected values (same file, same draws): a submission that
    read its own record there scored an item it got wrong the run before. The --out folder, and --json's and
    --gradescope's files, are private to the checker like the classmates' folders."""
    import subprocess
    import sys

    from ._helpers import SOLUTIONS

    out = tmp_path / "results"
    (out / "records").mkdir(parents=True)
    record = out / "records" / "eve.json"
    record.write_text('{"expected": 0.25}')
    eve = tmp_path / "batch" / "eve"
    eve.mkdir(parents=True)
    solution = (SOLUTIONS / "numpy_ann.py").read_text()
    reading = f"        open({str(record)!r}).read()\n        return np.maximum(0, x)\n"
    (eve / "numpy_ann.py").write_text(solution.replace("        return np.maximum(0, x)\n", reading, 1))
    assert check("purdue-numpy-ann", eve, items=["1.2"]).lost() == []  # readable when not named as an output
    result = check("purdue-numpy-ann", eve, items=["1.2"], outputs=[out])
    assert result.lost() == ["1.2"] and "may not read the checker's results" in result.item("1.2").failures()[0]
    done = subprocess.run([sys.executable, "-m", "backproplab", "check", "purdue-numpy-ann", str(eve), "--item", "1.2",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "0 / 1" in done.stdout, done.stdout + done.stderr
