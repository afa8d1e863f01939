"""What an assignment is to the checker, and how one submission is graded.

An :class:`Assignment` names the file and class the course asks for, its items (id, title, points,
a judge), the inputs the probes get, and the Fashion-MNIST run of its accuracy items. Grading runs
the probes in a child process (:func:`backproplab.check.runner.run_items`) and hands each item's
output to its judge, which computes the expected values with the course's reference on the same
inputs, in this process.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from backproplab.check.compare import Bad
from backproplab.check.locate import Found, find_fixed, find_notebook
from backproplab.check.notebook import MAX_NOTEBOOK_BYTES
from backproplab.check.result import Assertion, ItemResult, ManualResult, SubmissionResult
from backproplab.check.runner import MAX_SOURCE_BYTES, Limits, ProbeOutput, run_items
from backproplab.files import read_regular

Judge = Callable[["Context", ProbeOutput], list[Assertion]]

#: Judging runs one submission at a time: the references draw their weights from the global NumPy
#: and torch generators after seeding them, which threads grading in parallel would interleave.
_JUDGING = threading.RLock()

#: Reading a notebook parses and compiles its cells one submission at a time: CPython 3.11 keeps the AST
#: constructor's recursion depth in state the threads share, so ``check --jobs N`` parsing two notebooks
#: at once failed now and then with "SystemError: AST constructor recursion depth mismatch" (gh-106905).
_PARSING = threading.Lock()


@dataclass(frozen=True)
class Item:
    """One contract item: ``id`` as in CONTRACTS.md (``"1.6"``), its points and its judge.

    ``training``: it trains on Fashion-MNIST (longer limit, ``--quick`` subset); ``after``: the id of
    the item whose trained model it judges (not run again when that run timed out or crashed);
    ``uses``: the items whose code this one calls (``train`` calls ``_forward``), so that when both
    lose points the feedback says the mistake may be that item's.
    """

    id: str
    title: str
    points: float
    judge: Judge
    training: bool = False
    after: str = ""
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class FashionRun:
    """How an accuracy item trains on Fashion-MNIST, and the bound it holds the test accuracy to."""

    n_train: int
    n_val: int
    n_test: int
    epochs: int
    batch_size: int
    lr: float
    hidden: int
    bound: float
    seed: int = 0

    def inputs(self) -> dict[str, np.ndarray]:
        """What the child's training probe reads: hidden width, epochs, batch size, seed; lr."""
        return {"fm.run": np.array([self.hidden, self.epochs, self.batch_size, self.seed]),
                "fm.lr": np.array(self.lr)}

    def describe(self) -> str:
        return (f"{self.n_train:,} training and {self.n_val:,} validation images, {self.epochs} epochs, "
                f"batch {self.batch_size}, lr {self.lr}; {self.n_test:,} test images; bound {self.bound}")


@dataclass(frozen=True)
class ManualItem:
    """A written item a marker grades by hand (a derivation, an explanation): listed with the
    reference answers the marker needs (``reference()``), never scored by the checker.

    ``for_submission``: where the answers depend on the submission (JKU Task 2: the network the
    notebook states), (the submission's path, its cells when already read, else None) -> (the
    reference answers, notes for the marker); it reads the file as data and never runs it.
    """

    id: str
    title: str
    points: float
    reference: Callable[[], str]
    for_submission: Callable[[Path, list | None], tuple[str, list[str]]] | None = None

    def result(self, source: Path | None = None, cells: list | None = None) -> ManualResult:
        """The item with its reference answers, for ``source`` (its ``cells`` when already read) when
        they depend on it."""
        if self.for_submission is None or source is None:
            return ManualResult(self.id, self.title, self.points, self.reference())
        text, notes = self.for_submission(Path(source), cells)
        return ManualResult(self.id, self.title, self.points, text, notes)


@dataclass
class Context:
    """What a judge may use: the inputs the probes got, the run's settings, the test labels (and the
    validation labels the child trained with, for checking a model's recorded curves)."""

    assignment: Assignment
    quick: bool
    inputs: Mapping[str, np.ndarray]
    test_labels: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    data_error: str = ""
    cache: dict = field(default_factory=dict)

    @property
    def run(self) -> FashionRun:
        return self.assignment.quick_run if self.quick else self.assignment.full_run


@dataclass
class Assignment:
    """A course file the checker grades.

    Attributes
    ----------
    name, filename, module, cls : e.g. ``"purdue-numpy-ann"``, ``"numpy_ann.py"``, ``"numpy_ann"``,
        ``"NumpyANN"`` (``cls`` '' when no single class is required, as for a notebook)
    probes : the child-side probe file (runs in the student's process)
    items : the contract items, in order
    make_inputs : deterministic inputs for the probes (no expected values among them)
    fresh_inputs : (a generator, the inputs) -> inputs drawn anew for each submission, replacing those
        of ``make_inputs``: for the items whose whole expected value the feedback shows (a number), which
        a student could otherwise read off one run's feedback and hand back in the next
    full_run, quick_run : the Fashion-MNIST run of the accuracy items, and its ``--quick`` subset
    item_timeout, training_timeout, quick_training_timeout : wall-clock seconds per item
    memory_mb : the child's address-space limit unless :class:`Limits` sets one
    prepare : for a notebook, the submission -> (the module source the child imports, messages about
        the submission, its cells, passed on to the manual items so the notebook is read once)
        (:func:`backproplab.check.notebook.extract`)
    manual : the items marked by hand, listed with their reference answers
    alt_filenames : other names the file may have in a student's folder (a notebook's .py export); a
        notebook may have any name (:meth:`locate`), these are preferred when there are several
    """

    name: str
    filename: str
    module: str
    cls: str
    probes: Path
    items: tuple[Item, ...]
    make_inputs: Callable[[], dict[str, np.ndarray]]
    fresh_inputs: Callable[[np.random.Generator, dict], dict[str, np.ndarray]] | None = None
    full_run: FashionRun | None = None
    quick_run: FashionRun | None = None
    item_timeout: float = 60.0
    training_timeout: float = 1800.0
    quick_training_timeout: float = 180.0
    memory_mb: int = 4096
    prepare: Callable[[Path], tuple[str, list[str], list]] | None = None
    manual: tuple[ManualItem, ...] = ()
    alt_filenames: tuple[str, ...] = ()

    @property
    def is_notebook(self) -> bool:
        """A notebook (``.ipynb`` or its ``.py`` export) of any name, rather than a file of a fixed name."""
        return self.prepare is not None

    def locate(self, folder: Path, others: tuple[str, ...] = ()) -> Found:
        """The assignment's file in ``folder``: ``filename``, else one of ``alt_filenames``; for a
        notebook, else the one notebook there whatever its name, never one named ``others`` (another
        assignment's file names) (:mod:`backproplab.check.locate`)."""
        names = (self.filename, *self.alt_filenames)
        return find_notebook(folder, names, others, self.name) if self.is_notebook else find_fixed(folder, names)

    @property
    def points(self) -> float:
        return sum(i.points for i in self.items)

    @cached_property
    def inputs(self) -> dict[str, np.ndarray]:
        with _JUDGING:
            return self.make_inputs()

    def timeout(self, item: Item, quick: bool, override: float | None) -> float:
        if override is not None:
            return float(override)
        if item.training:
            return self.quick_training_timeout if quick else self.training_timeout
        return self.item_timeout


@lru_cache(maxsize=2)
def fashion_split(run: FashionRun) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The files the child gets for an accuracy item (uint8 pixels [N, 784], train/val labels) and,
    kept here, the test labels. Train: the first ``n_train`` training images; validation: the last
    ``n_val``; test: the first ``n_test`` of the test set (each submission gets them in an order of
    its own: :func:`shuffled_test`)."""
    from backproplab.data import load_fashion_mnist

    images, labels = load_fashion_mnist("train")
    timages, tlabels = load_fashion_mnist("test")
    flat = images.reshape(len(images), -1)
    files = {"fm_train_x": flat[:run.n_train], "fm_train_y": labels[:run.n_train].astype(np.int64),
             "fm_val_x": flat[len(flat) - run.n_val:], "fm_val_y": labels[len(flat) - run.n_val:].astype(np.int64),
             "fm_test_x": timages.reshape(len(timages), -1)[:run.n_test]}
    return files, tlabels[:run.n_test].astype(np.int64)


def shuffled_test(files: dict[str, np.ndarray], labels: np.ndarray,
                  seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The test images in an order drawn for this submission (``seed``: :func:`submission_seed`), and
    their labels in that order: in the test set's own order a string of its public labels, carried in
    the source, was a perfect ``predict`` (an accuracy is the same in any order)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    return dict(files, fm_test_x=files["fm_test_x"][order]), labels[order]


def private_places(others: Sequence[Path] = (), own: Path | None = None,
                   outputs: Sequence[Path] = ()) -> list[tuple[str, str]]:
    """What a submission may not read, with what it is: the places Fashion-MNIST is searched in (its
    test labels would answer the accuracy items), ``others``, the batch's other submissions (their
    code is the answers), and ``own``, the folder the submission came from (the child has its copy: a
    file beside it, uploaded with it, carried answers read off an earlier run's feedback while the graded
    file, and so its draws, stayed the same), and ``outputs``, the checker's own output folder and files (a
    submission read its expected values from the records of the run before) — never a folder that holds
    the Python the child runs on."""
    from backproplab.data.fashion_mnist import search_places

    runtime = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, np.__file__)]
    places = [(str(d), "the Fashion-MNIST files (their test labels would answer the accuracy items)")
              for d, _ in search_places() if d is not None]
    folders = [(other, "another submission of this batch") for other in others]
    if own is not None:
        folders.append((own, "the submission's own folder (the checker grades its copy of the file)"))
    folders += [(out, "the checker's results (earlier runs' records hold the expected values)") for out in outputs]
    for folder, what in folders:  # string tests: a batch of 1,000 asks 1,000 times for each submission
        full = os.path.realpath(folder)
        if not any(r == full or r.startswith(full.rstrip(os.sep) + os.sep) for r in runtime):
            places.append((full, what))
    return places


def _item_result(item: Item, ctx: Context, out: ProbeOutput, filename: str) -> ItemResult:
    res = ItemResult(item.id, item.title, item.points, seconds=round(out.seconds, 3), stdout=out.stdout,
                     cpu=round(out.cpu, 3))
    if out.failure:
        res.error = out.failure
    elif out.error:
        err = out.error
        where = f" at {err['where']}" if err.get("where") else ""
        res.error = f"raised {err['type']}: {err['message']}{where}"
        if err["type"] == "NotImplementedError":
            res.error = f"not implemented: it still raises NotImplementedError{where}"
    else:
        try:
            res.assertions = item.judge(ctx, out)
        except Bad as bad:
            res.assertions = [Assertion(item.title, False, str(bad))]
        except Exception as err:  # noqa: BLE001 - values the probe never returns (the child's code wrote them)
            res.assertions = [Assertion(item.title, False, f"the checker could not judge what came back for this "
                                        f"item ({type(err).__name__}: {err}); it is not what the checker's probe "
                                        "returns (did the submission write its result itself?)")]
    return res


def grade(assignment: Assignment, source: Path, *, quick: bool = False, timeout: float | None = None,
          limits: Limits | None = None, student: str = "", only: frozenset[str] | None = None,
          others: Sequence[Path] = (), outputs: Sequence[Path] = ()) -> SubmissionResult:
    """Grade one file: run every item's probe (or those in ``only``) in a child process, then judge
    each output here. ``others``: the batch's other submissions, ``outputs`` the checker's own output
    folder and files, which the child may not read."""
    start = time.perf_counter()
    seed = submission_seed(Path(source))
    ctx = Context(assignment, quick, _submission_inputs(assignment, seed))
    inputs = dict(ctx.inputs)
    files: dict[str, np.ndarray] = {}
    items = [i for i in assignment.items if only is None or i.id in only]
    if any(i.training for i in items):
        try:
            files, ctx.test_labels = shuffled_test(*fashion_split(ctx.run), seed)
            ctx.val_labels = files["fm_val_y"]
            inputs.update(ctx.run.inputs())
        except (OSError, ValueError) as err:
            ctx.data_error = f"the checker could not load Fashion-MNIST: {err}"
    planned = [(i.id, assignment.timeout(i, quick, timeout)) for i in items
               if not (i.training and ctx.data_error)]
    messages: list[str] = []
    with _prepared(assignment, Path(source), messages) as (module_file, filename, cells):
        outputs = run_items(module_file, filename, assignment.module, assignment.probes, planned, inputs, files,
                            required=(assignment.cls,) if assignment.cls else (), limits=limits or Limits(),
                            after={i.id: i.after for i in items if i.after}, memory_mb=assignment.memory_mb,
                            private=private_places(others, own=Path(source).parent, outputs=outputs))
    results = []
    with _JUDGING:  # the references seed global generators (np.random.seed, torch.manual_seed)
        for item in items:
            out = outputs.get(item.id) or ProbeOutput(failure=ctx.data_error or "not run")
            results.append(_item_result(item, ctx, out, assignment.filename))
    _note_used_items(items, results)
    if assignment.prepare is None and assignment.cls:
        _name_misordered(results, Path(source), assignment.cls)
    if quick and any(i.training for i in items):
        messages.append(f"quick run of {assignment.name}: {ctx.run.describe()}")
    return SubmissionResult(assignment.name, student or Path(source).parent.name, str(source), results,
                            quick=quick, seconds=time.perf_counter() - start, messages=messages,
                            manual=[m.result(Path(source), cells) for m in assignment.manual])


def submission_seed(source: Path) -> int:
    """The seed of a submission's own draws, from its file's bytes: a changed file gets new inputs (an
    answer read off one run's feedback does not answer the next), the same file the same grade every time.
    Only as many bytes as any submission may have are read (a larger file is refused when it is prepared)."""
    head = read_regular(source, max(MAX_SOURCE_BYTES, MAX_NOTEBOOK_BYTES))
    return int.from_bytes(hashlib.sha256(head).digest()[:8], "little")


def _submission_inputs(assignment: Assignment, seed: int) -> dict[str, np.ndarray]:
    """The assignment's inputs with its fresh ones drawn for this submission (``seed``)."""
    inputs = dict(assignment.inputs)
    if assignment.fresh_inputs is not None:
        with _JUDGING:  # the references seed the global generators
            inputs.update(assignment.fresh_inputs(np.random.default_rng(seed), inputs))
    return inputs


def _name_misordered(results: list[ItemResult], source: Path, cls: str) -> None:
    """Items that lost points and call a method whose parameters are the contract's in another order say
    so (:mod:`backproplab.check.signatures`; the file is parsed, not run)."""
    from backproplab.check.signatures import name_misordered

    try:
        text = read_regular(source, MAX_SOURCE_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return
    name_misordered(results, text, cls)


def _note_used_items(items: list[Item], results: list[ItemResult]) -> None:
    """On each item that lost points, a note naming the items it calls that lost points too."""
    by_id = {r.id: r for r in results}
    for item, res in zip(items, results, strict=True):
        failed = [u for u in item.uses if u in by_id and not by_id[u].passed]
        if failed and not res.passed:
            which = ", ".join(f"{u} ({by_id[u].title})" for u in failed)
            res.assertions.append(Assertion("uses an item that lost points", True, f"this item calls the code of "
                                            f"{which}, which lost points too: mend that first; this item's failure "
                                            "may be the same mistake", note=True))


@contextmanager
def _prepared(assignment: Assignment, source: Path, messages: list[str]) -> Iterator[tuple[Path, str, list | None]]:
    """The file the child imports, its name and (a notebook) its cells: the submission itself, or (a
    notebook) the module made of its definitions, written to a temporary folder; ``messages`` gets
    what preparing it found."""
    if assignment.prepare is None:
        yield source, assignment.filename, None
        return
    with _PARSING:
        text, found, cells = assignment.prepare(source)
    messages += found
    with tempfile.TemporaryDirectory(prefix="backproplab-notebook-") as tmp:
        module_file = Path(tmp) / f"{assignment.module}.py"
        module_file.write_text(text, encoding="utf-8")
        yield module_file, module_file.name, cells
