"""Exceptions a user can act on.

The CLI prints these as one line on stderr (exit status 2, or 1 for missing data) instead of a
traceback. Each subclasses the built-in a Python user would expect, so ``except ValueError`` works.
"""

from __future__ import annotations


class BackproplabError(Exception):
    """Base class of errors caused by the user's input or environment, not by a bug."""


class InputError(BackproplabError, ValueError):
    """An argument has the wrong type, shape, range or value; the message names it."""


class DataNotFoundError(BackproplabError, FileNotFoundError):
    """A dataset is not on this machine and could not be downloaded."""


class ChecksumError(BackproplabError, ValueError):
    """A file's content does not match its expected SHA-256 or header."""


class CheckpointError(BackproplabError, ValueError):
    """A checkpoint is missing, truncated, foreign, or does not fit the model."""


class NonFiniteError(BackproplabError, FloatingPointError):
    """Training produced NaN or inf; the message names epoch, batch and layer."""
