"""Text for a terminal: what a terminal would act on instead of showing, written out.

Light on purpose (only :mod:`re`): the CLI's door escapes every error line with it, whatever the command.
"""

from __future__ import annotations

import re

__all__ = ["terminal_text"]

#: Characters a terminal acts on instead of showing: C0 and C1 controls but newline and tab (ESC starts the
#: sequences that clear the screen, move the cursor, set the window title or the clipboard) and the
#: marks that reorder text (bidirectional overrides and isolates).
_NOT_SHOWN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: The same and the line breaks, for what must stay on one line (a student's name, a file name): newline,
#: tab and the Unicode line and paragraph separators (``str.splitlines`` breaks there, as some terminals do).
_NOT_ON_ONE_LINE = re.compile(f"{_NOT_SHOWN.pattern[:-1]}\n\t\u2028\u2029]")


def terminal_text(text: str, one_line: bool = False) -> str:
    """``text`` with every character a terminal would act on written out (``\\x1b``, ``\\u202e``): the
    student's output and messages reach the checker's terminal, where ``\\x1b[2J`` then a made-up
    table showed 18 / 18 for a submission that scored 0, and OSC 52 can set the clipboard. So are the
    halves of a character that a file name not in UTF-8 leaves (``caf\\udce9`` from a zip made on
    Windows): written as they are, they stopped the batch before its gradebook where the terminal's
    encoding is strict. ``one_line``: newlines and tabs too (a student folder named ``eve … 50 / 50``, a
    newline, then another name made a line of its own in the batch's summary)."""
    pattern = _NOT_ON_ONE_LINE if one_line else _NOT_SHOWN
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
