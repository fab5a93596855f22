"""The field table: name -> kind, accessor and cost class (indexed families: `indexed`).

Kinds are the runtime kinds the evaluator sees: ``str int float bool ip strs ints time any``.
Cost classes drive pushdown: ``header`` fields read only the fixed event header (never decode
the rest of a lazy event), ``state`` fields read the attached process state, ``params`` fields
decode the event tail.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from kcap.filter import accessors as A
from kcap.filter import render as R
from kcap.filter.fields_head import register as register_head_fields
from kcap.filter.indexed import INDEXED_TEMPLATES, indexed_spec
from kcap.filter.paths import WINDOWS, PathRules
from kcap.filter.spec import FieldSpec
from kcap.model.event import Event
from kcap.model.process import Process, split_cmdline

FIELDS: dict[str, FieldSpec] = {}


def _add(
    name: str,
    kind: str,
    cost: str,
    getter: Callable[[Event], Any] | None,
    params: tuple[str, ...] = (),
) -> None:
    FIELDS[name] = FieldSpec(name, kind, cost, getter, None, params)


def _unavailable(name: str, kind: str, reason: str) -> None:
    FIELDS[name] = FieldSpec(name, kind, "params", None, reason)


def _p(
    kind: str,
    cat: A.Category,
    names: tuple[str, ...],
    fieldname: str,
    make: Callable[..., Callable[[Event], Any]],
    *extra: Any,
) -> None:
    _add(fieldname, kind, "params", make(cat, *extra, *names), names)


# --------------------------------------------------------------------------- kevt.*

_add("kevt.seq", "int", "header", lambda ev: ev.seq)
_add("kevt.pid", "int", "header", lambda ev: ev.pid)
_add("kevt.tid", "int", "header", lambda ev: ev.tid)
_add("kevt.cpu", "int", "header", lambda ev: ev.cpu)
_add("kevt.name", "str", "header", A.event_name)
_add("kevt.category", "str", "header", lambda ev: ev.category)
_add("kevt.desc", "str", "header", lambda ev: ev.description)
_add("kevt.host", "str", "header", lambda ev: ev.host)
_add("kevt.time", "str", "header", A.ts_text_slice(11, 19))
_add("kevt.time.h", "int", "header", A.ts_int_slice(11, 13))
_add("kevt.time.m", "int", "header", A.ts_int_slice(14, 16))
_add("kevt.time.s", "int", "header", A.ts_int_slice(17, 19))
_add("kevt.time.ns", "int", "header", lambda ev: ev.timestamp.ns)
_add("kevt.date", "str", "header", A.ts_text_slice(0, 10))
_add("kevt.date.d", "int", "header", A.ts_int_slice(8, 10))
_add("kevt.date.m", "int", "header", A.ts_int_slice(5, 7))
_add("kevt.date.y", "int", "header", A.ts_int_slice(0, 4))
_add("kevt.date.tz", "str", "header", A.ts_zone)
_add("kevt.date.week", "int", "header", A.ts_date(lambda d: d.isocalendar()[1]))
_add("kevt.date.weekday", "str", "header", A.ts_date(lambda d: d.strftime("%A")))
_add("kevt.nparams", "int", "params", lambda ev: len(ev.params))

# --------------------------------------------------------------------------- ps.*


def _ps(name: str, kind: str, getter: Callable[[Process], Any]) -> None:
    _add(name, kind, "state", A.ps_attr(getter))


def _ps_pid(ev: Event) -> int | None:
    return ev.pid if A.ps_applies(ev) else None


_add("ps.pid", "int", "header", _ps_pid)

_PROCESS_ATTRS: dict[str, tuple[str, Callable[[Process], Any]]] = {
    "ppid": ("int", lambda p: p.ppid),
    "name": ("str", lambda p: p.name),
    "comm": ("str", lambda p: p.cmdline),
    "cmdline": ("str", lambda p: p.cmdline),
    "exe": ("str", lambda p: p.exe),
    "args": ("strs", lambda p: list(p.args)),
    "cwd": ("str", lambda p: p.cwd or None),
    "sid": ("str", lambda p: p.sid),
    "domain": ("str", lambda p: p.domain),
    "username": ("str", lambda p: p.username),
    "sessionid": ("int", lambda p: p.session_id),
    "envs": ("strs", lambda p: [k for k, _ in p.envs]),
    "handles": ("strs", lambda p: [h.name for h in p.handles]),
    "handle.types": ("strs", lambda p: [h.type for h in p.handles]),
    "modules": ("strs", lambda p: [m.name for m in p.modules]),
    "uuid": ("int", lambda p: p.uuid),
    "is_wow64": ("bool", lambda p: p.is_wow64),
    "is_packaged": ("bool", lambda p: p.is_packaged),
    "is_protected": ("bool", lambda p: p.is_protected),
}
for _attr, (_kind, _get) in _PROCESS_ATTRS.items():
    _ps(f"ps.{_attr}", _kind, _get)
    _add(f"ps.parent.{_attr}", _kind, "state", A.parent_attr(_get))
_add("ps.parent.pid", "int", "state", A.parent_attr(lambda p: p.pid))
_unavailable("ps.dtb", "int", "no capture records the directory table base")
_unavailable("ps.parent.dtb", "int", "no capture records the directory table base")


def _only(event_name: str, getter: Callable[[Event], Any]) -> Callable[[Event], Any]:
    def get(ev: Event) -> Any:
        return getter(ev) if A.event_name(ev) == event_name else None

    return get


def _access_names(table: R.Symbols) -> Callable[[Event], list[str] | None]:
    """Names the writer stored (``desired_access_names``, 2022) or rendered from the mask."""

    def get(ev: Event) -> list[str] | None:
        stored = ev.params.value("desired_access_names")
        if isinstance(stored, list):
            return [str(x) for x in stored]
        v = ev.params.value("desired_access")
        return None if v is None else table.render(v).split("|")

    return get


def _access_hex(ev: Event) -> str | None:
    v = ev.params.value("desired_access")
    if v is None:
        return None
    n = A.to_int(v)
    return f"0x{n:x}" if n is not None else str(v)


_add("ps.access.mask", "str", "params", _only("OpenProcess", _access_hex), ("desired_access",))
_add(
    "ps.access.mask.names",
    "strs",
    "params",
    _only("OpenProcess", _access_names(R.PROCESS_ACCESS)),
    ("desired_access", "desired_access_names"),
)
_add(
    "ps.access.status",
    "str",
    "params",
    _only("OpenProcess", A.param_status(None, "status")),
    ("status",),
)

# ps.child.* / ps.sibling.*: the process the event parameters describe
_PC = "process"


def _child_args(ev: Event) -> list[str] | None:
    if ev.category != _PC:
        return None
    v = ev.params.value("cmdline", ev.params.value("comm"))
    return None if v is None else split_cmdline(str(v))


def _child_flag(bit: int) -> Callable[[Event], bool | None]:
    flags = A.param_num(_PC, "flags")

    def get(ev: Event) -> bool | None:
        v = flags(ev)
        return None if v is None else bool(v & bit)

    return get


_CHILD: dict[str, tuple[str, Callable[[Event], Any], tuple[str, ...]]] = {
    "pid": ("int", A.param_num(_PC, "pid"), ("pid",)),
    "name": ("str", A.param_text(_PC, "name"), ("name",)),
    "cmdline": ("str", A.param_text(_PC, "cmdline", "comm"), ("cmdline", "comm")),
    "comm": ("str", A.param_text(_PC, "cmdline", "comm"), ("cmdline", "comm")),
    "exe": ("str", A.param_text(_PC, "exe"), ("exe",)),
    "args": ("strs", _child_args, ("cmdline",)),
    "sid": ("str", A.param_sid(_PC, "sid", "user_sid"), ("sid", "user_sid")),
    "sessionid": ("int", A.param_num(_PC, "session_id"), ("session_id",)),
    "domain": ("str", A.param_text(_PC, "domain"), ("domain",)),
    "username": ("str", A.param_text(_PC, "username"), ("username",)),
    "is_wow64": ("bool", _child_flag(0x2), ("flags",)),
    "is_packaged": ("bool", _child_flag(0x8), ("flags",)),
    "is_protected": ("bool", _child_flag(0x4), ("flags",)),
}
for _attr, (_kind, _child_get, _names) in _CHILD.items():
    if _attr != "comm":
        _add(f"ps.child.{_attr}", _kind, "params", _child_get, _names)
    if _attr not in ("is_wow64", "is_packaged", "is_protected", "cmdline"):
        _add(f"ps.sibling.{_attr}", _kind, "params", _child_get, _names)
_unavailable(
    "ps.child.uuid",
    "int",
    "it needs a snapshotter lookup that upstream never gives a replay filter; "
    "use ps.uuid on the child's own events",
)
_unavailable(
    "ps.child.pe.file.name", "str", "it parses the child executable from the live host's disk"
)
_unavailable(
    "pe.ps.child.file.name", "str", "it parses the child executable from the live host's disk"
)

# --------------------------------------------------------------------------- thread.*
_T = "thread"
_p("int", _T, ("base_prio",), "thread.prio", A.param_num)
_p("int", _T, ("io_prio",), "thread.io.prio", A.param_num)
_p("int", _T, ("page_prio",), "thread.page.prio", A.param_num)
_p("str", _T, ("kstack", "kstack_base"), "thread.kstack.base", A.param_hex)
_p("str", _T, ("kstack_limit",), "thread.kstack.limit", A.param_hex)
_p("str", _T, ("ustack", "ustack_base"), "thread.ustack.base", A.param_hex)
_p("str", _T, ("ustack_limit",), "thread.ustack.limit", A.param_hex)
_p(
    "str",
    _T,
    ("start_address", "entrypoint", "win32_start_addr"),
    "thread.start_address",
    A.param_hex,
)
_p("str", _T, ("start_address", "entrypoint", "win32_start_addr"), "thread.entrypoint", A.param_hex)
_p("int", _T, ("pid",), "thread.pid", A.param_num)
_p("str", _T, ("teb", "teb_address"), "thread.teb_address", A.param_hex)
_add("thread.access.mask", "str", "params", _only("OpenThread", _access_hex), ("desired_access",))
_add(
    "thread.access.mask.names",
    "strs",
    "params",
    _only("OpenThread", _access_names(R.THREAD_ACCESS)),
    ("desired_access", "desired_access_names"),
)
_add(
    "thread.access.status",
    "str",
    "params",
    _only("OpenThread", A.param_status(None, "status")),
    ("status",),
)
for _cs, _kind in (
    ("summary", "str"),
    ("detail", "str"),
    ("modules", "strs"),
    ("symbols", "strs"),
    ("allocation_sizes", "ints"),
    ("protections", "strs"),
    ("callsite_leading_assembly", "strs"),
    ("callsite_trailing_assembly", "strs"),
    ("is_unbacked", "bool"),
):
    _unavailable(
        f"thread.callstack.{_cs}",
        _kind,
        "captures do not keep symbolized call frames (and some need live process memory)",
    )

# --------------------------------------------------------------------------- image.*
# "module" is current upstream's name of the category (rules see translated events).
_I = ("image", "module")
_IMG_PATH = ("file_path", "file_name", "image_name")
_p("str", _I, _IMG_PATH, "image.path", A.param_text)
_p("str", _I, _IMG_PATH, "image.name", A.param_path_part, PathRules.base)
_p("str", _I, ("base_address", "image_base"), "image.base.address", A.param_hex)
_p("str", _I, ("default_address", "default_base"), "image.default.address", A.param_hex)
_p("int", _I, ("image_size",), "image.size", A.param_num)
_p("int", _I, ("checksum",), "image.checksum", A.param_num)
_p("int", _I, ("pid",), "image.pid", A.param_num)
_p("str", _I, ("signature_type",), "image.signature.type", A.param_symbol, R.SIGNATURE_TYPE)
_p("str", _I, ("signature_level",), "image.signature.level", A.param_symbol, R.SIGNATURE_LEVEL)
_p("bool", _I, ("is_dll",), "image.is_dll", A.param_bool)
_p("bool", _I, ("is_driver",), "image.is_driver", A.param_bool)
_p("bool", _I, ("is_exec",), "image.is_exec", A.param_bool)
# Upstream appends these parameters while verifying the image live; a capture written after that
# holds them, so they are read when present (missing otherwise).
for _f, _k, _pname in (
    ("subject", "str", "cert_subject"),
    ("issuer", "str", "cert_issuer"),
    ("serial", "str", "cert_serial"),
    ("before", "time", "cert_not_before"),
    ("after", "time", "cert_not_after"),
):
    _p(_k, _I, (_pname,), f"image.cert.{_f}", A.param_raw)
for _ns in ("image", "file"):
    _unavailable(
        f"{_ns}.is_driver_vulnerable",
        "bool",
        "it hashes the file on the live host's disk against the LOLDrivers list",
    )
    _unavailable(
        f"{_ns}.is_driver_malicious",
        "bool",
        "it hashes the file on the live host's disk against the LOLDrivers list",
    )
_unavailable("image.is_dotnet", "bool", "it parses the image from the live host's disk")

# --------------------------------------------------------------------------- file.*
_F = "file"
_FILE_PATH = ("file_path", "file_name")
_p("int", _F, ("file_object",), "file.object", A.param_num)
_p("str", _F, _FILE_PATH, "file.path", A.param_text)
_p("str", _F, _FILE_PATH, "file.name", A.param_path_part, PathRules.base)
_p("str", _F, _FILE_PATH, "file.extension", A.param_path_part, PathRules.ext)
_p(
    "str",
    _F,
    ("create_disposition", "operation"),
    "file.operation",
    A.param_symbol,
    R.CREATE_DISPOSITION,
)
_p("str", _F, ("share_mask",), "file.share.mask", A.param_symbol, R.SHARE_MASK)
_p("int", _F, ("io_size",), "file.io.size", A.param_num)
_p("int", _F, ("offset",), "file.offset", A.param_num)
_p("str", _F, ("type",), "file.type", A.param_symbol, R.FILE_TYPE)
_p(
    "strs",
    _F,
    ("attributes", "file_attributes"),
    "file.attributes",
    A.param_flag_names,
    R.FILE_ATTRIBUTES,
)
_add("file.status", "str", "params", _only("CreateFile", A.param_status(_F, "status")), ("status",))
_p("str", _F, ("view_base",), "file.view.base", A.param_hex)
_p("int", _F, ("view_size",), "file.view.size", A.param_num)
_p("str", _F, ("section_type",), "file.view.type", A.param_symbol, R.SECTION_TYPE)
_p("str", _F, ("protection",), "file.view.protection", A.param_symbol, R.MEM_PROTECTION)
_p("bool", _F, ("is_dll",), "file.is_dll", A.param_bool)
_p("bool", _F, ("is_driver",), "file.is_driver", A.param_bool)
_p("bool", _F, ("is_exec",), "file.is_exec", A.param_bool)
_p("int", _F, ("pid",), "file.pid", A.param_num)
_p("int", _F, ("file_key",), "file.key", A.param_num)
_p("str", _F, ("class",), "file.info_class", A.param_symbol, R.FILE_INFO_CLASS)

_file_class_raw = A.param_raw(_F, "class")
_CLASS_BY_NAME = {name.casefold(): num for num, name in R.FILE_INFO_CLASS.by_value.items()}


def _file_class(ev: Event) -> int | None:
    """The information class number; 2022-era writers stored its name (``EOF``)."""
    v = _file_class_raw(ev)
    if isinstance(v, str):
        return _CLASS_BY_NAME.get(v.casefold(), A.to_int(v))
    return A.to_int(v) if v is not None else None


_file_extra = A.param_num(_F, "extra_info")


def _info_when(cls: int) -> Callable[[Event], int | None]:
    def get(ev: Event) -> int | None:
        return _file_extra(ev) if _file_class(ev) == cls else None

    return get


def _is_disposition_delete(ev: Event) -> bool | None:
    cls = _file_class(ev)
    if cls is None:
        return None
    extra = _file_extra(ev)
    return cls == 13 and extra is not None and extra != 0


_add("file.info.allocation_size", "int", "params", _info_when(19), ("class", "extra_info"))
_add("file.info.eof_size", "int", "params", _info_when(20), ("class", "extra_info"))
_add(
    "file.info.is_disposition_delete_file",
    "bool",
    "params",
    _is_disposition_delete,
    ("class", "extra_info"),
)

# --------------------------------------------------------------------------- registry.*
_G = "registry"
_KEY_PATH = ("key_path", "key_name")
_registry_path = A.param_text(_G, *_KEY_PATH)


def _registry_key_name(ev: Event) -> str | None:
    path = _registry_path(ev)
    if path is None:
        return None
    if A.event_name(ev) == "RegSetValue":
        path = WINDOWS.dir(path)
    return WINDOWS.base(path)


_add("registry.path", "str", "params", _registry_path, _KEY_PATH)
_add("registry.key.name", "str", "params", _registry_key_name, _KEY_PATH)
_p("str", _G, ("key_handle",), "registry.key.handle", A.param_hex)
_p("any", _G, ("value",), "registry.value", A.param_raw)
_p("str", _G, ("value_type", "type"), "registry.value.type", A.param_symbol, R.REG_VALUE_TYPE)
_p("str", _G, ("status",), "registry.status", A.param_status)

# --------------------------------------------------------------------------- net.*
_N = "net"
_p("ip", _N, ("dip",), "net.dip", A.param_ip)
_p("ip", _N, ("sip",), "net.sip", A.param_ip)
_p("int", _N, ("dport",), "net.dport", A.param_num)
_p("int", _N, ("sport",), "net.sport", A.param_num)
_p("str", _N, ("dport_name",), "net.dport.name", A.param_text)
_p("str", _N, ("sport_name",), "net.sport.name", A.param_text)
_p("str", _N, ("l4_proto",), "net.l4.proto", A.param_symbol, R.L4_PROTO)
_p("int", _N, ("size",), "net.size", A.param_num)
# Resolved live by upstream, but 2022-era writers stored the names as parameters.
_p("strs", _N, ("dip_names",), "net.dip.names", A.param_strings)
_p("strs", _N, ("sip_names",), "net.sip.names", A.param_strings)

# --------------------------------------------------------------------------- handle.*
_H = "handle"
_p("int", _H, ("handle_id",), "handle.id", A.param_num)
_p("int", _H, ("handle_object",), "handle.object", A.param_num)
_p("str", _H, ("handle_name",), "handle.name", A.param_text)
_p("str", _H, ("type_id", "handle_type", "type"), "handle.type", A.param_text)

# --------------------------------------------------------------------------- mem.*
_M = "mem"
_p("int", _M, ("base_address",), "mem.address", A.param_num)
_p("int", _M, ("region_size",), "mem.size", A.param_num)
_p("str", _M, ("alloc_type",), "mem.alloc", A.param_symbol, R.MEM_ALLOC)
_p("str", _M, ("page_type",), "mem.type", A.param_symbol, R.MEM_PAGE_TYPE)
_p("str", _M, ("protection",), "mem.protection", A.param_symbol, R.MEM_PROTECTION)
_p("str", _M, ("protection_mask",), "mem.protection.mask", A.param_text)

# --------------------------------------------------------------------------- dns.*
_DNS_EVENTS = frozenset({"QueryDns", "ReplyDns", "ReplyDNS", "QueryDNS"})


def _dns(getter: Callable[[Event], Any]) -> Callable[[Event], Any]:
    def get(ev: Event) -> Any:
        return getter(ev) if A.canonical_type_name(ev) in _DNS_EVENTS else None

    return get


_add("dns.name", "str", "params", _dns(A.param_text(None, "name")), ("name",))
_add("dns.rr", "str", "params", _dns(A.param_symbol(None, R.DNS_RR, "rr")), ("rr",))
_add(
    "dns.options",
    "strs",
    "params",
    _dns(A.param_flag_names(None, R.DNS_OPTIONS, "options")),
    ("options",),
)
_add("dns.rcode", "str", "params", _dns(A.param_symbol(None, R.DNS_RCODE, "rcode")), ("rcode",))
_add("dns.answers", "strs", "params", _dns(A.param_strings(None, "answers")), ("answers",))

# --------------------------------------------------------------------------- pe.*


def _resource(key: str) -> Callable[[Any], Any]:
    return lambda pe: pe.resource(key)


def _cert(attr: str) -> Callable[[Any], Any]:
    return lambda pe: None if pe.cert is None else getattr(pe.cert, attr)


for _name, _kind, _get in (
    ("pe.nsections", "int", lambda pe: pe.nsections),
    ("pe.nsymbols", "int", lambda pe: pe.nsymbols),
    ("pe.address.base", "str", lambda pe: pe.image_base),
    ("pe.address.entrypoint", "str", lambda pe: pe.entrypoint),
    ("pe.symbols", "strs", lambda pe: list(pe.symbols)),
    ("pe.imports", "strs", lambda pe: list(pe.imports)),
    ("pe.company", "str", _resource("CompanyName")),
    ("pe.copyright", "str", _resource("LegalCopyright")),
    ("pe.description", "str", _resource("FileDescription")),
    ("pe.file.name", "str", _resource("OriginalFilename")),
    ("pe.file.version", "str", _resource("FileVersion")),
    ("pe.product", "str", _resource("ProductName")),
    ("pe.product.version", "str", _resource("ProductVersion")),
    ("pe.imphash", "str", lambda pe: pe.imphash),
    ("pe.is_dotnet", "bool", lambda pe: pe.is_dotnet),
    ("pe.anomalies", "strs", lambda pe: list(pe.anomalies)),
    ("pe.is_signed", "bool", lambda pe: pe.is_signed),
    ("pe.is_trusted", "bool", lambda pe: pe.is_trusted),
    ("pe.cert.issuer", "str", _cert("issuer")),
    ("pe.cert.subject", "str", _cert("subject")),
    ("pe.cert.serial", "str", _cert("serial")),
    ("pe.cert.before", "time", _cert("not_before")),
    ("pe.cert.after", "time", _cert("not_after")),
):
    _add(_name, _kind, "state", A.pe_field(_get))
for _flag in ("is_dll", "is_driver", "is_exec"):
    _add(f"pe.{_flag}", "bool", "params", A.param_bool(None, _flag), (_flag,))
_unavailable(
    "pe.is_modified", "bool", "it compares the image on the live host's disk with process memory"
)
_unavailable("pe.sections", "strs", "it has no value of its own; use pe.sections[NAME].entropy")
_unavailable("pe.resources", "strs", "it has no value of its own; use pe.resources[KEY]")

# --------------------------------------------------------------------------- current upstream names

register_head_fields(FIELDS)

# --------------------------------------------------------------------------- lookup


def canonical(spelling: str) -> str:
    """``evt.`` (later upstream releases) is the same namespace as ``kevt.``."""
    return "kevt." + spelling[4:] if spelling.startswith("evt.") else spelling


def resolve(spelling: str) -> str | None:
    name = canonical(spelling)
    if name in FIELDS:
        return name
    spec = indexed_spec(name)
    if spec is not None:
        _INDEXED_CACHE[name] = spec
        return name
    return None


_INDEXED_CACHE: dict[str, FieldSpec] = {}


def spec_of(name: str) -> FieldSpec:
    spec = FIELDS.get(name) or _INDEXED_CACHE.get(name) or indexed_spec(name)
    if spec is None:
        raise KeyError(name)
    return spec


def suggestions(spelling: str, limit: int = 3) -> list[str]:
    name = canonical(spelling)
    pool = list(FIELDS)
    found = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    prefix = name.split("[", 1)[0]
    for template in INDEXED_TEMPLATES:
        if template.split("[", 1)[0] == prefix and template not in found:
            found.insert(0, template)
    return found[:limit]


def unknown_field_hint(spelling: str) -> str:
    near = suggestions(spelling)
    if "." not in spelling and "[" not in spelling:
        msg = f"{spelling!r} is neither a field nor a function call (a call needs '(' right after "
        msg += "the name)"
        return msg + (f"; did you mean {', '.join(near)}?" if near else "")
    msg = f"unknown field {spelling!r}"
    return msg + (f"; did you mean {', '.join(near)}?" if near else "; see `kcap fields`")
