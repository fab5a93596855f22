"""The pure-Python byte kernel's compiler: layout declarations into Python functions.

`kcap.format.schema` declares each structure as a tree of nodes. Walking such a tree for every
record would be slow in Python, so a tree is turned once per byte order into the source of flat
functions -- one `struct` call per run of fixed-size fields, inline code for strings and lists --
and compiled with `compile()` (the idea of dissect.cstruct's compiled mode). That is why this
path is as fast as hand-written `struct` code although the layout is written only once.

Decoders have the signature ``decode(buf, p, end) -> (value, p_after)`` and raise `Corrupt`
with offsets relative to ``buf``: every error message of the byte layer is made here (the C
kernel never makes one: at anything unusual it hands the record to these functions). Encoders
have the signature ``encode(value) -> bytes``.
"""

from __future__ import annotations

import ipaddress
import itertools
import struct
from collections.abc import Callable
from typing import Any

from kcap.errors import Corrupt, EncodeError
from kcap.format import schema as s
from kcap.format.params import CODEC_NODES, CODEC_ORDER, Codec
from kcap.model.params import Param, Params
from kcap.model.timestamp import Timestamp

Decoder = Callable[[bytes, int, int], tuple[Any, int]]
Encoder = Callable[[Any], bytes]

_SIZES = {c: struct.calcsize("<" + c) for c in "BHIQbhiqfd"}


def fixed_size(node: Any) -> int | None:
    """Bytes a node takes when that is fixed, else None."""
    if node.op in ("int", "float"):
        return _SIZES[node.code]
    if node.op == "bool":
        return 1
    if node.op in ("raw", "address"):
        return int(node.width)
    return None


def _code(node: Any) -> str:
    return "B" if node.op == "bool" else node.code


def cut(what: str, label: str, need: int, left: int, at: int) -> Corrupt:
    """The error for a field that runs past the end of its structure."""
    return Corrupt(
        f"{what}: {label} needs {need} byte(s) but only {max(left, 0)} remain", offset=at
    )


def fixed_cut(what: str, fields: tuple[tuple[str, int], ...], p: int, end: int) -> Corrupt:
    """The error for a run of fixed-size fields that does not fit: name the first that doesn't."""
    for label, size in fields:
        if p + size > end:
            return cut(what, label, size, end - p, p)
        p += size
    return cut(what, fields[-1][0], fields[-1][1], end - p, p)


def text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _indent(lines: list[str], n: int = 1) -> list[str]:
    pad = "    " * n
    return [pad + line for line in lines]


class _Deferred:
    """A generated function not compiled yet: compiled (and put in its place) on first call."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def __call__(self, *args: Any) -> Any:
        return self.make()(*args)


class PyCompiler:
    """Compiles declarations for one byte order; each function is made once and shared."""

    def __init__(self, order: s.ByteOrder) -> None:
        self.order = order
        self.prefix = order.prefix
        self._ns: dict[str, Any] = {
            "Corrupt": Corrupt,
            "EncodeError": EncodeError,
            "cut": cut,
            "fixed_cut": fixed_cut,
            "text": text,
            "Timestamp": Timestamp,
            "IPv4": ipaddress.IPv4Address,
            "IPv6": ipaddress.IPv6Address,
            "Param": Param,
            "Params": Params,
            "new_param": tuple.__new__,
            "u16": struct.Struct(self.prefix + "H").unpack_from,
            "u32": struct.Struct(self.prefix + "I").unpack_from,
            "u16u16": struct.Struct(self.prefix + "HH").unpack_from,
            "pack_u16": struct.Struct(self.prefix + "H").pack,
            "pack_u32": struct.Struct(self.prefix + "I").pack,
            "unpack_from": struct.unpack_from,
        }
        self._decoders: dict[int, str] = {}
        self._encoders: dict[int, str] = {}
        self._keep: list[Any] = []  # the nodes whose id() names a function stay alive
        self._names = itertools.count()

    # ------------------------------------------------------------------ helpers

    def const(self, value: Any, hint: str) -> str:
        """A name under which generated code sees ``value``."""
        name = f"{hint}_{next(self._names)}"
        self._ns[name] = value
        return name

    def _struct(self, codes: str) -> str:
        key = f"S_{codes}"
        if key not in self._ns:
            self._ns[key] = struct.Struct(self.prefix + codes)
        return key

    def define(self, lines: list[str], name: str) -> Any:
        source = "\n".join(lines)
        exec(compile(source, f"<kcap layout, {self.order.label} endian>", "exec"), self._ns)
        return self._ns[name]

    # ------------------------------------------------------------------ decoding

    def decoder(self, node: Any) -> Decoder:
        """``decode(buf, p, end) -> (value, p_after)`` for ``node``."""
        name = self.decoder_name(node)
        return lambda buf, p, end: self._ns[name](buf, p, end)  # the compiled one, once made

    def decoder_name(self, node: Any) -> str:
        """The name of the decoder of ``node``. It is compiled on its first call: a reader
        that never meets a structure (the native kernel's fallbacks, mostly) never pays for
        generating and compiling its code."""
        key = id(node)
        name = self._decoders.get(key)
        if name is None:
            self._keep.append(node)
            name = f"dec_{node.op}_{next(self._names)}"
            self._decoders[key] = name

            def make(node: Any = node, name: str = name) -> Any:
                body = self._decode_body(node)
                return self.define([f"def {name}(buf, p, end):", *_indent(body)], name)

            self._ns[name] = _Deferred(make)
        return name

    def _decode_body(self, node: Any) -> list[str]:
        """Statements that read ``node`` at ``p`` (bounded by ``end``) and return (value, p)."""
        if node.op == "record":
            return self._record_body(node)
        if node.op == "framed":
            return self._framed_body(node)
        if node.op == "tagged":
            return self._tagged_body(node)
        if node.op == "section":
            return self._section_body(node)
        return [*self.value("v", node, "'value'", "'value'"), "return v, p"]

    def value(self, var: str, node: Any, what: str, label: str) -> list[str]:
        """Statements that read one value of ``node`` into ``var`` and advance ``p``.

        ``what`` and ``label`` are Python expressions (the structure and the field, for error
        messages), so a caller can name a field known only at run time (a parameter).
        """
        op = node.op
        size = fixed_size(node)
        if size is not None:
            head = [f"if p + {size} > end: raise cut({what}, {label}, {size}, end - p, p)"]
            if op == "raw":
                read = f"bytes(buf[p:p + {size}])"
            elif op == "address":
                read = f"{'IPv4' if size == 4 else 'IPv6'}(bytes(buf[p:p + {size}]))"
            elif op == "bool":
                read = "buf[p] != 0"
            elif node.code == "B":
                read = "buf[p]"
            else:
                read = f"{self._struct(node.code)}.unpack_from(buf, p)[0]"
            return [*head, f"{var} = {read}", f"p += {size}"]
        if op in ("text", "time", "blob"):
            width = 4 if op == "blob" and node.prefix == "I" else 2
            rd = "u32" if width == 4 else "u16"
            read = "buf[p:p + n].decode('utf-8', 'surrogateescape')"
            if op == "time":
                read = f"Timestamp({read})"
            elif op == "blob":
                read = "bytes(buf[p:p + n])"
            return [
                f"if p + {width} > end: raise cut({what}, {label} + ' length', {width}, "
                "end - p, p)",
                f"(n,) = {rd}(buf, p)",
                f"p += {width}",
                f"if p + n > end: raise cut({what}, {label}, n, end - p, p)",
                f"{var} = {read}",
                "p += n",
            ]
        if op == "seq":
            return [
                f"if p + 2 > end: raise cut({what}, {label} + ' count', 2, end - p, p)",
                f"(count_{var},) = u16(buf, p)",
                "p += 2",
                f"{var} = []",
                f"for _ in range(count_{var}):",
                *_indent(self.value(f"{var}_i", node.item, what, label)),
                f"    {var}.append({var}_i)",
            ]
        if op == "pair":
            a = self.value(f"{var}_a", node.first, what, label)
            b = self.value(f"{var}_b", node.second, what, label)
            return [*a, *b, f"{var} = ({var}_a, {var}_b)"]
        if op == "slice":
            return self._slice_value(var, node, what, label)
        if op == "section":
            return self._section_value(var, node)
        # a structure of its own: a function of its own
        return [f"{var}, p = {self.decoder_name(node)}(buf, p, end)"]

    def _slice_value(self, var: str, node: s.SliceOf, what: str, label: str) -> list[str]:
        out = [
            f"if p + 3 > end: raise cut({what}, {label} + ' slice header', 3, end - p, p)",
            "kind = buf[p]",
            "(count,) = u16(buf, p + 1)",
            "p += 3",
        ]
        first = True
        for kind, name, item in node.kinds:
            size = fixed_size(item)
            out.append(f"{'if' if first else 'elif'} kind == {kind}:")
            first = False
            if size is not None:
                # a run of fixed-size items: one bounds check, one struct call
                out += _indent(
                    [
                        f"if p + {size} * count > end: "
                        f"raise cut({what}, {label}, {size} * count, end - p, p)",
                        f"{var} = list(unpack_from('{self.prefix}%d{item.code}' % count, buf, p))",
                        f"p += {size} * count",
                    ]
                )
            else:
                out += _indent(
                    [
                        f"{var} = []",
                        "for _ in range(count):",
                        *_indent(self.value(f"{var}_i", item, what, label)),
                        f"    {var}.append({var}_i)",
                    ]
                )
            out.append(f"    elem = {name!r}")
        out += [
            "else:",
            f"    raise Corrupt({what} + f': unknown slice element kind 0x{{kind:02x}}', "
            "offset=p - 3)",
        ]
        return out

    def _record_body(self, node: s.Record) -> list[str]:
        out: list[str] = []
        fields = node.fields
        names: list[tuple[str, str]] = []  # (slot, variable)
        what = repr(node.what)
        i = 0
        while i < len(fields):
            run = []
            while i < len(fields) and fixed_size(fields[i].node) is not None:
                run.append(fields[i])
                i += 1
            if len(run) > 1:
                out += self._fixed_run(node.what, run, names)
                continue
            f = run[0] if run else fields[i]
            if not run:
                i += 1
            var = f"f{len(names)}"
            out += self.value(var, f.node, what, repr(f.label))
            names.append((f.slot, var))
        cls = self.const(node.cls, "cls")
        out.append(f"o = {cls}.__new__({cls})")
        out += [f"o.{slot} = {var}" for slot, var in names]
        for slot, default in node.defaults:
            made = f"{self.const(default, 'factory')}()" if callable(default) else None
            out.append(f"o.{slot} = {made or self.const(default, 'default')}")
        out.append("return o, p")
        return out

    def _fixed_run(self, what: str, run: list[s.Field], names: list[tuple[str, str]]) -> list[str]:
        """One bounds check and one `struct` call for consecutive fixed-size fields."""
        total = sum(fixed_size(f.node) or 0 for f in run)
        labels = tuple((f.label, fixed_size(f.node) or 0) for f in run)
        out = [f"if p + {total} > end: raise fixed_cut({what!r}, {labels!r}, p, end)"]
        codes = ""
        unpacked: list[tuple[str, s.Field]] = []
        later: list[str] = []
        offset = 0
        for f in run:
            var = f"f{len(names)}"
            names.append((f.slot, var))
            size = fixed_size(f.node) or 0
            if f.node.op in ("raw", "address"):
                codes += "x" * size
                read = f"bytes(buf[p + {offset}:p + {offset + size}])"
                if f.node.op == "address":
                    read = f"{'IPv4' if size == 4 else 'IPv6'}({read})"
                later.append(f"{var} = {read}")
            else:
                codes += _code(f.node)
                unpacked.append((var, f))
            offset += size
        if unpacked:
            targets = ", ".join(v for v, _ in unpacked)
            out.append(f"({targets},) = {self._struct(codes)}.unpack_from(buf, p)")
            out += [f"{v} = {v} != 0" for v, f in unpacked if f.node.op == "bool"]
        out += later
        out.append(f"p += {total}")
        return out

    def _framed_body(self, node: s.Framed) -> list[str]:
        width = 2 if node.prefix == "H" else 4
        rd = "u16" if width == 2 else "u32"
        what = node.what
        least = f"; a record has at least {node.least}" if node.least else ""
        out = [
            f"if p + {width} > end: raise cut({what!r}, 'length', {width}, end - p, p)",
            f"(size,) = {rd}(buf, p)",
        ]
        if node.empty:
            out.append(f"if size == 0: return None, p + {width}")
        out += [
            f"rec_end = p + {width} + size",
            f"if rec_end > end or size < {node.least}:",
            f"    raise Corrupt(f'{what} of {{size}} bytes does not fit its section "
            f"({{end - p - {width}}} bytes remain{least})', offset=p)",
            f"v, q = {self.decoder_name(node.item)}(buf, p + {width}, rec_end)",
            "if q != rec_end:",
            f"    raise Corrupt(f'{what} declares {{size}} bytes but its fields take "
            f"{{q - p - {width}}}', offset=p)",
            "return v, rec_end",
        ]
        return out

    def _tagged_body(self, node: s.Tagged) -> list[str]:
        out = [
            f"if p + 1 > end: raise cut('record', {node.label!r}, 1, end - p, p)",
            "tag = buf[p]",
            "p += 1",
        ]
        for n, (tag, case) in enumerate(node.cases):
            out.append(f"{'if' if n == 0 else 'elif'} tag == {tag}:")
            out.append(
                "    return None, p"
                if case is None
                else f"    return {self.decoder_name(case)}(buf, p, end)"
            )
        out.append(f"raise Corrupt(f'unknown {node.label} {{tag}}', offset=p - 1)")
        return out

    def _section_body(self, node: s.Section) -> list[str]:
        return [*self._section_value("v", node), "return v, p"]

    def _section_value(self, var: str, node: s.Section) -> list[str]:
        """Statements that read a nested section (header and content) into ``var``."""
        label = node.label
        out = [
            f"if p + {s.SECTION_SIZE} > end:",
            f"    raise Corrupt(f'the {label} section header needs {s.SECTION_SIZE} bytes but "
            "only {max(end - p, 0)} remain', offset=p)",
            f"stype, version, count, size = {self._struct(s.SECTION_CODE)}.unpack_from(buf, p)",
            f"if stype != {node.stype}:",
            f"    raise Corrupt(f'expected the {label} section header, found section type "
            "{stype}', offset=p)",
            f"p += {s.SECTION_SIZE}",
        ]
        if node.counted is not None:
            return [
                *out,
                f"{var} = []",
                "for _ in range(count):",
                f"    {var}_i, p = {self.decoder_name(node.counted)}(buf, p, end)",
                f"    {var}.append({var}_i)",
            ]
        out += [
            "if size == 0:",
            f"    {var} = None",
            "elif p + size > end:",
            f"    raise Corrupt(f'{label} body of {{size}} bytes runs past the end of its "
            "container ({end - p} bytes remain)', offset=p)",
        ]
        for version, body in node.versions:
            out += [
                f"elif version == {version}:",
                f"    {var}, q = {self.decoder_name(body)}(buf, p, p + size)",
                "    if q != p + size:",
                f"        raise Corrupt(f'{label} body: {{p + size - q}} byte(s) left over after "
                "the last field', offset=q)",
                "    p += size",
            ]
        return [
            *out,
            "else:",
            f"    raise Corrupt(f'unknown {label} section version {{version}}', offset=p)",
        ]

    # ------------------------------------------------------------------ parameters

    def params_value(
        self, var: str, table: dict[int, tuple[Any, Codec]], describe: str
    ) -> list[str]:
        """Statements that read an event's parameter list under ``table`` (wire id -> (logical
        type, codec)) into ``var`` (a `Params`); names go through a bounded cache."""
        tab = self.const({w: (t, int(c)) for w, (t, c) in table.items()}, "table")
        names = self.const({}, "names")
        lines = [
            "if p + 2 > end: raise cut('event body', 'parameter count', 2, end - p, p)",
            "(count,) = u16(buf, p)",
            "p += 2",
            "by_name = {}",
            "dups = []",
            "for _ in range(count):",
            "    if p + 4 > end: raise cut('event body', 'parameter header', 4, end - p, p)",
            "    wire, nlen = u16u16(buf, p)",
            "    p += 4",
            "    if p + nlen > end: raise cut('event body', 'parameter name', nlen, end - p, p)",
            "    nb = buf[p:p + nlen]",
            "    p += nlen",
            f"    name = {names}.get(nb)",
            "    if name is None:",
            "        name = text(nb)",
            f"        if len({names}) < 4096: {names}[nb] = name",
            f"    spec = {tab}.get(wire)",
            "    if spec is None:",
            f"        raise Corrupt(f'parameter {{name!r}} has unknown type id {{wire}} "
            f"({describe})', offset=p - nlen - 4)",
            "    ptype, codec = spec",
            "    elem = None",
        ]
        what = "f'parameter {name!r}'"
        for n, codec in enumerate(CODEC_ORDER):
            lines.append(f"    {'if' if n == 0 else 'elif'} codec == {int(codec)}:")
            lines += _indent(self.value("value", CODEC_NODES[codec], what, "'value'"), 2)
        return [
            *lines,
            "    else:",
            "        raise Corrupt(f'parameter {name!r} has type {ptype.name.lower()} (id {wire}), "
            "which upstream\\'s writer stores without a value, so the event cannot be "
            "decoded', offset=p - nlen - 4)",
            "    param = new_param(Param, (name, ptype, value, elem))",
            "    if name in by_name:",
            "        dups.append(param)",
            "    else:",
            "        by_name[name] = param",
            f"{var} = Params.from_dict(by_name, dups or ())",
        ]

    def tail_decoder(
        self, fields: tuple[s.Field, ...], table: dict[int, tuple[Any, Codec]], describe: str
    ) -> Callable[[bytes, int, int], tuple[Any, ...]]:
        """``decode(buf, p, end) -> (params, meta, process)``: the tail of an event body, all
        in one function; the body must end exactly at ``end``."""
        return self._tail_function(fields, table, describe)

    def _tail_function(
        self, fields: tuple[s.Field, ...], table: dict[int, tuple[Any, Codec]], describe: str
    ) -> Callable[[bytes, int, int], tuple[Any, ...]]:
        lines: list[str] = []
        got = {"params": "None", "meta": "None", "process": "None"}
        for f in fields:
            var = f"t_{f.slot}"
            got[f.slot] = var
            if f.node.op == "params":
                lines += self.params_value(var, table, describe)
            else:
                if f.node.op == "section":
                    lines += [
                        f"if p + {s.SECTION_SIZE} > end:",
                        "    raise Corrupt('event body ends before its process section header', "
                        "offset=p)",
                    ]
                lines += self.value(var, f.node, repr("event body"), repr(f.label))
        lines += [
            "if p != end:",
            "    raise Corrupt(f'{end - p} byte(s) left over at the end of the event body', "
            "offset=p)",
            f"return {got['params']}, {got['meta']}, {got['process']}",
        ]
        name = f"dec_tail_{next(self._names)}"
        fn: Callable[[bytes, int, int], tuple[Any, ...]]
        fn = self.define([f"def {name}(buf, p, end):", *_indent(lines)], name)
        return fn

    # ------------------------------------------------------------------ encoding

    def encoder(self, node: Any) -> Encoder:
        """``encode(value) -> bytes`` for ``node`` (a versioned section writes its newest)."""
        name = self.encoder_name(node)
        first: Encoder = self._ns[name]
        if not isinstance(first, _Deferred):
            return first
        return lambda v: self._ns[name](v)  # the compiled one, once made

    def encoder_name(self, node: Any) -> str:
        """The name of the encoder of ``node`` (compiled on its first call)."""
        key = id(node)
        name = self._encoders.get(key)
        if name is None:
            self._keep.append(node)
            name = f"enc_{node.op}_{next(self._names)}"
            self._encoders[key] = name

            def make(node: Any = node, name: str = name) -> Any:
                lines = [
                    f"def {name}(v):",
                    "    parts = []",
                    "    put = parts.append",
                    *_indent(self.encode_value("v", node, "value")),
                    "    return b''.join(parts)",
                ]
                return self.define(lines, name)

            self._ns[name] = _Deferred(make)
        return name

    def encode_value(self, var: str, node: Any, label: str) -> list[str]:
        """Statements that append the bytes of ``var`` (laid out as ``node``) with ``put``."""
        op = node.op
        if op in ("int", "float", "bool"):
            value = f"(1 if {var} else 0)" if op == "bool" else var
            return [f"put({self._struct(_code(node))}.pack({value}))"]
        if op == "raw":
            return [
                f"if len({var}) != {node.width}:",
                f"    raise EncodeError(f'{label} must be {node.width} bytes, got {{len({var})}}')",
                f"put(bytes({var}))",
            ]
        if op == "address":
            cls = "IPv4" if node.width == 4 else "IPv6"
            return [f"put({cls}({var}).packed)"]
        if op in ("text", "time"):
            src = f"{var}.text" if op == "time" else var
            return [
                f"data = {src}.encode('utf-8', 'surrogateescape')",
                "if len(data) > 0xFFFF:",
                f"    raise EncodeError(f'{label} is {{len(data)}} bytes long; kcap strings "
                "hold at most 65535')",
                "put(pack_u16(len(data)))",
                "put(data)",
            ]
        if op == "blob":
            pack = "pack_u16" if node.prefix == "H" else "pack_u32"
            return [f"data = bytes({var})", f"put({pack}(len(data)))", "put(data)"]
        if op == "seq":
            item = f"i{next(self._names)}"
            return [
                f"if len({var}) > 0xFFFF:",
                f"    raise EncodeError(f'{label}: {{len({var})}} entries, at most 65535 fit')",
                f"put(pack_u16(len({var})))",
                f"for {item} in {var}:",
                *_indent(self.encode_value(item, node.item, label)),
            ]
        if op == "pair":
            return [
                *self.encode_value(f"{var}[0]", node.first, label),
                *self.encode_value(f"{var}[1]", node.second, label),
            ]
        if op == "slice":
            # ``var`` is (items, element kind name): the kind is the parameter's, not the
            # value's
            k = next(self._names)
            items, elem, one = f"items{k}", f"elem{k}", f"i{k}"
            out = [f"{items}, {elem} = {var}"]
            for n, (kind, name, item) in enumerate(node.kinds):
                out += [
                    f"{'if' if n == 0 else 'elif'} {elem} == {name!r}:",
                    f"    put(bytes(({kind},)))",
                    f"    if len({items}) > 0xFFFF:",
                    f"        raise EncodeError(f'{label}: slice of {{len({items})}} items is "
                    "too long')",
                    f"    put(pack_u16(len({items})))",
                    f"    for {one} in {items}:",
                    *_indent(self.encode_value(one, item, label), 2),
                ]
            return [
                *out,
                "else:",
                f"    raise EncodeError(f'{label}: unknown slice element kind {{{elem}!r}}')",
            ]
        if op == "record":
            out = []
            for f in node.fields:
                out += self.encode_value(f"{var}.{f.slot}", f.node, f.label)
            return out
        if op == "tagged":
            return self._encode_tagged(var, node, label)
        if op == "framed":
            return self._encode_framed(var, node)
        if op == "section":
            return self._encode_section(var, node)
        raise TypeError(f"no encoder for layout node {op!r}")

    def _encode_tagged(self, var: str, node: s.Tagged, label: str) -> list[str]:
        out = []
        for n, (tag, case) in enumerate(node.cases):
            kw = "if" if n == 0 else "elif"
            if case is None:
                out += [f"{kw} {var} is None:", f"    put(bytes(({tag},)))"]
            else:
                cls = self.const(case.cls, "cls")
                out += [f"{kw} type({var}) is {cls}:", f"    put(bytes(({tag},)))"]
                out += _indent(self.encode_value(var, case, label))
        out += [
            "else:",
            f"    raise EncodeError(f'{label}: cannot store a {{type({var}).__name__}}')",
        ]
        return out

    def _encode_framed(self, var: str, node: s.Framed) -> list[str]:
        inner = self.encoder_name(node.item)
        pack = "pack_u16" if node.prefix == "H" else "pack_u32"
        body = [f"data = {inner}({var})", f"put({pack}(len(data)))", "put(data)"]
        if node.empty:
            return [f"if {var} is None:", f"    put({pack}(0))", "else:", *_indent(body)]
        return body

    def _encode_section(self, var: str, node: s.Section) -> list[str]:
        header = self._struct(s.SECTION_CODE)
        if node.counted is not None:
            one = f"i{next(self._names)}"
            return [
                f"put({header}.pack({node.stype}, 1, len({var}), 0))",
                f"for {one} in {var}:",
                f"    put({self.encoder_name(node.counted)}({one}))",
            ]
        newest, body = max(node.versions, key=lambda vb: vb[0])
        return [
            f"if {var} is None:",
            f"    put({header}.pack({node.stype}, {newest}, 0, 0))",
            "else:",
            f"    data = {self.encoder_name(body)}({var})",
            f"    put({header}.pack({node.stype}, {newest}, 0, len(data)))",
            "    put(data)",
        ]
