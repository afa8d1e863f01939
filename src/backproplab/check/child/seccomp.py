"""No new processes and no new programs for the child, no memory outside its address-space limit and
no sockets, enforced by the Linux kernel (a seccomp filter).

The audit hook in :mod:`main` refuses ``fork``, ``subprocess`` and ``exec``, but it is Python code in the
student's own process (clearing its table of refusals let a fork through), and ``RLIMIT_NPROC`` does
not bind root, as which autograders often run: one fork bomb would stop a whole batch. The filter
lets threads be made (``clone`` with ``CLONE_THREAD``) and refuses with ``EPERM`` every other
``clone``, ``fork``, ``vfork``, ``execve`` and ``execveat``; ``clone3`` answers ``ENOSYS``, as the
flags it gets sit behind a pointer the filter cannot read, and the C library then makes its threads
with ``clone``. System calls of another ABI (32-bit, x32) are refused. A filter cannot be removed,
and the processes and threads of the child inherit it.

It also refuses ``memfd_create``, ``memfd_secret`` and ``shmget``: memory that is not mapped does not
count in ``RLIMIT_AS``, so 100 memfds of 63 MiB each (``os.memfd_create``, then ``os.write``) held
6.3 GiB in a child limited to 4 GiB, and one per open file allowed (20,000 here) would fill any
machine; a SysV segment even outlives the process. And it refuses ``socket``: Landlock refuses TCP
only, so with the audit hook switched off a child sent data to a Unix socket at a path outside (a
service such as Docker's listens on one) and by UDP. Nor may it change its resource limits
(``setrlimit``, ``prlimit64`` with new limits; reading them stays allowed): as root, code past the
audit hook raised its address-space limit again. ``socketpair`` and io_uring (``io_uring_setup``, whose
ring makes sockets and connects them with no system call the filter sees) are refused too: past the
hook, a child sent a file's bytes to a Unix socket outside with a socketpair's ``sendto``, and opened
stream and UDP connections through io_uring. So are the calls that reach into another process or the
kernel and that no child needs: ``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``, ``bpf``,
``perf_event_open``, ``userfaultfd``, the key calls, ``unshare``, ``setns``, ``mount``, ``umount2``,
``pivot_root`` and ``chroot``. And ``fallocate``: it reserved 10 GB in 0.07 s, far past the folder's
1 GiB, between two of the checker's once-a-second counts. Nothing the probes, NumPy or torch run needs
these. :func:`drop_capabilities` empties the child's capabilities: as root, a child made its files
immutable (``FS_IOC_SETFLAGS``), and the checker could not remove them.

x86-64 and AArch64 only; elsewhere, or where seccomp is missing, :func:`forbid_processes` returns
False and the audit hook alone stands guard. Stdlib only, loaded by path like :mod:`main`; it uses
``ctypes``, so it runs before the audit hook (which refuses C calls through ``ctypes``).
"""

from __future__ import annotations

import ctypes
import errno
import platform

_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_CLONE_THREAD = 0x00010000
_X32_SYSCALL_BIT = 0x40000000

# (audit architecture, {name: number}); AArch64 has no fork or vfork system calls.
# The numbers both architectures share (io_uring and the pidfd calls came after their tables were unified).
_COMMON = {"clone3": 435, "memfd_secret": 447, "io_uring_setup": 425, "io_uring_enter": 426,
           "io_uring_register": 427, "pidfd_getfd": 438}
ARCHES = {
    "x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
                            "memfd_create": 319, "shmget": 29, "socket": 41, "socketpair": 53,
                            "setrlimit": 160, "prlimit64": 302, "ptrace": 101, "process_vm_readv": 310,
                            "process_vm_writev": 311, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
                            "keyctl": 250, "add_key": 248, "request_key": 249, "unshare": 272, "setns": 308,
                            "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "fallocate": 285,
                            **_COMMON}),
    "aarch64": (0xC00000B7, {"clone": 220, "execve": 221, "execveat": 281,
                             "memfd_create": 279, "shmget": 194, "socket": 198, "socketpair": 199,
                             "setrlimit": 164, "prlimit64": 261, "ptrace": 117, "process_vm_readv": 270,
                             "process_vm_writev": 271, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
                             "keyctl": 219, "add_key": 217, "request_key": 218, "unshare": 97, "setns": 268,
                             "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "fallocate": 47,
                             **_COMMON}),
}
_REFUSED = ("fork", "vfork", "execve", "execveat", "memfd_create", "memfd_secret", "shmget", "socket", "socketpair",
            "setrlimit", "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace", "process_vm_readv",
            "process_vm_writev", "pidfd_getfd", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
            "request_key", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "fallocate")

# classic BPF: opcodes and the offsets of struct seccomp_data's fields
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_NR, _ARCH, _ARG0_LOW = 0, 4, 16
_ARG2_LOW, _ARG2_HIGH = 32, 36  # little-endian, as both architectures are


class _Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Insn))]


def _program(arch: int, nr: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """The filter as ``(code, jt, jf, k)`` instructions; jumps count the instructions they skip."""
    deny, nosys = _RET_ERRNO | errno.EPERM, _RET_ERRNO | errno.ENOSYS
    refused = [nr[name] for name in _REFUSED if name in nr]
    prog = [(_LD_W_ABS, 0, 0, _ARCH), (_JEQ_K, 1, 0, arch), (_RET_K, 0, 0, deny),
            (_LD_W_ABS, 0, 0, _NR), (_JGE_K, 0, 1, _X32_SYSCALL_BIT), (_RET_K, 0, 0, deny),
            (_JEQ_K, 0, 1, nr["clone3"]), (_RET_K, 0, 0, nosys)]
    for number in refused:
        prog += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, deny)]
    prog += [(_JEQ_K, 0, 6, nr["prlimit64"]),  # prlimit64 only reads the limits when its new ones are NULL
             (_LD_W_ABS, 0, 0, _ARG2_LOW), (_JEQ_K, 0, 3, 0), (_LD_W_ABS, 0, 0, _ARG2_HIGH), (_JEQ_K, 0, 1, 0),
             (_RET_K, 0, 0, _RET_ALLOW), (_RET_K, 0, 0, deny)]
    prog += [(_JEQ_K, 0, 4, nr["clone"]),  # not clone: on to the last instruction
             (_LD_W_ABS, 0, 0, _ARG0_LOW), (_JSET_K, 0, 1, _CLONE_THREAD),  # its flags: a thread?
             (_RET_K, 0, 0, _RET_ALLOW), (_RET_K, 0, 0, deny),
             (_RET_K, 0, 0, _RET_ALLOW)]
    return prog


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> bool:
    """Empty this thread's effective, permitted and inheritable capabilities (root keeps its user id, which
    owns the child's folder, and loses what bypasses the kernel's checks); False when the call failed."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    return libc.capset(ctypes.byref(header), (_CapData * 2)()) == 0


def forbid_processes() -> bool:
    """Install the filter on this thread (and what it starts); False when it cannot be installed here."""
    found = ARCHES.get(platform.machine())
    if found is None:
        return False
    instructions = _program(*found)
    array = (_Insn * len(instructions))(*(_Insn(*i) for i in instructions))
    prog = _Prog(len(instructions), ctypes.cast(array, ctypes.POINTER(_Insn)))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
        return False
    return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
