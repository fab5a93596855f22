"""The eBPF assembler's encodings and the probe table's invariants (no kernel needed)."""

from __future__ import annotations

import struct

import pytest

from kcap.sources.linux import bpf_asm as A
from kcap.sources.linux.probes import (
    EVENT_KINDS,
    KIND_GROUPS,
    Maps,
    build_program,
    probe_table,
)


def insns(code: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack_from("<BBhi", code, i) for i in range(0, len(code), 8)]


def test_instruction_encodings() -> None:
    p = A.Program()
    p.mov_imm(0, 0)
    p.ld_map_fd(1, 7)
    p.stx(A.DW, 8, 16, 0)
    p.ldx(A.W, 2, 6, 24)
    p.atomic_add64(0, 0, 1)
    p.mov32_reg(1, 1)
    p.call(A.RINGBUF_RESERVE)
    p.exit()
    assert insns(p.assemble()) == [
        (0xB7, 0x00, 0, 0),  # mov64 r0, 0
        (0x18, 0x11, 0, 7),  # ld_imm64 r1, map fd 7 (src = BPF_PSEUDO_MAP_FD)
        (0x00, 0x00, 0, 0),
        (0x7B, 0x08, 16, 0),  # *(u64 *)(r8 + 16) = r0
        (0x61, 0x62, 24, 0),  # r2 = *(u32 *)(r6 + 24)
        (0xDB, 0x10, 0, 0),  # lock *(u64 *)(r0 + 0) += r1
        (0xBC, 0x11, 0, 0),  # w1 = w1 (upper half zeroed)
        (0x85, 0x00, 0, 131),  # call ringbuf_reserve
        (0x95, 0x00, 0, 0),  # exit
    ]


def test_jumps_resolve_forward_and_backward() -> None:
    p = A.Program()
    p.label("top")
    p.jeq_imm(1, 5, "end")
    p.mov_imm(0, 1)
    p.ja("top")
    p.label("end")
    p.exit()
    code = insns(p.assemble())
    assert code[0] == (0x15, 0x01, 2, 5)  # skips two instructions
    assert code[2] == (0x05, 0x00, -3, 0)


def test_probes_sharing_a_kind_share_a_record_layout() -> None:
    by_kind: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}
    for p in probe_table():
        layout = (p.words, p.lens_off, p.slot_offsets())
        assert by_kind.setdefault(p.kind, layout) == layout, p.tracepoint


def test_probe_table_is_consistent() -> None:
    table = probe_table()
    tracepoints = [p.tracepoint for p in table]
    assert len(tracepoints) == len(set(tracepoints))
    for p in table:
        assert p.size % 8 == 0 and p.size <= 4096, p.tracepoint
        assert p.group in {g for groups in KIND_GROUPS.values() for g in groups}
    assert set(KIND_GROUPS) == set(EVENT_KINDS)


@pytest.mark.parametrize("probe", probe_table(), ids=lambda p: p.tracepoint)
def test_every_program_assembles_and_submits_or_counts_loss(probe) -> None:  # type: ignore[no-untyped-def]
    code = build_program(probe, Maps(ringbuf=3, lost=4, saved=5), self_pid=1234)
    ops = insns(code)
    assert ops[-1][0] in (0x05, 0x95)
    calls = [imm for op, _, _, imm in ops if op == 0x85]
    if not probe.emits:  # an entry that only remembers a word for its exit
        assert A.MAP_UPDATE_ELEM in calls and A.RINGBUF_RESERVE not in calls
        return
    assert A.RINGBUF_RESERVE in calls and A.RINGBUF_SUBMIT in calls
    # the capture's own pid is dropped unless the probe runs in borrowed (softirq) context
    drops_self = any(op == 0x15 and imm == 1234 for op, _, _, imm in ops)
    assert drops_self != probe.any_pid


@pytest.mark.parametrize("exit_side", [False, True])
def test_dispatchers_tail_call_by_syscall_number(exit_side: bool) -> None:
    from kcap.sources.linux.probes import build_dispatcher

    ops = insns(build_dispatcher(exit_side, prog_array=9))
    calls = [imm for op, _, _, imm in ops if op == 0x85]
    assert calls[-1] == A.TAIL_CALL
    assert (0x18, 0x12, 0, 9) in ops  # r2 = program array
    # syscall numbers beyond the array are not looked up
    assert any(op == 0x25 and imm == 511 for op, _, _, imm in ops)


def test_syscall_probes_know_their_numbers() -> None:
    from kcap.sources.linux.probes import SYSCALL_NR

    for p in probe_table():
        if p.syscall is not None:
            assert p.syscall in SYSCALL_NR, p.tracepoint
            assert p.nwords <= 6 and (not p.is_exit or p.nwords == 1)
