"""What the kernel side records: one eBPF tracepoint program per probe, one record layout.

Every program writes one record into a shared BPF ring buffer. The ring buffer is a single
multi-producer queue across CPUs, so records come out in (near) time order and user space needs
no per-CPU merge. Record layout (little endian, 8-byte aligned):

====== ============================================================
offset  field
====== ============================================================
0       u32 kind (which probe, `Probe.kind`)
4       u32 cpu
8       u64 pid_tgid (thread id in the low half, process id in the high half)
16      u64 monotonic timestamp (ns, ``bpf_ktime_get_ns``)
24      nwords x u64 copied from the tracepoint context at ``ctx_off`` (a short ``tail``
        field in one more word; then the words the entry remembered, see `Probe.save_words`)
…       nslots x i32 read results (bytes read, or a negative errno), padded to 8
…       the slots: user strings (`STR_SLOT` bytes), a string read from the remembered
        pointer, kernel strings of the tracepoint record (`STR_SLOT`), one user blob
        (`BLOB_SLOT`), argv strings
====== ============================================================

Programs drop events of the capturing process itself (its pid is baked in as a constant) and
count ring-buffer reservation failures per record kind in an array map (`LOST_SLOTS` entries,
indexed by kind, mapped into user space): that is the kernel-side loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from kcap.sources.linux import bpf_asm as A

STR_SLOT = 256
BLOB_SLOT = 128
ARG_SLOT = 128
ARGV_MAX = 16
HEADER_SIZE = 24
RB_NO_WAKEUP = 1
#: entries of the loss counter map: one per record kind (every kind is below this)
LOST_SLOTS = 64


def _align8(n: int) -> int:
    return (n + 7) & ~7


@dataclass(frozen=True)
class Probe:
    """One tracepoint program and the layout of the records it writes."""

    kind: int
    group: str  # event kind selectable on the command line: process, thread, file, net, ...
    tracepoint: str  # "syscalls/sys_enter_openat"
    nwords: int  # u64 words copied from the context
    ctx_off: int = 16  # syscall arguments (and exit ``ret``) start at 16, other tracepoints at 8
    tail: int = 0  # 1, 2 or 4: one more word holding a field this short at the end of the context
    strings: tuple[int, ...] = ()  # word indexes of user string pointers
    kstrings: tuple[int, ...] = ()  # context offsets of ``__data_loc`` strings (kernel memory)
    blob: tuple[int, int | None] | None = None  # (pointer word, length word or None: fixed)
    argv: int | None = None  # word index of an argv array
    exit_argv: bool = False  # exec exit side: the new argv, from the new user stack (on success)
    # An entry whose record only carries numbers and a pointer need not write one: its program
    # remembers them per thread (the saved map holds {pointer, first word + 1, second word};
    # 0 in the second field: nothing remembered) and the exit program writes them with the
    # result. One record per system call instead of two for the frequent calls.
    save_ptr: int | None = None  # enter side: remember this word (a user pointer)
    save_words: tuple[int, ...] = ()  # enter side: remember these words (at most 2), no record
    read_saved: bool = False  # exit side: read a blob from the remembered pointer
    read_saved_str: bool = False  # exit side: read a string from the remembered pointer
    saved_words: int = 0  # exit side: the remembered words, after the syscall's
    any_pid: bool = False  # keep records of the capturing process (softirq context borrows it)

    # layout ---------------------------------------------------------------
    @cached_property
    def nslots(self) -> int:
        return (
            len(self.strings)
            + (1 if self.read_saved_str else 0)
            + len(self.kstrings)
            + (1 if self.blob is not None or self.read_saved else 0)
            + (ARGV_MAX if self.has_argv else 0)
        )

    @cached_property
    def has_argv(self) -> bool:
        return self.argv is not None or self.exit_argv

    @cached_property
    def words(self) -> int:
        """u64 words in the record (a short ``tail`` field takes a whole word, then the saved
        word if any)."""
        return self.nwords + (1 if self.tail else 0) + self.saved_words

    @property
    def emits(self) -> bool:
        """Whether the program writes a record (entries that only remember a word do not)."""
        return not self.save_words

    @cached_property
    def lens_off(self) -> int:
        return HEADER_SIZE + 8 * self.words

    @cached_property
    def slots_off(self) -> int:
        return self.lens_off + _align8(4 * self.nslots)

    def slot_offsets(self) -> tuple[tuple[int, int], ...]:
        """(offset, size) of each slot in record order: strings, kernel strings, blob, argv
        entries."""
        return self._slot_offsets

    @cached_property
    def _slot_offsets(self) -> tuple[tuple[int, int], ...]:
        out = []
        off = self.slots_off
        for _ in range(len(self.strings) + self.read_saved_str + len(self.kstrings)):
            out.append((off, STR_SLOT))
            off += STR_SLOT
        if self.blob is not None or self.read_saved:
            out.append((off, BLOB_SLOT))
            off += BLOB_SLOT
        if self.has_argv:
            for _ in range(ARGV_MAX):
                out.append((off, ARG_SLOT))
                off += ARG_SLOT
        return tuple(out)

    @cached_property
    def size(self) -> int:
        return self.slots_off + sum(size for _, size in self.slot_offsets())

    @property
    def syscall(self) -> str | None:
        """The syscall name of a ``syscalls/sys_enter_X`` / ``sys_exit_X`` probe, else None."""
        cat, _, ev = self.tracepoint.partition("/")
        if cat != "syscalls":
            return None
        return ev.removeprefix("sys_enter_").removeprefix("sys_exit_")

    @property
    def is_exit(self) -> bool:
        return self.tracepoint.startswith("syscalls/sys_exit_")

    @property
    def category(self) -> str:
        return self.tracepoint.split("/", 1)[0]

    @property
    def event(self) -> str:
        return self.tracepoint.split("/", 1)[1]


@dataclass
class Maps:
    """File descriptors of the maps every program refers to."""

    ringbuf: int
    lost: int
    saved: int


#: x86_64 syscall numbers of the syscalls the probes follow.
SYSCALL_NR = {
    "read": 0,
    "write": 1,
    "open": 2,
    "close": 3,
    "mmap": 9,
    "pread64": 17,
    "pwrite64": 18,
    "readv": 19,
    "writev": 20,
    "dup": 32,
    "dup2": 33,
    "socket": 41,
    "connect": 42,
    "accept": 43,
    "sendto": 44,
    "recvfrom": 45,
    "sendmsg": 46,
    "recvmsg": 47,
    "bind": 49,
    "execve": 59,
    "fcntl": 72,
    "chdir": 80,
    "fchdir": 81,
    "rename": 82,
    "rmdir": 84,
    "creat": 85,
    "unlink": 87,
    "exit_group": 231,
    "openat": 257,
    "unlinkat": 263,
    "renameat": 264,
    "accept4": 288,
    "dup3": 292,
    "renameat2": 316,
    "memfd_create": 319,
    "execveat": 322,
    "openat2": 437,
}
#: Offsets in x86_64 ``struct pt_regs`` of the six syscall arguments and of ``orig_ax``.
_ARG_REGS = (112, 104, 96, 56, 72, 64)  # di, si, dx, r10, r8, r9
_ORIG_AX = 120
_SP = 152
_PT_REGS_SIZE = 168
_REGS_AT = -8 - 24 - _PT_REGS_SIZE  # stack slot of the copied registers (below 3 scratch u64s)
MAX_SYSCALL_NR = 512


def build_dispatcher(exit_side: bool, prog_array: int) -> bytes:
    """The raw ``sys_enter`` / ``sys_exit`` program: tail-call the program of this syscall.

    Syscall tracepoints of the perf interface cost one tracepoint registration each, and
    releasing each waits for an RCU grace period (~40-80 ms here): with ~70 of them stopping a
    capture took seconds. Two raw tracepoints and a program array keep that to two.
    """
    p = A.Program()
    if exit_side:
        # sys_exit(regs, ret): the syscall number is regs->orig_ax
        p.mov_reg(6, 1)
        p.ldx(A.DW, 3, 1, 0)
        p.add_imm(3, _ORIG_AX)
        p.mov_reg(1, 10)
        p.add_imm(1, -8)
        p.mov_imm(2, 8)
        p.call(A.PROBE_READ_KERNEL)
        p.jne_imm(0, 0, "out")
        p.ldx(A.DW, 3, 10, -8)
        p.mov_reg(1, 6)
    else:
        # sys_enter(regs, id)
        p.ldx(A.DW, 3, 1, 8)
    p.jgt_imm(3, MAX_SYSCALL_NR - 1, "out")
    p.ld_map_fd(2, prog_array)
    p.call(A.TAIL_CALL)
    p.label("out")
    p.mov_imm(0, 0)
    p.exit()
    return p.assemble()


def build_program(probe: Probe, maps: Maps, self_pid: int) -> bytes:
    """Assemble the tracepoint program for ``probe``."""
    p = A.Program()
    r0, r1, r2, r3, r4, r6, r7, r8, r9, r10 = 0, 1, 2, 3, 4, 6, 7, 8, 9, 10
    p.mov_reg(r6, r1)  # r6 = tracepoint context
    raw = probe.syscall is not None
    if raw and not probe.is_exit:
        # A raw sys_enter program sees (regs, id): copy the registers to the stack once.
        p.ldx(A.DW, r3, r6, 0)
        p.mov_reg(r1, r10)
        p.add_imm(r1, _REGS_AT)
        p.mov_imm(r2, _PT_REGS_SIZE)
        p.call(A.PROBE_READ_KERNEL)
        p.jne_imm(r0, 0, "out")

    def load_word(dst: int, i: int) -> None:
        """Word ``i`` of the record: syscall argument i, the exit's ``ret``, or context word."""
        if not raw:
            p.ldx(A.DW, dst, r6, probe.ctx_off + 8 * i)
        elif probe.is_exit:
            assert i == 0, "a syscall exit has only its return value"
            p.ldx(A.DW, dst, r6, 8)
        else:
            p.ldx(A.DW, dst, r10, _REGS_AT + _ARG_REGS[i])

    p.call(A.GET_CURRENT_PID_TGID)
    p.mov_reg(r7, r0)  # r7 = pid_tgid
    p.mov_reg(r1, r0)
    p.rsh_imm(r1, 32)
    if not probe.any_pid:
        p.jeq_imm(r1, self_pid, "out")

    # The saved map holds per thread {u64 pointer, u64 first word + 1, u64 second word}.
    if probe.save_ptr is not None or probe.save_words:
        assert len(probe.save_words) <= 2
        p.stx(A.W, r10, -8, r7)  # key: thread id
        if probe.save_ptr is not None:
            load_word(r1, probe.save_ptr)
        else:
            p.mov_imm(r1, 0)
        p.stx(A.DW, r10, -32, r1)
        for k in range(2):
            if k < len(probe.save_words):
                load_word(r1, probe.save_words[k])
                if k == 0:
                    # an int (a descriptor): its 32 bits, plus one, so 0 stays "nothing"
                    p.mov32_reg(r1, r1)
                    p.add_imm(r1, 1)
            else:
                p.mov_imm(r1, 0)
            p.stx(A.DW, r10, -24 + 8 * k, r1)
        p.ld_map_fd(r1, maps.saved)
        p.mov_reg(r2, r10)
        p.add_imm(r2, -8)
        p.mov_reg(r3, r10)
        p.add_imm(r3, -32)
        p.mov_imm(r4, 0)
        p.call(A.MAP_UPDATE_ELEM)
    if not probe.emits:
        p.label("out")
        p.mov_imm(r0, 0)
        p.exit()
        return p.assemble()

    if probe.read_saved or probe.read_saved_str or probe.saved_words:
        # r9 = the remembered pointer; the stack at -32 and -40 = the remembered words
        p.mov_imm(r9, 0)
        p.st_imm(A.DW, r10, -32, 0)
        p.st_imm(A.DW, r10, -40, 0)
        p.stx(A.W, r10, -8, r7)
        p.ld_map_fd(r1, maps.saved)
        p.mov_reg(r2, r10)
        p.add_imm(r2, -8)
        p.call(A.MAP_LOOKUP_ELEM)
        p.jeq_imm(r0, 0, "no_saved")
        p.ldx(A.DW, r9, r0, 0)
        p.ldx(A.DW, r1, r0, 8)
        p.stx(A.DW, r10, -32, r1)
        p.ldx(A.DW, r1, r0, 16)
        p.stx(A.DW, r10, -40, r1)
        p.ld_map_fd(r1, maps.saved)
        p.mov_reg(r2, r10)
        p.add_imm(r2, -8)
        p.call(A.MAP_DELETE_ELEM)
        p.label("no_saved")

    p.ld_map_fd(r1, maps.ringbuf)
    p.mov_imm(r2, probe.size)
    p.mov_imm(r3, 0)
    p.call(A.RINGBUF_RESERVE)
    p.jeq_imm(r0, 0, "lost")
    p.mov_reg(r8, r0)  # r8 = record
    p.st_imm(A.W, r8, 0, probe.kind)
    p.stx(A.DW, r8, 8, r7)
    p.call(A.KTIME_GET_NS)
    p.stx(A.DW, r8, 16, r0)
    p.call(A.GET_SMP_PROCESSOR_ID)
    p.stx(A.W, r8, 4, r0)
    for i in range(probe.nwords):
        load_word(r1, i)
        p.stx(A.DW, r8, HEADER_SIZE + 8 * i, r1)
    if probe.tail:
        # The kernel refuses a program that reads past the end of the tracepoint's record.
        size = {1: A.B, 2: A.H, 4: A.W}[probe.tail]
        p.st_imm(A.DW, r8, HEADER_SIZE + 8 * probe.nwords, 0)
        p.ldx(size, r1, r6, probe.ctx_off + 8 * probe.nwords)
        p.stx(size, r8, HEADER_SIZE + 8 * probe.nwords, r1)
    for k in range(probe.saved_words):
        p.ldx(A.DW, r1, r10, -32 - 8 * k)
        p.stx(A.DW, r8, HEADER_SIZE + 8 * (probe.words - probe.saved_words + k), r1)
    # Ring-buffer memory is not zeroed: clear the read results so unused slots read as 0.
    for off in range(probe.lens_off, probe.slots_off, 8):
        p.st_imm(A.DW, r8, off, 0)

    slots = probe.slot_offsets()
    slot_i = 0
    for word in probe.strings:
        off, size = slots[slot_i]
        p.mov_reg(r1, r8)
        p.add_imm(r1, off)
        p.mov_imm(r2, size)
        load_word(r3, word)
        p.call(A.PROBE_READ_USER_STR)
        p.stx(A.W, r8, probe.lens_off + 4 * slot_i, r0)
        slot_i += 1

    if probe.read_saved_str:
        off, size = slots[slot_i]
        p.jeq_imm(r9, 0, "saved_str_done")
        p.mov_reg(r1, r8)
        p.add_imm(r1, off)
        p.mov_imm(r2, size)
        p.mov_reg(r3, r9)
        p.call(A.PROBE_READ_USER_STR)
        p.stx(A.W, r8, probe.lens_off + 4 * slot_i, r0)
        p.label("saved_str_done")
        slot_i += 1

    for loc in probe.kstrings:
        # A __data_loc field: u32 with the string's offset in the record (low 16 bits). The
        # verifier forbids arithmetic on the context pointer, so it goes through the stack as
        # a plain number first (copied by a helper, which leaves the slot untyped).
        off, size = slots[slot_i]
        p.stx(A.DW, r10, -8, r6)
        p.mov_reg(r1, r10)
        p.add_imm(r1, -16)
        p.mov_imm(r2, 8)
        p.mov_reg(r3, r10)
        p.add_imm(r3, -8)
        p.call(A.PROBE_READ_KERNEL)
        p.ldx(A.W, r3, r6, loc)
        p.and_imm(r3, 0xFFFF)
        p.ldx(A.DW, r1, r10, -16)
        p.add_reg(r3, r1)
        p.mov_reg(r1, r8)
        p.add_imm(r1, off)
        p.mov_imm(r2, size)
        p.call(A.PROBE_READ_KERNEL_STR)
        p.stx(A.W, r8, probe.lens_off + 4 * slot_i, r0)
        slot_i += 1

    if probe.blob is not None or probe.read_saved:
        off, size = slots[slot_i]
        lens = probe.lens_off + 4 * slot_i
        if probe.read_saved:
            p.jeq_imm(r9, 0, "blob_done")
            p.mov_reg(r3, r9)
            p.mov_imm(r2, size)
        else:
            assert probe.blob is not None
            ptr_word, len_word = probe.blob
            if len_word is None:
                p.mov_imm(r2, size)
            else:
                load_word(r2, len_word)
                p.jgt_imm(r2, size, "blob_clamp")
                p.ja("blob_go")
                p.label("blob_clamp")
                p.mov_imm(r2, size)
                p.label("blob_go")
            load_word(r3, ptr_word)
        p.stx(A.W, r8, lens, r2)
        p.mov_reg(r1, r8)
        p.add_imm(r1, off)
        p.call(A.PROBE_READ_USER)
        p.jeq_imm(r0, 0, "blob_done")
        p.stx(A.W, r8, lens, r0)
        p.label("blob_done")
        slot_i += 1

    if probe.exit_argv:
        # After a successful exec the new user stack pointer points at argc, followed by the
        # argv pointers, in pages the kernel has just written (so they can be read, unlike
        # strings at entry, which may not be paged in). Read at exit, this is the argv the
        # program got: a #! script's has the interpreter in front.
        p.ldx(A.DW, r1, r6, 8)
        p.jne_imm(r1, 0, "argv_done")
        p.ldx(A.DW, r3, r6, 0)
        p.add_imm(r3, _SP)
        p.mov_reg(r1, r10)
        p.add_imm(r1, -16)
        p.mov_imm(r2, 8)
        p.call(A.PROBE_READ_KERNEL)
        p.jne_imm(r0, 0, "argv_done")
        p.ldx(A.DW, r9, r10, -16)
        p.add_imm(r9, 8)
    elif probe.argv is not None:
        load_word(r9, probe.argv)
    if probe.has_argv:
        for j in range(ARGV_MAX):
            off, size = slots[slot_i + j]
            p.mov_reg(r1, r10)
            p.add_imm(r1, -16)
            p.mov_imm(r2, 8)
            p.mov_reg(r3, r9)
            p.add_imm(r3, 8 * j)
            p.call(A.PROBE_READ_USER)
            p.jne_imm(r0, 0, "argv_done")
            p.ldx(A.DW, r3, r10, -16)
            p.jeq_imm(r3, 0, "argv_done")
            p.mov_reg(r1, r8)
            p.add_imm(r1, off)
            p.mov_imm(r2, size)
            p.call(A.PROBE_READ_USER_STR)
            p.stx(A.W, r8, probe.lens_off + 4 * (slot_i + j), r0)
        p.label("argv_done")

    p.mov_reg(r1, r8)
    p.mov_imm(r2, RB_NO_WAKEUP)
    p.call(A.RINGBUF_SUBMIT)
    p.label("out")
    p.mov_imm(r0, 0)
    p.exit()

    p.label("lost")
    p.st_imm(A.W, r10, -4, probe.kind)  # one counter per record kind
    p.ld_map_fd(r1, maps.lost)
    p.mov_reg(r2, r10)
    p.add_imm(r2, -4)
    p.call(A.MAP_LOOKUP_ELEM)
    p.jeq_imm(r0, 0, "out")
    p.mov_imm(r1, 1)
    p.atomic_add64(r0, 0, r1)
    p.ja("out")
    return p.assemble()


# --------------------------------------------------------------------------- the probe table

# Kinds are stable small integers; the mapping layer dispatches on them.
K_NEWTASK = 1
K_EXIT = 2
K_EXECVE = 3
K_EXECVE_RET = 4
K_EXIT_GROUP = 5
K_EXECVEAT = 6
K_CREAT = 7
K_EXEC_SEEN = 8
K_OPENAT = 10
K_OPEN = 11
K_OPEN_RET = 12
K_CLOSE = 13
K_READ = 14
K_READ_RET = 15
K_WRITE = 16
K_WRITE_RET = 17
K_UNLINK = 18
K_UNLINKAT = 19
K_RMDIR = 20
K_RENAME = 21
K_RENAMEAT = 22
K_RENAME_RET = 23
K_UNLINK_RET = 24
K_CHDIR = 25
K_CHDIR_RET = 26
K_FCHDIR = 27
K_MMAP = 28
K_MMAP_RET = 29
K_SOCKET = 40
K_SOCKET_RET = 41
K_CONNECT = 42
K_CONNECT_RET = 43
K_ACCEPT = 44
K_ACCEPT_RET = 45
K_BIND = 46
K_SENDTO = 47
K_SEND_RET = 48
K_RECVFROM = 49
K_RECV_RET = 50
K_SENDMSG = 51
K_RECVMSG = 52
K_TCP_STATE = 53
K_DUP = 54
K_DUP_RET = 55
K_DUP1 = 56
K_FCNTL = 57
K_RECVMSG_RET = 58
K_MEMFD = 59
K_MEMFD_RET = 60
K_OPENAT_RET = 61
K_OPENAT_SAVE = 62


def _sc(name: str) -> str:
    return f"syscalls/{name}"


def probe_table() -> list[Probe]:
    """Every probe the capture can load, each tagged with the event kind that needs it."""
    P = Probe
    return [
        # process and thread life cycle (always loaded: replay needs them for process state)
        P(K_NEWTASK, "process", "task/task_newtask", 4, ctx_off=8),
        P(K_EXIT, "process", "sched/sched_process_exit", 3, ctx_off=8, tail=1),
        P(K_EXECVE, "process", _sc("sys_enter_execve"), 2, strings=(0,), argv=1),
        # execveat(dfd, path, argv, envp, flags): the flags tell AT_EMPTY_PATH (fexecve)
        P(K_EXECVEAT, "process", _sc("sys_enter_execveat"), 5, strings=(1,), argv=2),
        # the file name as the kernel keeps it (readable even when the user's copy is not)
        P(K_EXEC_SEEN, "process", "sched/sched_process_exec", 1, ctx_off=8, tail=4, kstrings=(8,)),
        P(K_EXECVE_RET, "process", _sc("sys_exit_execve"), 1, exit_argv=True),
        P(K_EXECVE_RET, "process", _sc("sys_exit_execveat"), 1, exit_argv=True),
        P(K_EXIT_GROUP, "process", _sc("sys_enter_exit_group"), 1),
        P(K_CHDIR, "process", _sc("sys_enter_chdir"), 1, strings=(0,)),
        P(K_FCHDIR, "process", _sc("sys_enter_fchdir"), 1),
        P(K_CHDIR_RET, "process", _sc("sys_exit_chdir"), 1),
        P(K_CHDIR_RET, "process", _sc("sys_exit_fchdir"), 1),
        # descriptors: every kind that names fds needs opens, closes and dups
        # openat (what open() calls): one record, the path read at the exit (by then the
        # kernel has read it, so its page is in memory even if it was not at the entry)
        P(K_OPENAT_SAVE, "fd", _sc("sys_enter_openat"), 4, save_ptr=1, save_words=(0, 2)),
        # openat2(dfd, path, how, size): the flags are the first field of *how
        P(K_OPENAT, "fd", _sc("sys_enter_openat2"), 4, strings=(1,), blob=(2, 3)),
        P(K_OPEN, "fd", _sc("sys_enter_open"), 3, strings=(0,)),
        P(K_CREAT, "fd", _sc("sys_enter_creat"), 2, strings=(0,)),
        P(K_OPENAT_RET, "fd", _sc("sys_exit_openat"), 1, read_saved_str=True, saved_words=2),
        P(K_OPEN_RET, "fd", _sc("sys_exit_openat2"), 1),
        P(K_OPEN_RET, "fd", _sc("sys_exit_open"), 1),
        P(K_OPEN_RET, "fd", _sc("sys_exit_creat"), 1),
        P(K_CLOSE, "fd", _sc("sys_enter_close"), 1),
        P(K_DUP1, "fd", _sc("sys_enter_dup"), 1),
        P(K_DUP, "fd", _sc("sys_enter_dup2"), 2),
        P(K_DUP, "fd", _sc("sys_enter_dup3"), 2),
        P(K_DUP_RET, "fd", _sc("sys_exit_dup"), 1),
        P(K_DUP_RET, "fd", _sc("sys_exit_dup2"), 1),
        P(K_DUP_RET, "fd", _sc("sys_exit_dup3"), 1),
        P(K_FCNTL, "fd", _sc("sys_enter_fcntl"), 2),
        P(K_DUP_RET, "fd", _sc("sys_exit_fcntl"), 1),
        P(K_MEMFD, "fd", _sc("sys_enter_memfd_create"), 2, strings=(0,)),
        P(K_MEMFD_RET, "fd", _sc("sys_exit_memfd_create"), 1),
        P(K_SOCKET, "fd", _sc("sys_enter_socket"), 3),
        P(K_SOCKET_RET, "fd", _sc("sys_exit_socket"), 1),
        # images: executable file mappings
        P(K_MMAP, "image", _sc("sys_enter_mmap"), 6),
        P(K_MMAP_RET, "image", _sc("sys_exit_mmap"), 1),
        # file I/O and namespace operations
        P(K_READ, "file", _sc("sys_enter_read"), 3, save_words=(0,)),
        P(K_READ, "file", _sc("sys_enter_pread64"), 3, save_words=(0,)),
        P(K_READ, "file", _sc("sys_enter_readv"), 3, save_words=(0,)),
        P(K_READ_RET, "file", _sc("sys_exit_read"), 1, saved_words=1),
        P(K_READ_RET, "file", _sc("sys_exit_pread64"), 1, saved_words=1),
        P(K_READ_RET, "file", _sc("sys_exit_readv"), 1, saved_words=1),
        P(K_WRITE, "file", _sc("sys_enter_write"), 3, save_words=(0,)),
        P(K_WRITE, "file", _sc("sys_enter_pwrite64"), 3, save_words=(0,)),
        P(K_WRITE, "file", _sc("sys_enter_writev"), 3, save_words=(0,)),
        P(K_WRITE_RET, "file", _sc("sys_exit_write"), 1, saved_words=1),
        P(K_WRITE_RET, "file", _sc("sys_exit_pwrite64"), 1, saved_words=1),
        P(K_WRITE_RET, "file", _sc("sys_exit_writev"), 1, saved_words=1),
        P(K_UNLINK, "file", _sc("sys_enter_unlink"), 1, strings=(0,)),
        P(K_UNLINKAT, "file", _sc("sys_enter_unlinkat"), 3, strings=(1,)),
        P(K_RMDIR, "file", _sc("sys_enter_rmdir"), 1, strings=(0,)),
        P(K_UNLINK_RET, "file", _sc("sys_exit_unlink"), 1),
        P(K_UNLINK_RET, "file", _sc("sys_exit_unlinkat"), 1),
        P(K_UNLINK_RET, "file", _sc("sys_exit_rmdir"), 1),
        P(K_RENAME, "file", _sc("sys_enter_rename"), 2, strings=(0, 1)),
        P(K_RENAMEAT, "file", _sc("sys_enter_renameat"), 4, strings=(1, 3)),
        P(K_RENAMEAT, "file", _sc("sys_enter_renameat2"), 4, strings=(1, 3)),
        P(K_RENAME_RET, "file", _sc("sys_exit_rename"), 1),
        P(K_RENAME_RET, "file", _sc("sys_exit_renameat"), 1),
        P(K_RENAME_RET, "file", _sc("sys_exit_renameat2"), 1),
        # network
        P(K_CONNECT, "net", _sc("sys_enter_connect"), 3, blob=(1, 2)),
        P(K_CONNECT_RET, "net", _sc("sys_exit_connect"), 1),
        P(K_BIND, "net", _sc("sys_enter_bind"), 3, blob=(1, 2)),
        P(K_ACCEPT, "net", _sc("sys_enter_accept"), 2, save_ptr=1),
        P(K_ACCEPT, "net", _sc("sys_enter_accept4"), 2, save_ptr=1),
        P(K_ACCEPT_RET, "net", _sc("sys_exit_accept"), 1, read_saved=True),
        P(K_ACCEPT_RET, "net", _sc("sys_exit_accept4"), 1, read_saved=True),
        # sends and receives: one record at the exit, with the fd and the address (sendto's
        # destination, recvfrom's source) read from the pointer the entry remembered
        P(K_SENDTO, "net", _sc("sys_enter_sendto"), 6, save_ptr=4, save_words=(0,)),
        P(K_SENDMSG, "net", _sc("sys_enter_sendmsg"), 1, save_words=(0,)),
        P(K_SEND_RET, "net", _sc("sys_exit_sendto"), 1, read_saved=True, saved_words=1),
        P(K_SEND_RET, "net", _sc("sys_exit_sendmsg"), 1, read_saved=True, saved_words=1),
        P(K_RECVFROM, "net", _sc("sys_enter_recvfrom"), 5, save_ptr=4, save_words=(0,)),
        P(K_RECVMSG, "net", _sc("sys_enter_recvmsg"), 1, save_words=(0,)),
        P(K_RECV_RET, "net", _sc("sys_exit_recvfrom"), 1, read_saved=True, saved_words=1),
        P(K_RECVMSG_RET, "net", _sc("sys_exit_recvmsg"), 1, saved_words=1),
        P(K_TCP_STATE, "net", "sock/inet_sock_set_state", 8, ctx_off=8, any_pid=True),
    ]


#: Which probe groups each user-visible event kind needs.
KIND_GROUPS = {
    "process": {"process"},
    "thread": {"process"},
    "image": {"process", "fd", "image"},
    "file": {"process", "fd", "file"},
    "net": {"process", "fd", "net"},
    "handle": {"process", "fd"},
}
EVENT_KINDS = tuple(KIND_GROUPS)
