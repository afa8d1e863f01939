"""Writes only under the child's working folder, enforced by the Linux kernel (Landlock, Linux 5.13+).

The audit hook in :mod:`main` refuses the same writes, but it is Python code in the student's own
process: code that reaches its closure (through a traceback's frames, say) or the standard-library
functions it calls can switch it off. A Landlock domain cannot be undone by the process that
entered it, nor by the processes it starts. Stdlib only, loaded by path like :mod:`main`; it uses
``ctypes``, so it runs before the audit hook (which refuses C calls through ``ctypes``).

Where the kernel lacks Landlock (or a container's seccomp profile refuses its system calls)
:func:`restrict_writes` returns 0 and the audit hook alone stands guard.
"""

from __future__ import annotations

import ctypes
import os

# System call numbers: the same on every architecture (they came after the tables were unified).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Access rights (include/uapi/linux/landlock.h): every right that changes the file system.
WRITE_FILE, REMOVE_DIR, REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (1 << k for k in range(6, 13))
REFER, TRUNCATE = 1 << 13, 1 << 14  # ABI 2 and 3
_FILE_RIGHTS = WRITE_FILE | TRUNCATE  # the rights a rule on a single file (not a folder) may grant


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


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


def restrict_writes(folder: str, files: tuple[str, ...] = (os.devnull,)) -> int:
    """From now on this thread, and every thread and process it starts, may change the file system only
    under ``folder`` (and write to ``files``). Returns the Landlock ABI version used, 0 when unavailable.

    Threads that already run keep their rights: call it before the student's code starts any.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    abi = abi_version(libc)
    if abi < 1:
        return 0
    rights = _write_rights(abi)
    attr = _RulesetAttr(rights)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        for path, allowed in [(folder, rights), *((f, rights & _FILE_RIGHTS) for f in files)]:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
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
