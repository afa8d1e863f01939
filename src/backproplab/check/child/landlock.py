"""The child's limits, enforced by the Linux kernel (Landlock, Linux 5.13+): it writes only under its
working folder, and reads anything but the places that would answer an item (the lab's package, the
Fashion-MNIST files, the checker's other working folders, a batch's other submissions); where the
kernel can (Linux 6.7 and 6.12), it opens no TCP connection and signals no process outside.

The audit hook in :mod:`main` refuses the same, but it is Python code in the student's own process:
code that reaches its closure (through a refusal's traceback, say) or replaces the standard-library
functions it calls switches it off. A Landlock domain cannot be undone by the process that entered
it, nor by the processes it starts, and it keeps the process from reading another's memory. Landlock
only grants, so "all but these" is built by walking down the folders that hold a hidden place and
granting their other entries whole (:func:`_rules`); such a folder may still be listed. Stdlib only,
loaded by path like :mod:`main`; it uses ``ctypes``, so it runs before the audit hook (which refuses C
calls through ``ctypes``).

Where the kernel lacks Landlock (or a container's seccomp profile refuses its system calls)
:func:`restrict` returns 0 and the audit hook alone stands guard.
"""

from __future__ import annotations

import ctypes
import os

# System call numbers: the same on every architecture (they came after the tables were unified).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Access rights (include/uapi/linux/landlock.h): reading, and every right that changes the file system.
WRITE_FILE, READ_FILE, READ_DIR, REMOVE_DIR, REMOVE_FILE = 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (1 << k for k in range(6, 13))
REFER, TRUNCATE = 1 << 13, 1 << 14  # ABI 2 and 3
_FILE_RIGHTS = WRITE_FILE | TRUNCATE  # the write rights a rule on a single file (not a folder) may grant


# ABI 4: TCP (bind, connect), handled and never granted; ABI 6: no signal or abstract Unix socket reaches
# a process outside the domain (the checker, its fork server, other students' children).
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version(libc: ctypes.CDLL | None = None) -> int:
    """The kernel's Landlock ABI version; 0 when there is none (or it may not be used here)."""
    libc = libc or ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _write_rights(abi: int) -> int:
    rights = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO \
        | MAKE_BLOCK | MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


class _Places:
    """Paths or name prefixes (``/tmp/backproplab-``; a trailing separator stands for the folder and
    everything in it), indexed so that each test costs a few set lookups, not one string test per place:
    a batch hides each of its other submissions, and :func:`_rules` tests every entry of their folder."""

    def __init__(self, places: tuple[str, ...]) -> None:
        self.exact = {p.rstrip(os.sep) for p in places}
        self.starts, self.lengths = set(places), sorted({len(p) for p in places})
        self.folders_above = {p[:i + 1] for p in places for i, c in enumerate(p) if c == os.sep}

    def hold(self, full: str) -> bool:
        """Whether the real path ``full`` is one of the places (equal to one, or starting with one)."""
        return full in self.exact or any(full[:n] in self.starts for n in self.lengths if n <= len(full))

    def below(self, full: str) -> bool:
        """Whether one of the places (or a name that starts with one) lies below the folder ``full``."""
        return full.rstrip(os.sep) + os.sep in self.folders_above


def _rules(folder: str, hidden: tuple[str, ...], keep: tuple[str, ...]) -> list[tuple[str, int]]:
    """``(path, rights)``: everything readable but ``hidden`` (``keep`` excepted), by walking down only the
    folders that hold something hidden; those may be listed, their other entries read whole."""
    read = READ_FILE | READ_DIR
    rules: list[tuple[str, int]] = []
    hidden_places, kept = _Places(hidden), _Places(keep)

    def walk(parent: str) -> None:
        rules.append((parent, READ_DIR))  # names only: listing it shows a hidden entry's name, not its data
        try:
            names = sorted(os.listdir(parent))
        except OSError:
            return
        for name in names:
            entry = os.path.join(parent, name)
            full = os.path.realpath(entry)
            if full in keep:
                rules.append((entry, read))
            elif kept.below(full) or (hidden_places.below(full) and not hidden_places.hold(full)):
                if os.path.isdir(full) and not os.path.islink(entry):
                    walk(full)
            elif not hidden_places.hold(full):
                rules.append((entry, read if os.path.isdir(full) else READ_FILE))

    walk(os.sep)
    return rules


def restrict(folder: str, hidden: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> int:
    """From now on this thread, and every thread and process it starts, may change the file system only
    under ``folder`` (and write to ``/dev/null``), and read anything but ``hidden`` (real paths or name
    prefixes, see :func:`_hidden`) apart from ``keep`` (real paths inside them that stay readable).
    Returns the Landlock ABI version used, 0 when unavailable (nothing is then restricted).

    Threads that already run keep their rights: call it before the student's code starts any.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    abi = abi_version(libc)
    if abi < 1:
        return 0
    folder = os.path.realpath(folder)
    writes = _write_rights(abi)
    rules = [*_rules(folder, tuple(hidden), (folder, *(os.path.realpath(k) for k in keep))),
             (folder, writes | READ_FILE | READ_DIR), (os.devnull, READ_FILE | (writes & _FILE_RIGHTS))]
    attr = _RulesetAttr(writes | READ_FILE | READ_DIR, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                        (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8  # an older kernel refuses fields it does not know
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        for path, allowed in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # gone since it was listed, or a dangling link: nothing to read there
            try:
                rule = _PathBeneathAttr(allowed, fd)
                if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                                ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                    return 0
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
            return 0
        if libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            return 0
        return abi
    finally:
        os.close(ruleset)
