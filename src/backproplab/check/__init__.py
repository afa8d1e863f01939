"""``backproplab check``: grade a student's file against the course contract (CONTRACTS.md part A).

Each assignment (:mod:`~backproplab.check.numpy_ann`, :mod:`~backproplab.check.pytorch_ann`,
:mod:`~backproplab.check.pytorch_cnn`) lists its contract items with their points; each item runs
a probe on the student's code in a child process with limits (:mod:`~backproplab.check.runner`)
and compares what came back with the course's reference run here on the same inputs.

>>> from backproplab.check import check
>>> result = check("purdue-numpy-ann", "alice/numpy_ann.py")     # doctest: +SKIP
>>> print(result.score, "/", result.max_score)                    # doctest: +SKIP
"""

from backproplab.check.api import check, check_batch, describe, names, submissions
from backproplab.check.outputs import format_table, gradebook_csv, gradescope, write_batch
from backproplab.check.result import Assertion, ItemResult, ManualResult, SubmissionResult
from backproplab.check.runner import Limits

__all__ = ["check", "check_batch", "describe", "names", "submissions", "format_table", "gradebook_csv",
           "gradescope", "write_batch", "Assertion", "ItemResult", "ManualResult",
           "SubmissionResult", "Limits"]
