"""Every fixture submission of the Purdue checks: the reference solution with one student's edit.

A mistake or hostile fixture is the solution file the package hands out
(``backproplab check --init ... --solution``) with a few lines replaced, so its entry below *is* the
mistake: each ``old`` must occur exactly once in the solution (a changed solution fails loudly rather
than leaving a fixture that tests something else) and becomes ``new``. ``_helpers.fixture`` writes the
result, with the description in its docstring, as a student's whole file: the way a grader reads it.
"""

from __future__ import annotations

# kind -> fixture name -> (description, [(old, new), ...])
#: The two PyTorch solutions' train loops are written alike: one edit moves zero_grad out of both.
ZERO_GRAD_PER_EPOCH = [
    ("""\
            for start in range(0, X_train.shape[0], batch_size):
                xb, yb = X_train[start:start + batch_size], y_train[start:start + batch_size]
                optimizer.zero_grad()
""",
     """\
            optimizer.zero_grad()
            for start in range(0, X_train.shape[0], batch_size):
                xb, yb = X_train[start:start + batch_size], y_train[start:start + batch_size]
"""),
]

#: X and y shuffled with two permutations, in either PyTorch solution's train loop (their rows and labels
#: no longer match); and the correct form, one permutation indexing both.
_EPOCH_LOOP = """\
        for _ in range(epochs):
            for start in range(0, X_train.shape[0], batch_size):
                xb, yb = X_train[start:start + batch_size], y_train[start:start + batch_size]
"""
_SHUFFLED_LOOP = """\
        for _ in range(epochs):
{shuffle}
            for start in range(0, X_train.shape[0], batch_size):
                xb, yb = X_shuffled[start:start + batch_size], y_shuffled[start:start + batch_size]
"""
SEP_SHUFFLE = [(_EPOCH_LOOP, _SHUFFLED_LOOP.format(shuffle="""\
            X_shuffled = X_train[torch.randperm(X_train.shape[0])]
            y_shuffled = y_train[torch.randperm(y_train.shape[0])]"""))]
FORM_SHUFFLED = [(_EPOCH_LOOP, _SHUFFLED_LOOP.format(shuffle="""\
            order = torch.randperm(X_train.shape[0])
            X_shuffled, y_shuffled = X_train[order], y_train[order]"""))]

#: The same for the NumPy solution's train loop (its batch split over two lines).
_NP_EPOCH_LOOP = """\
        for _ in range(epochs):
            for start in range(0, X_train.shape[0], batch_size):
                xb = X_train[start:start + batch_size]
                yb = y_train[start:start + batch_size]
"""
_NP_SHUFFLED_LOOP = """\
        for _ in range(epochs):
{shuffle}
            for start in range(0, X_train.shape[0], batch_size):
                xb = X_shuffled[start:start + batch_size]
                yb = y_shuffled[start:start + batch_size]
"""

EDITS: dict[str, dict[str, tuple[str, list[tuple[str, str]]]]] = {
    "numpy_ann": {
        "w2_updated_first": ('Mistake: _backward updates W2 before computing dz1 from it', [
            ("""\
        db2 = np.sum(dz2, axis=0, keepdims=True) / m
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)
""",
             """\
        db2 = np.sum(dz2, axis=0, keepdims=True) / m
        self.W2 -= self.lr * dW2
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)
"""),
            ("""\
        self.b1 -= self.lr * db1
        self.W2 -= self.lr * dW2
""",
             """\
        self.b1 -= self.lr * db1
"""),
        ]),
        "sep_shuffle": ('Mistake: train shuffles X and y with two different permutations (rows and labels no '
                        'longer match)', [
            (_NP_EPOCH_LOOP, _NP_SHUFFLED_LOOP.format(shuffle="""\
            X_shuffled = X_train[np.random.permutation(X_train.shape[0])]
            y_shuffled = y_train[np.random.permutation(y_train.shape[0])]""")),
        ]),
        "form_shuffled": ('Correct: train shuffles X and y each epoch with one permutation', [
            (_NP_EPOCH_LOOP, _NP_SHUFFLED_LOOP.format(shuffle="""\
            order = np.random.permutation(X_train.shape[0])
            X_shuffled, y_shuffled = X_train[order], y_train[order]""")),
        ]),
        "relu_in_place": ('Mistake: _relu clips its argument in place', [
            ("""\
    def _relu(self, x):
        return np.maximum(0, x)
""",
             """\
    def _relu(self, x):
        x[x < 0] = 0
        return x
"""),
        ]),
        "one_step_per_epoch": ('Mistake: train takes one step on the whole training set per epoch (batch_size '
                               'ignored)', [
            ("""\
            for start in range(0, X_train.shape[0], batch_size):
                xb = X_train[start:start + batch_size]
                yb = y_train[start:start + batch_size]
                self._forward(xb, True)
                self._backward(xb, yb)
""",
             """\
            self._forward(X_train, True)
            self._backward(X_train, y_train)
"""),
        ]),
        "whole_set_per_step": ('Mistake: each step of train\'s batch loop is taken on the whole training set', [
            ("""\
                self._forward(xb, True)
                self._backward(xb, yb)
""",
             """\
                self._forward(X_train, True)
                self._backward(X_train, y_train)
"""),
        ]),
        "epochs_plus_one": ('Mistake: train runs one epoch more than asked (range(epochs + 1))', [
            ("""\
        for _ in range(epochs):
""",
             """\
        for _ in range(epochs + 1):
"""),
        ]),
        "train_arguments_swapped": ('Mistake: train takes batch_size before epochs', [
            ("""\
    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size):
""",
             """\
    def train(self, X_train, y_train, X_val, y_val, batch_size, epochs):
"""),
        ]),
        "softmax_over_columns": ('Mistake: the softmax normalises each column, not each row', [
            ("""\
        e = np.exp(z - np.max(z, axis=1, keepdims=True))
        return e / np.sum(e, axis=1, keepdims=True)
""",
             """\
        e = np.exp(z - np.max(z, axis=0, keepdims=True))
        return e / np.sum(e, axis=0, keepdims=True)
"""),
        ]),
        "form_history_array": ('Correct: the history returned as an array with one row per epoch', [
            ("""\
        return history

""",
             """\
        return np.array([history["val_loss"], history["val_acc"]]).T

"""),
        ]),
        "accuracy_percent": ('Mistake: accuracy in percent', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        return 100 * np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "accuracy_count": ('Mistake: accuracy returns the number of right labels', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        return np.sum(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "cross_entropy_swapped": ('Mistake: _cross_entropy takes (y_pred, y_true)', [
            ("""\
    def _cross_entropy(self, y_true, y_pred):
""",
             """\
    def _cross_entropy(self, y_pred, y_true):
"""),
            ("""\
            history["val_loss"].append(self._cross_entropy(y_val, probs))
""",
             """\
            history["val_loss"].append(self._cross_entropy(probs, y_val))
"""),
        ]),
        "history_made_up": ('Mistake: the history holds numbers that are not the validation loss', [
            ("""\
            history["val_loss"].append(self._cross_entropy(y_val, probs))
""",
             """\
            history["val_loss"].append(0.5)
"""),
        ]),
        "forward_stores_nothing": ('Mistake: _forward keeps its values under other names', [
            ("""\
            self.z1, self.a1, self.z2, self.a2 = z1, a1, z2, a2
""",
             """\
            self.cache = (z1, a1, z2, a2)
"""),
            ("""\
        dz2 = self.a2 - y_true
        dW2 = self.a1.T @ dz2 / m
        db2 = np.sum(dz2, axis=0, keepdims=True) / m
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)
""",
             """\
        z1, a1, z2, a2 = self.cache
        dz2 = a2 - y_true
        dW2 = a1.T @ dz2 / m
        db2 = np.sum(dz2, axis=0, keepdims=True) / m
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(z1)
"""),
        ]),
        "hostile_endless_loop": ('Hostile: an endless loop in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        while True:
            pass
"""),
        ]),
        "hostile_exit_on_import": ('Hostile: sys.exit when imported', [
            ("""\
import numpy as np
""",
             """\
import sys

import numpy as np

sys.exit("bye")
"""),
        ]),
        "hostile_fork": ('Hostile: a fork bomb in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os
        while True:
            os.fork()
"""),
        ]),
        "hostile_import_error": ('Hostile: imports a module that is not installed', [
            ("""\


class NumpyANN:
""",
             """\
import tensorflow_is_not_installed_here


class NumpyANN:
"""),
        ]),
        "hostile_uses_the_lab": ("Hostile: hands in the lab's own reference class", [
            ("""\
if __name__ == "__main__":
""",
             """\
from backproplab.scratch.numpy_ann import NumpyANN  # noqa: E402,F811

if __name__ == "__main__":
"""),
        ]),
        "hostile_reads_the_lab": ("Hostile: loads the lab's reference class from its file, not by import", [
            ("""\
if __name__ == "__main__":
""",
             """\
import importlib.util  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

for folder in sys.path:
    path = os.path.join(folder, "backproplab", "scratch", "numpy_ann.py")
    if os.path.exists(path):
        spec = importlib.util.spec_from_file_location("lab_reference", path)
        reference = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(reference)
        NumpyANN = reference.NumpyANN  # noqa: F811
        break

if __name__ == "__main__":
"""),
        ]),
        "hostile_loop_on_import": ('Hostile: trains forever when imported', [
            ("""\
if __name__ == "__main__":
""",
             """\
while True:
    pass

if __name__ == "__main__":
"""),
        ]),
        "hostile_memory_bomb": ('Hostile: a memory bomb in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        hog = []
        while True:
            hog.append(np.empty(10**9))
"""),
        ]),
        "hostile_missing_class": ('Hostile: the class has another name', [
            ("""\
class NumpyANN:
""",
             """\
class NumpyNet:
"""),
        ]),
        "hostile_os_exit": ('Hostile: os._exit in accuracy (the process dies)', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os
        os._exit(7)
"""),
        ]),
        "hostile_prints": ('Hostile: 100 MB of prints in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        for _ in range(100_000):
            print("x" * 1000)
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_subprocess": ('Hostile: a shell command in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import subprocess
        subprocess.run(["touch", "/tmp/backproplab-check-escape-sub"])
        return 1.0
"""),
        ]),
        "hostile_syntax_error": ('Hostile: a syntax error', [
            ("""\
    def _relu(self, x):
""",
             """\
    def _relu(self, x)
"""),
        ]),
        "hostile_sys_exit": ('Hostile: sys.exit in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import sys
        sys.exit(3)
"""),
        ]),
        "hostile_reads_the_test_labels": ("Hostile: reads Fashion-MNIST's public test labels from disk (a "
                                          "predict that looks the test images up scores any accuracy item)", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import gzip

        with gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") as f:
            f.read()
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_reads_another_work_folder": ("Hostile: reads a classmate's results in the checker's working "
                                              "folder beside its own (a batch graded with --jobs 2)", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import json
        import os

        classmate = os.path.join(os.path.dirname(os.getcwd()), "backproplab-check-classmate", "out", "1.9.json")
        with open(classmate) as f:
            return json.load(f)["values"]["acc"]
"""),
        ]),
        "hostile_forges_its_results": ("Hostile: writes every item's result file itself, with values of kinds "
                                       "the probes never return, and announces the items done", [
            ("""\
if __name__ == "__main__":
""",
             """\
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

_main = sys.modules.get("_backproplab_child_main") or sys.modules["__main__"]
_spec = sorted(f for f in os.listdir(".") if f.startswith("spec") and f.endswith(".json"))[-1]
_forged = {"history": "x", "acc": {"a": 1}, "pred": {"a": 1}, "relu": {"x": 1}, "row0": [[1, 2]],
           "init0.input_size": {"x": 1}, "ret": "x", "W1": [[None]]}
_main._emit(event="ready")
with open(_spec) as _f:
    _items = json.load(_f)["items"]
for _k, _item in enumerate(_items):
    _record = {"values": _forged, "error": None} if _item in ("1.1", "1.6", "1.7", "1.8", "1.9") else [
        {"values": "x"}, {"values": {}, "error": ["x"]}, {"values": {}, "error": None, "seconds": "x"}, ["x"]][_k % 4]
    with open(os.path.join("out", f"{_item}.json"), "w") as _f:
        json.dump(_record, _f)
    _main._emit(event="start", item=_item)
    _main._emit(event="done", item=_item)
os._exit(0)

if __name__ == "__main__":
"""),
        ]),
        "hostile_zip_bomb_results": ("Hostile: its own result files are zip bombs the checker would unpack: "
                                     "1.2's states a shape of 8 TB, 1.9's holds 64 MiB of zeros in 64 KiB", [
            ("""\
        return np.maximum(0, x)
""",
             """\
        import os
        import zipfile

        with zipfile.ZipFile(os.path.join("out", "1.2.npz"), "w") as zf:
            with zf.open("relu.npy", "w") as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                         "shape": (10 ** 12,)})
                f.write(bytes(8))
        np.savez = lambda *args, **kwargs: None  # the child's own save leaves the bomb in place
        return np.maximum(0, x)
"""),
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os
        import zipfile

        with zipfile.ZipFile(os.path.join("out", "1.9.npz"), "w", zipfile.ZIP_DEFLATED) as zf:
            with zf.open("acc.npy", "w") as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                         "shape": (8 << 20,)})
                for _ in range(64):
                    f.write(bytes(1 << 20))
        np.savez = lambda *args, **kwargs: None
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_deep_json": ("Hostile: JSON nested past Python's stack in its result file (1.2) and on the "
                              "progress channel (1.3), and 4 MiB without a line end on the channel (1.9)", [
            ("""\
        return np.maximum(0, x)
""",
             """\
        import os
        import sys

        with open(os.path.join("out", "1.2.json"), "w") as f:
            f.write("[" * 200000 + "]" * 200000)
        (sys.modules.get("_backproplab_child_main") or sys.modules["__main__"])._emit(event="done", item="1.2")
        os._exit(0)
"""),
            ("""\
        return (x > 0).astype(float)
""",
             """\
        import os
        import sys

        channel = (sys.modules.get("_backproplab_child_main") or sys.modules["__main__"])._EVENTS
        channel.write("[" * 200000 + "\\n")
        channel.flush()
        os._exit(0)
"""),
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os
        import sys

        channel = (sys.modules.get("_backproplab_child_main") or sys.modules["__main__"])._EVENTS
        for _ in range(64):
            channel.write("x" * (1 << 16))
            channel.flush()
        os._exit(0)
"""),
        ]),
        "hostile_accuracy_read_off_the_feedback": ("Hostile: accuracy returns the number an earlier run's "
                                                   "feedback showed as expected", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        return 0.7
"""),
        ]),
        "hostile_reads_the_checkers_memory": ("Hostile: reads its parent process's memory through /proc (the "
                                              "checker's holds the test labels and, in a batch, the answers)", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os

        with open(f"/proc/{os.getppid()}/maps") as f:
            heap = next(line for line in f if "[heap]" in line)
        with open(f"/proc/{os.getppid()}/mem", "rb") as f:
            f.seek(int(heap.split("-")[0], 16))
            f.read(4096)
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_plants_the_next_childs_files": ("Hostile: before it dies, writes the files the checker makes "
                                                 "for the next child (its progress FIFO, its exit status)", [
            ("""\
        return np.maximum(0, x)
""",
             """\
        import os

        for n in range(2, 5):
            with open(f"_events{n}", "w") as f:
                f.write('{"event": "ready"}\\n{"event": "done", "item": "1.3"}\\n')
            with open(f"_exit{n}.json", "w") as f:
                f.write('{"code": 0}')
        os._exit(1)
"""),
        ]),
        "hostile_forges_its_exit_status": ("Hostile: in _relu, writes the exit status the checker waited "
                                           "for in its folder, then keeps running (and holding memory)", [
            ("""\
        return np.maximum(0, x)
""",
             """\
        import glob
        import time

        for spec in glob.glob("spec*.json"):
            with open(spec.replace("spec", "_exit"), "w") as f:
                f.write('{"code": 0}')
        hold = bytearray(64 << 20)
        time.sleep(60)
        return np.maximum(0, x) + 0 * len(hold)
"""),
        ]),
        "hostile_memory_outside_its_limit": ("Hostile: in accuracy, 2.5 GiB in memfds, "
                                             "memory that RLIMIT_AS does not count (the test's limit is 2 GiB)", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os

        held, chunk = [], b"x" * (1 << 20)
        for k in range(40):
            fd = os.memfd_create(f"m{k}")
            for _ in range(63):
                os.write(fd, chunk)
            held.append(fd)
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_fills_pipes": ("Hostile: in accuracy, 600 pipes of 1 MiB each, full: kernel memory that RLIMIT_AS "
                                "does not count (as root, no per-user cap either)", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import fcntl
        import os

        held, chunk = [], b"x" * (1 << 20)
        for _ in range(600):
            r, w = os.pipe()
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
            os.set_blocking(w, False)
            try:
                os.write(w, chunk)
            except BlockingIOError:
                pass
            held += [r, w]
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_fills_its_folder": ("Hostile: in accuracy, 10 files of 16 MiB in its folder (RLIMIT_FSIZE bounds "
                                     "each file, not their number), then 5 s more", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import time

        for k in range(10):
            with open(f"junk{k}.bin", "wb") as f:
                f.write(b"x" * (16 << 20))
        time.sleep(5)
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_fills_removed_files": ("Hostile: in accuracy, 10 files of 16 MiB, removed from its folder but "
                                        "held open (the space stays taken), then 5 s more", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os
        import time

        held = []
        for k in range(10):
            held.append(open(f"junk{k}.bin", "wb"))
            held[-1].write(b"x" * (16 << 20))
            held[-1].flush()
            os.unlink(f"junk{k}.bin")
        time.sleep(5)
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_starts_threads": ("Hostile: in accuracy, 3,000 threads (each a process id; RLIMIT_NPROC does not "
                                   "bind root), held 2 s", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import threading
        import time

        threading.stack_size(1 << 16)
        stop = threading.Event()
        for _ in range(3000):
            threading.Thread(target=stop.wait, daemon=True).start()
        time.sleep(2)
        stop.set()
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_terminal_escapes": ("Hostile: in accuracy, prints what clears the instructor's terminal and a "
                                     "made-up score, sets the clipboard (OSC 52), and raises with a cursor move", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        print("\\x1b[2J\\x1b[3J\\x1b[H\\x1b]52;c;ZWNobyBvd25lZA==\\x07\\x9b2Jpurdue-numpy-ann: 18 / 18")
        raise RuntimeError("\\x1b[1A\\x1b[2Kok \\u202e81 / 81")
"""),
        ]),
        "hostile_deep_folder_tree": ("Hostile: in accuracy, a folder tree 1,500 levels deep in its working folder "
                                     "(shutil.rmtree recursed once a level: RecursionError, no grade)", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os

        fd = os.open(".", os.O_RDONLY)
        for _ in range(0 if os.path.isdir("d") else 1500):  # accuracy is called twice
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(fd)
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_malformed_progress_event": ("Hostile: in accuracy, a progress line whose event is a list", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import sys

        channel = (sys.modules.get("_backproplab_child_main") or sys.modules["__main__"])._EVENTS
        channel.write('{"event": ["done"], "item": "1.9"}\\n')
        channel.flush()
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "hostile_pipes_where_the_checker_reads": (
            'Hostile: pipes and links planted where the checker reads its results, in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import os
        for name in ["_stderr.txt", "out/1.9.json", *(f"_exit{n}.json" for n in range(10))]:
            if os.path.lexists(name):
                os.unlink(name)
            os.mkfifo(name)  # a plain open() of a pipe waits for a writer for ever
        os.symlink("/etc/passwd", "out/1.9.npz")
        os._exit(1)
"""),
        ]),
        "hostile_c_calls_through_ctypes": (
            'Hostile: links planted through ctypes.pythonapi (no dlopen) where the checker writes, in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        import ctypes
        import os
        for name in ["_stderr.txt", *(f"_exit{n}.json.tmp" for n in range(10)), *(f"spec{n}.json" for n in range(10))]:
            ctypes.pythonapi.symlink(b"/tmp/backproplab-check-escape.txt", os.fsencode(name))
        os._exit(1)
"""),
        ]),
        "hostile_switches_off_the_audit_hook": (
            "Hostile: rewrites the audit hook's closures (reached through a refusal's traceback), then reads "
            "the public test labels and writes outside the working directory, in accuracy", [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        try:
            open("/tmp/backproplab-check-escape.txt", "w")
        except PermissionError as refusal:
            tb = refusal.__traceback__
            while tb is not None:  # the hook's frame holds its helpers; their cells hold its folders
                for helper in (tb.tb_frame.f_locals.get("inside"), tb.tb_frame.f_locals.get("refused_read")):
                    for cell in (helper.__closure__ or ()) if helper is not None else ():
                        if isinstance(cell.cell_contents, list):
                            cell.cell_contents.clear()
                        elif isinstance(cell.cell_contents, str) and cell.cell_contents.startswith("/"):
                            cell.cell_contents = ""  # every path is inside now, and nothing private
                tb = tb.tb_next
        import os
        import resource
        import socket
        import sys
        sys.modules["_backproplab_child_main"]._DENIED.clear()  # processes, signals, sockets: allowed now
        refused = []

        def raise_limit():  # root (CAP_SYS_RESOURCE) could raise it to unlimited; any change is refused now
            try:
                resource.setrlimit(resource.RLIMIT_AS, resource.getrlimit(resource.RLIMIT_AS))
            except ValueError as err:  # how Python says EPERM here
                raise PermissionError(str(err)) from None

        def fallocate():  # 10 GB reserved between two counts of the folder
            fd = os.open("reserved.bin", os.O_CREAT | os.O_WRONLY, 0o600)
            try:
                os.posix_fallocate(fd, 0, 1 << 20)
            finally:
                os.close(fd)

        def capabilities():  # as root, CAP_LINUX_IMMUTABLE made files the checker could not remove
            with open("/proc/self/status") as status:
                held = next(line for line in status if line.startswith("CapEff:")).split()[1]
            if int(held, 16) == 0:
                raise PermissionError("none held")

        def io_uring():  # its ring opens and connects sockets with no system call a filter sees
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.syscall(425, 8, ctypes.create_string_buffer(120))  # io_uring_setup(8 entries, params)
            if fd < 0:
                code = ctypes.get_errno()
                raise (PermissionError if code == 1 else OSError)(code, os.strerror(code))
            os.close(fd)
        for what, attempt in [
                ("read", lambda: open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "rb").read(8)),
                ("write", lambda: open("/tmp/backproplab-check-escape.txt", "w").write("escaped")),
                ("signal", lambda: os.kill(os.getppid(), 0)),
                ("fork", lambda: os.fork() or os._exit(0)),  # a child that got through ends at once
                ("connect", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1)),
                ("unix", lambda: socket.socket(socket.AF_UNIX).connect("/tmp/backproplab-check-escape.sock")),
                ("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))),
                ("socketpair", lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)[0].sendto(
                    b"x", "/tmp/backproplab-check-escape.sock")),
                ("io_uring", io_uring), ("fallocate", fallocate), ("capabilities", capabilities),
                ("rlimit", raise_limit)]:
            try:
                attempt()
            except PermissionError as err:
                refused.append(f"{what}: {err}")
            except OSError:
                pass  # e.g. nothing listens on that port
        raise PermissionError(" | ".join(refused) or "nothing was refused")
"""),
        ]),
        "hostile_write_outside": ('Hostile: writes outside the working directory in accuracy', [
            ("""\
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
""",
             """\
        try:
            open("../backproplab-check-escape.txt", "w").write("escaped")
        except PermissionError:
            pass
        with open("/tmp/backproplab-check-escape.txt", "w") as f:
            f.write("escaped")
        return np.mean(np.argmax(self.predict(X), axis=1) == np.argmax(y_true, axis=1))
"""),
        ]),
        "init_default_rng": ('Mistake: W1, W2 drawn from np.random.default_rng', [
            ("""\
        np.random.seed(seed)
        self.W1 = 0.01 * np.random.randn(input_size, hidden_size)
        self.W2 = 0.01 * np.random.randn(hidden_size, output_size)
""",
             """\
        rng = np.random.default_rng(seed)
        self.W1 = 0.01 * rng.standard_normal((input_size, hidden_size))
        self.W2 = 0.01 * rng.standard_normal((hidden_size, output_size))
"""),
        ]),
        "init_order": ('Mistake: W2 drawn before W1', [
            ("""\
        self.W1 = 0.01 * np.random.randn(input_size, hidden_size)
        self.W2 = 0.01 * np.random.randn(hidden_size, output_size)
""",
             """\
        self.W2 = 0.01 * np.random.randn(hidden_size, output_size)
        self.W1 = 0.01 * np.random.randn(input_size, hidden_size)
"""),
        ]),
        "no_divide_by_m": ('Mistake: the gradients are not divided by the number of samples', [
            ("""\
        dW2 = self.a1.T @ dz2 / m
        db2 = np.sum(dz2, axis=0, keepdims=True) / m
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)
        dW1 = X.T @ dz1 / m
        db1 = np.sum(dz1, axis=0, keepdims=True) / m
""",
             """\
        dW2 = self.a1.T @ dz2
        db2 = np.sum(dz2, axis=0, keepdims=True)
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)
        dW1 = X.T @ dz1
        db1 = np.sum(dz1, axis=0, keepdims=True)
"""),
        ]),
        "relu_grad_at_zero": ('Mistake: _relu_grad(0) = 1', [
            ("""\
        return (x > 0).astype(float)
""",
             """\
        return (x >= 0).astype(float)
"""),
        ]),
        "init_he": ("Mistake: W1, W2 drawn with He initialisation, randn · √(2/fan_in), not 0.01 · randn", [
            ("""\
        self.W1 = 0.01 * np.random.randn(input_size, hidden_size)
        self.W2 = 0.01 * np.random.randn(hidden_size, output_size)
""",
             """\
        self.W1 = np.random.randn(input_size, hidden_size) * np.sqrt(2 / input_size)
        self.W2 = np.random.randn(hidden_size, output_size) * np.sqrt(2 / hidden_size)
"""),
        ]),
        "dz2_sign": ("Mistake: _backward takes dz2 = y_true − a2 (the update line is right)", [
            ("""\
        dz2 = self.a2 - y_true
""",
             """\
        dz2 = y_true - self.a2
"""),
        ]),
        "lr_written_in": ("Mistake: _backward steps with lr 0.1 written into the code, not self.lr", [
            ("""\
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
""",
             """\
        self.W1 -= 0.1 * dW1
        self.b1 -= 0.1 * db1
        self.W2 -= 0.1 * dW2
        self.b2 -= 0.1 * db2
"""),
        ]),
    },
    "pytorch_ann": {
        "form_forward_calls_layer_forward": ('Correct: forward calls each layer\'s forward itself (no module hooks run)', [
            ("""\
    def forward(self, X):
        return self.model(X)
""",
             """\
    def forward(self, X):
        for layer in self.model:
            X = layer.forward(X)
        return X
"""),
        ]),
        "zero_grad_per_epoch": ('Mistake: optimizer.zero_grad() once per epoch, before the batch loop',
                                ZERO_GRAD_PER_EPOCH),
        "sep_shuffle": ('Mistake: train shuffles X and y with two different permutations (rows and labels no '
                        'longer match)', SEP_SHUFFLE),
        "form_shuffled": ('Correct: train shuffles X and y each epoch with one permutation', FORM_SHUFFLED),
        "sep_shuffle_loss_by_name": ('Mistake: train shuffles X and y with two different permutations, its loss '
                                     'cross_entropy imported by name', [
            *SEP_SHUFFLE,
            ("from torch import nn\n", "from torch import nn\nfrom torch.nn.functional import cross_entropy\n"),
            ("loss = loss_fn(self.forward(xb), yb)", "loss = cross_entropy(self.forward(xb), yb)")]),
        # a reviewer's: one permutation, but a second forward with gradients on (a training accuracy) between
        # the batch's forward and its loss, and a step size doubled: the step is wrong, the pairs are not
        "shuffled_extra_forward_double_lr": ('Mistake: twice the step size; train shuffles X and y with one '
                                             'permutation and computes a training accuracy before the loss', [
            *FORM_SHUFFLED,
            ("""\
                optimizer.zero_grad()
                loss = loss_fn(self.forward(xb), yb)
""",
             """\
                optimizer.zero_grad()
                for group in optimizer.param_groups:
                    group["lr"] = 2 * learning_rate
                out_b = self.forward(xb)
                accuracy = (self.forward(X_train).argmax(1) == y_train).float().mean()
                loss = loss_fn(out_b, yb)
"""),
        ]),
        "whole_set_per_step": ('Mistake: each step of train\'s batch loop is taken on the whole training set', [
            ("""\
                xb, yb = X_train[start:start + batch_size], y_train[start:start + batch_size]
""",
             """\
                xb, yb = X_train, y_train
"""),
        ]),
        "form_loss_attribute_plot_closed": ('Correct: the loss kept as an attribute; the plot closed after saving', [
            ("""\
                                   nn.Linear(hidden_size, output_size))
""",
             """\
                                   nn.Linear(hidden_size, output_size))
        self.loss_fn = nn.CrossEntropyLoss()
"""),
            ("""\
        fig.savefig("pytorch_ann_train_val_metrics.png")
        return fig
""",
             """\
        fig.savefig("pytorch_ann_train_val_metrics.png")
        plt.close(fig)
"""),
        ]),
        "hostile_training_hangs": ('Hostile: train never ends on real data', [
            ("""\
        loss_fn = nn.CrossEntropyLoss()
""",
             """\
        while X_train.shape[0] > 1000:
            pass
        loss_fn = nn.CrossEntropyLoss()
"""),
        ]),
        "judgement_made_up_curves": ("Hostile: train takes no step and records curves it makes up, which "
                                     "report_my_judgement then reads", [
            ("""\
                optimizer.zero_grad()
                loss = loss_fn(self.forward(xb), yb)
                loss.backward()
                optimizer.step()
            tl, ta = self._evaluate(X_train, y_train, loss_fn)
            vl, va = self._evaluate(X_val, y_val, loss_fn)
""",
             """\
                pass
            tl, ta, vl, va = 0.3, 0.9, 0.31, 0.89  # made up: no training
"""),
        ]),
        "plot_made_up_lines": ("Mistake: the plot draws lines of the right length but not the recorded "
                               "curves", [
            ("""\
        ax1.plot(self.history["train_loss"], label="train")
""",
             """\
        ax1.plot([1.0] * len(self.history["train_loss"]), label="train")
"""),
        ]),
        "judgement_verdict_object": ('Mistake: report_my_judgement prints instead of returning', [
            ("""\
        tl, vl = self.history["train_loss"], self.history["val_loss"]
""",
             """\
        print(self._judge())

    def _judge(self):
        tl, vl = self.history["train_loss"], self.history["val_loss"]
"""),
        ]),
        "lr_typed": ('Mistake: the optimizer\'s rate typed in (lr=0.01), learning_rate ignored', [
            ("lr=learning_rate)", "lr=0.01)"),
        ]),
        "adam": ('Mistake: torch.optim.Adam instead of SGD', [
            ("optimizer = torch.optim.SGD(", "optimizer = torch.optim.Adam("),
        ]),
        "momentum": ('Mistake: SGD with momentum=0.9', [
            ("lr=learning_rate)", "lr=learning_rate, momentum=0.9)"),
        ]),
        "dropout_in_model": ('Mistake: a Dropout layer after the ReLU in self.model', [
            ("nn.Linear(input_size, hidden_size), nn.ReLU(),", "nn.Linear(input_size, hidden_size), nn.ReLU(), nn.Dropout(0.2),"),
        ]),
        "validation_on_train": ('Mistake: the validation curves are computed on the training rows', [
            ("vl, va = self._evaluate(X_val, y_val, loss_fn)", "vl, va = self._evaluate(X_train, y_train, loss_fn)"),
        ]),
        "no_seed": ('Mistake: no torch.manual_seed', [
            ("""\
        torch.manual_seed(seed)
""",
             """\
"""),
        ]),
        "sum_reduction": ('Mistake: the loss summed over the batch, not averaged', [
            ("""\
        loss_fn = nn.CrossEntropyLoss()
""",
             """\
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
"""),
        ]),
        "epochs_plus_one": ('Mistake: train runs one epoch more than asked (range(epochs + 1))', [
            ("""\
        for _ in range(epochs):
""",
             """\
        for _ in range(epochs + 1):
"""),
        ]),
        "train_arguments_swapped": ('Mistake: train takes learning_rate before batch_size', [
            ("""\
    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
""",
             """\
    def train(self, X_train, y_train, X_val, y_val, epochs, learning_rate, batch_size):
"""),
        ]),
        "no_zero_grad": ('Mistake: no optimizer.zero_grad()', [
            ("""\
                optimizer.zero_grad()
""",
             """\
"""),
        ]),
        "predict_logits": ('Mistake: predict returns the logits', [
            ("""\
            return self.forward(X).argmax(dim=1)
""",
             """\
            return self.forward(X)
"""),
        ]),
        "softmax_in_model": ('Mistake: a Softmax at the end of self.model', [
            ("""\
                                   nn.Linear(hidden_size, output_size))
""",
             """\
                                   nn.Linear(hidden_size, output_size), nn.Softmax(dim=1))
"""),
        ]),
    },
    "pytorch_cnn": {
        "sep_shuffle": ('Mistake: the CNN\'s train shuffles X and y with two different permutations',
                        SEP_SHUFFLE),
        "form_shuffled": ('Correct: the CNN\'s train shuffles X and y each epoch with one permutation',
                          FORM_SHUFFLED),
        "zero_grad_per_epoch": ('Mistake: optimizer.zero_grad() once per epoch in the CNN\'s train',
                                ZERO_GRAD_PER_EPOCH),
        "form_same_padding": ('Correct: padding="same" (k = 3, stride 1: one pixel a side)', [
            ("""\
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2),
""",
             """\
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
"""),
        ]),
        "form_pool_pair": ('Correct: MaxPool2d((2, 2)), MaxPool2d(2) written with a pair', [
            ("""\
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2),
""",
             """\
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d((2, 2)),
"""),
        ]),
        "form_loss_attribute_and_net": ('Correct: the Sequential called self.net, the loss kept as an attribute', [
            ("""\
        self.model = nn.Sequential(*layers)
""",
             """\
        self.net = nn.Sequential(*layers)
        self.loss_fn = nn.CrossEntropyLoss()
"""),
            ("""\
        return self.model(X)
""",
             """\
        return self.net(X)
"""),
            ("""\
        optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
""",
             """\
        optimizer = torch.optim.SGD(self.net.parameters(), lr=learning_rate)
"""),
        ]),
        "eval_after_validating": ('Mistake: the model stays in eval mode after the first validation', [
            ("""\
        nn.Module.train(self, True)
        return result
""",
             """\
        return result
"""),
        ]),
        "flatten_size_wrong": ('Mistake: the first Linear takes 256 * 2 * 2 features (the flattened size misjudged)', [
            ("nn.Flatten(), nn.Linear(256, 128)", "nn.Flatten(), nn.Linear(256 * 2 * 2, 128)"),
        ]),
        "no_zero_grad": ('Mistake: no optimizer.zero_grad() in the CNN\'s train', [
            ("""\
                optimizer.zero_grad()
""",
             """\
"""),
        ]),
        "no_dropout": ('Mistake: the conv blocks have no Dropout', [
            ("""\
# ruff: noqa: B905 - the course targets any Python 3, before zip(strict=)
""",
             """\
"""),
            ("""\
                       nn.BatchNorm2d(c_out), nn.Dropout(0.3)]
""",
             """\
                       nn.BatchNorm2d(c_out)]
"""),
            ("""\
            logits = self.forward(X)
""",
             """\
            logits = torch.cat([self.forward(X[i:i + 1000]) for i in range(0, X.shape[0], 1000)])
"""),
            ("""\
            return self.forward(X).argmax(dim=1)
""",
             """\
            return torch.cat([self.forward(X[i:i + 1000]) for i in range(0, X.shape[0], 1000)]).argmax(dim=1)
"""),
        ]),
        "softmax_at_end": ('Mistake: a Softmax at the end', [
            ("""\
# ruff: noqa: B905 - the course targets any Python 3, before zip(strict=)
""",
             """\
"""),
            ("""\
        layers += [nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes)]
""",
             """\
        layers += [nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes), nn.Softmax(dim=1)]
"""),
            ("""\
            logits = self.forward(X)
""",
             """\
            logits = torch.cat([self.forward(X[i:i + 1000]) for i in range(0, X.shape[0], 1000)])
"""),
            ("""\
            return self.forward(X).argmax(dim=1)
""",
             """\
            return torch.cat([self.forward(X[i:i + 1000]) for i in range(0, X.shape[0], 1000)]).argmax(dim=1)
"""),
        ]),
    },
}
