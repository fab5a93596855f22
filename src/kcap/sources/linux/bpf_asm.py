"""A tiny eBPF assembler: just the instructions the capture programs use.

There is no clang on the target machines and bcc needs kernel headers, so the programs are
assembled here. Each instruction is 8 bytes: opcode, dst/src register nibbles, a signed 16-bit
offset and a signed 32-bit immediate (``ld_imm64`` takes two slots). Jumps take symbolic labels
resolved by `Program.assemble`.
"""

from __future__ import annotations

import struct

# instruction classes
_LD, _LDX, _ST, _STX, _ALU, _JMP, _ALU64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x07
# sizes
W, H, B, DW = 0x00, 0x08, 0x10, 0x18
_MEM, _IMM, _ATOMIC = 0x60, 0x00, 0xC0
# sources
_K, _X = 0x00, 0x08
# ALU ops
_ADD, _RSH, _MOV, _AND = 0x00, 0x70, 0xB0, 0x50
# JMP ops
_JA, _JEQ, _JGT, _JNE, _JSGT, _JSLT, _CALL, _EXIT = (
    0x00,
    0x10,
    0x20,
    0x50,
    0x60,
    0xC0,
    0x80,
    0x90,
)
BPF_PSEUDO_MAP_FD = 1

# helper function ids
MAP_LOOKUP_ELEM = 1
MAP_UPDATE_ELEM = 2
MAP_DELETE_ELEM = 3
KTIME_GET_NS = 5
GET_SMP_PROCESSOR_ID = 8
TAIL_CALL = 12
GET_CURRENT_PID_TGID = 14
PROBE_READ_USER = 112
PROBE_READ_KERNEL = 113
PROBE_READ_USER_STR = 114
PROBE_READ_KERNEL_STR = 115
RINGBUF_RESERVE = 131
RINGBUF_SUBMIT = 132
RINGBUF_DISCARD = 133

_INSN = struct.Struct("<BBhi")


class Program:
    """An instruction list with labels; `assemble` resolves jumps and returns the bytecode."""

    def __init__(self) -> None:
        self._insns: list[tuple[int, int, int, int, int, str | None]] = []
        self._labels: dict[str, int] = {}

    def _emit(self, op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> None:
        self._insns.append((op, dst, src, off, imm, None))

    # ------------------------------------------------------------------ ALU
    def mov_imm(self, dst: int, imm: int) -> None:
        self._emit(_ALU64 | _MOV | _K, dst, imm=imm)

    def mov_reg(self, dst: int, src: int) -> None:
        self._emit(_ALU64 | _MOV | _X, dst, src)

    def mov32_reg(self, dst: int, src: int) -> None:
        """32-bit move: the upper half of ``dst`` is zeroed."""
        self._emit(_ALU | _MOV | _X, dst, src)

    def add_imm(self, dst: int, imm: int) -> None:
        self._emit(_ALU64 | _ADD | _K, dst, imm=imm)

    def add_reg(self, dst: int, src: int) -> None:
        self._emit(_ALU64 | _ADD | _X, dst, src)

    def rsh_imm(self, dst: int, imm: int) -> None:
        self._emit(_ALU64 | _RSH | _K, dst, imm=imm)

    def and_imm(self, dst: int, imm: int) -> None:
        self._emit(_ALU64 | _AND | _K, dst, imm=imm)

    def ld_map_fd(self, dst: int, fd: int) -> None:
        self._emit(_LD | DW | _IMM, dst, BPF_PSEUDO_MAP_FD, imm=fd)
        self._emit(0, 0, 0, imm=0)

    # ------------------------------------------------------------------ memory
    def ldx(self, size: int, dst: int, src: int, off: int) -> None:
        self._emit(_LDX | size | _MEM, dst, src, off)

    def stx(self, size: int, dst: int, off: int, src: int) -> None:
        self._emit(_STX | size | _MEM, dst, src, off)

    def st_imm(self, size: int, dst: int, off: int, imm: int) -> None:
        self._emit(_ST | size | _MEM, dst, off=off, imm=imm)

    def atomic_add64(self, dst: int, off: int, src: int) -> None:
        self._emit(_STX | DW | _ATOMIC, dst, src, off, imm=_ADD)

    # ------------------------------------------------------------------ control
    def label(self, name: str) -> None:
        self._labels[name] = len(self._insns)

    def _jump(self, op: int, dst: int, src: int, imm: int, target: str) -> None:
        self._insns.append((op, dst, src, 0, imm, target))

    def ja(self, target: str) -> None:
        self._jump(_JMP | _JA, 0, 0, 0, target)

    def jeq_imm(self, dst: int, imm: int, target: str) -> None:
        self._jump(_JMP | _JEQ | _K, dst, 0, imm, target)

    def jne_imm(self, dst: int, imm: int, target: str) -> None:
        self._jump(_JMP | _JNE | _K, dst, 0, imm, target)

    def jgt_imm(self, dst: int, imm: int, target: str) -> None:
        self._jump(_JMP | _JGT | _K, dst, 0, imm, target)

    def jslt_imm(self, dst: int, imm: int, target: str) -> None:
        self._jump(_JMP | _JSLT | _K, dst, 0, imm, target)

    def call(self, helper: int) -> None:
        self._emit(_JMP | _CALL, imm=helper)

    def exit(self) -> None:
        self._emit(_JMP | _EXIT)

    # ------------------------------------------------------------------ output
    def assemble(self) -> bytes:
        out = bytearray()
        for i, (op, dst, src, off, imm, target) in enumerate(self._insns):
            if target is not None:
                off = self._labels[target] - i - 1
            out += _INSN.pack(op, (src << 4) | (dst & 0xF), off, imm)
        return bytes(out)

    def __len__(self) -> int:
        return len(self._insns)
