"""Field names of upstream's current language (the one its detection rules are written in).

Registered in the same field table as every other field, so replay filters may use them too:
``module.*``/``dll.*`` (the current names of ``image.*``), ``ps.pe.*`` (of ``pe.*``),
``registry.data``, ``*.path.stem``, ``ps.ancestor``, ``thread.start_address.symbol``,
``file.share_mode``, the pseudo fields ``foreach`` iterates (``ps._modules`` ...), and the
fields no capture can hold (call stacks, signature verification, token integrity, live
memory), which filters reject and rules report as *needs* (docs/rules.md, "Needs").

`HEAD_OVERRIDES` holds the few names whose meaning changed upstream: rule conditions read
them with the current meaning (`kcap.filter.dialect`), replay filters with the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcap.filter import accessors as A
from kcap.filter import render as R
from kcap.filter.paths import WINDOWS, PathRules
from kcap.filter.spec import FieldSpec
from kcap.model.event import Event

Getter = Callable[[Event], Any]

#: field -> (type, description, example): shown by `kcap fields`.
HEAD_DOCS: dict[str, tuple[str, str, str]] = {}
#: Current meanings of names whose meaning changed; used by rule conditions only.
HEAD_OVERRIDES: dict[str, FieldSpec] = {}

_MODULE_CATEGORIES = ("image", "module")
_MODULE_PATH = ("file_path", "file_name", "image_name")


def _stem(rules: PathRules, path: str) -> str:
    """The path without the last extension of its base name."""
    ext = rules.ext(path)
    return path[: len(path) - len(ext)] if ext and rules.base(path) != ext else path


def _register(
    fields: dict[str, FieldSpec],
    name: str,
    kind: str,
    cost: str,
    getter: Getter | None,
    params: tuple[str, ...] = (),
    doc: tuple[str, str] | None = None,
    unavailable: str | None = None,
) -> None:
    fields[name] = FieldSpec(name, kind, cost, getter, unavailable, params)
    if doc is not None:
        words = {"str": "string", "int": "integer", "strs": "list<string>"}
        HEAD_DOCS[name] = (
            words.get(doc[0], doc[0]),
            doc[1],
            "" if unavailable else _example(name, kind),
        )


def _example(name: str, kind: str) -> str:
    if kind == "str":
        return f"{name} = ''"
    if kind == "int":
        return f"{name} > 0"
    if kind == "bool":
        return f"{name} = true"
    if kind == "strs":
        return f"{name} in ('x')"
    return ""


def _value_name(ev: Event) -> str | None:
    """The value a RegSetValue/RegQueryValue/RegDeleteValue names: its key path's last part."""
    if ev.category != "registry":
        return None
    if not A.event_name(ev).endswith(("SetValue", "QueryValue", "DeleteValue")):
        return ""
    path = ev.params.value("key_path", ev.params.value("key_name"))
    return WINDOWS.base(path) if isinstance(path, str) and path else ""


def _registry_data(ev: Event) -> str | None:
    if ev.category != "registry":
        return None
    p = ev.params.get("data") or ev.params.get("value")
    return "" if p is None else R.param_text(p)


def _start_symbol(ev: Event) -> str | None:
    if ev.category != "thread":
        return None
    v = ev.params.value("start_address_symbol")
    return v if isinstance(v, str) else ""


#: 0x2 is spelled SUSPEND_THREAD in current upstream (rules test for it by that name).
THREAD_ACCESS_HEAD = R.Symbols(
    {**R.THREAD_ACCESS.by_value, 0x2: "SUSPEND_THREAD"}, flags=True, full=0x1FFFFF
)

#: What a field no capture holds needs (the first matching prefix wins).
_NEEDS = (
    ("thread._callstack", "call stacks"),
    ("thread.callstack", "call stacks"),
    ("kevt.is_direct_syscall", "call stacks (upstream's evasion scanner)"),
    ("kevt.is_indirect_syscall", "call stacks (upstream's evasion scanner)"),
    ("ps._mmaps", "live process memory"),
    ("ps.token.", "process token information"),
    ("ps.parent.token.", "process token information"),
    ("ps.signature.", "signature verification"),
    ("module.signature.", "signature verification"),
    ("dll.signature.", "signature verification"),
    ("module.pe.", "the module's file on the live host's disk"),
    ("dll.pe.", "the module's file on the live host's disk"),
)


def need_of(name: str, reason: str | None) -> str:
    """A short phrase for "not evaluable on this capture: needs X"."""
    for prefix, need in _NEEDS:
        if name.startswith(prefix):
            return need
    return reason or "data captures do not hold"


def register(fields: dict[str, FieldSpec]) -> None:
    """Add the current upstream names to ``fields`` (the one field table, kcap.filter.fields)."""
    module_fields: list[tuple[str, str, Getter, tuple[str, ...], str]] = [
        (
            "path",
            "str",
            A.param_text(_MODULE_CATEGORIES, *_MODULE_PATH),
            _MODULE_PATH,
            "full path of the module",
        ),
        (
            "name",
            "str",
            A.param_path_part(_MODULE_CATEGORIES, PathRules.base, *_MODULE_PATH),
            _MODULE_PATH,
            "base name of the module",
        ),
        (
            "path.stem",
            "str",
            A.param_path_part(_MODULE_CATEGORIES, _stem, *_MODULE_PATH),
            _MODULE_PATH,
            "module path without its extension",
        ),
        (
            "base",
            "str",
            A.param_hex(_MODULE_CATEGORIES, "base_address", "image_base"),
            ("base_address", "image_base"),
            "address the module is loaded at",
        ),
        (
            "size",
            "int",
            A.param_num(_MODULE_CATEGORIES, "module_size", "image_size"),
            ("module_size", "image_size"),
            "size of the module in memory",
        ),
        (
            "checksum",
            "int",
            A.param_num(_MODULE_CATEGORIES, "checksum"),
            ("checksum",),
            "PE checksum",
        ),
        (
            "pid",
            "int",
            A.param_num(_MODULE_CATEGORIES, "pid"),
            ("pid",),
            "process that loaded the module",
        ),
        (
            "signature.type",
            "str",
            A.param_symbol(_MODULE_CATEGORIES, R.SIGNATURE_TYPE, "signature_type"),
            ("signature_type",),
            "signature type the kernel recorded",
        ),
        (
            "signature.level",
            "str",
            A.param_symbol(_MODULE_CATEGORIES, R.SIGNATURE_LEVEL, "signature_level"),
            ("signature_level",),
            "signature level the kernel recorded",
        ),
        (
            "is_dll",
            "bool",
            A.param_bool(_MODULE_CATEGORIES, "is_dll"),
            ("is_dll",),
            "the module is a DLL",
        ),
        (
            "is_exec",
            "bool",
            A.param_bool(_MODULE_CATEGORIES, "is_exec"),
            ("is_exec",),
            "an executable",
        ),
        (
            "is_driver",
            "bool",
            A.param_bool(_MODULE_CATEGORIES, "is_driver"),
            ("is_driver",),
            "a driver",
        ),
    ]
    for ns in ("module", "dll"):
        for attr, kind, getter, params, desc in module_fields:
            _register(fields, f"{ns}.{attr}", kind, "params", getter, params, (kind, desc))
        for attr in ("exists", "trusted", "issuer", "subject"):
            kind = "bool" if attr in ("exists", "trusted") else "str"
            _register(
                fields,
                f"{ns}.signature.{attr}",
                kind,
                "params",
                None,
                doc=(kind, f"signature {attr} of the module, verified on the live host"),
                unavailable="it verifies the module's signature on the live host",
            )
        _register(
            fields,
            f"{ns}.pe.is_dotnet",
            "bool",
            "params",
            None,
            doc=("bool", "the module is a .NET assembly"),
            unavailable="it parses the module's file on the live host's disk",
        )

    _register(
        fields,
        "file.path.stem",
        "str",
        "params",
        A.param_path_part("file", _stem, "file_path", "file_name"),
        ("file_path", "file_name"),
        ("string", "file path without its extension"),
    )
    fields["file.share_mode"] = FieldSpec(
        "file.share_mode", "str", "params", fields["file.share.mask"].getter, None, ("share_mask",)
    )
    _register(
        fields,
        "registry.data",
        "str",
        "params",
        _registry_data,
        ("data", "value"),
        ("string", "data a registry value was set to, as text (DWORD 1 is '1')"),
    )
    _register(
        fields,
        "thread.start_address.symbol",
        "str",
        "params",
        _start_symbol,
        ("start_address_symbol",),
        ("string", "symbol at the thread's start address, when the capture holds it"),
    )
    _register(
        fields,
        "ps.ancestor",
        "strs",
        "state",
        A.ps_attr(lambda p: [a.name for a in A.ancestors(p)]),
        doc=("list<string>", "names of the ancestors, parent first"),
    )
    for attr in ("integrity_level", "is_elevated", "elevation_type"):
        kind = "bool" if attr == "is_elevated" else "str"
        for who in ("ps", "ps.parent"):
            _register(
                fields,
                f"{who}.token.{attr}",
                kind,
                "state",
                None,
                doc=(kind, f"token {attr.replace('_', ' ')} of the process"),
                unavailable="captures do not record process tokens",
            )
    for attr, kind in (
        ("exists", "bool"),
        ("trusted", "bool"),
        ("subject", "str"),
        ("issuer", "str"),
    ):
        _register(
            fields,
            f"ps.signature.{attr}",
            kind,
            "state",
            None,
            doc=(kind, f"signature {attr} of the executable, verified on the live host"),
            unavailable="it verifies the executable's signature on the live host",
        )
    for name in list(fields):
        if name.startswith("pe.") and not name.startswith("pe.ps."):
            spec = fields[name]
            alias = "ps." + name
            fields[alias] = FieldSpec(
                alias, spec.kind, spec.cost, spec.getter, spec.unavailable, spec.params
            )
    for extra in (
        "kernel_summary",
        "final_user_module.signature.exists",
        "final_user_module.signature.trusted",
        "final_user_module.name",
        "final_user_module.path",
    ):
        _register(
            fields,
            f"thread.callstack.{extra}",
            "bool" if extra.endswith(("exists", "trusted")) else "str",
            "params",
            None,
            unavailable="captures do not keep call stacks",
        )
    for flag in ("is_direct_syscall", "is_indirect_syscall"):
        _register(
            fields,
            f"kevt.{flag}",
            "bool",
            "params",
            None,
            unavailable="upstream's evasion scanner reads the live call stack",
        )
    # Pseudo fields that foreach iterates (kcap.filter.bound).
    _register(fields, "ps._ancestors", "items", "state", A.ps_attr(A.ancestors))
    _register(fields, "ps._modules", "items", "state", A.ps_attr(lambda p: list(p.modules)))
    _register(
        fields, "ps._threads", "items", "state", A.ps_attr(lambda p: list(p.threads.values()))
    )
    for name in ("ps.pe._sections", "pe._sections"):
        _register(fields, name, "items", "state", A.pe_field(lambda pe: list(pe.sections)))
    _register(fields, "ps._mmaps", "items", "state", None, unavailable="live process memory")
    _register(fields, "thread._callstack", "items", "params", None, unavailable="call stacks")

    HEAD_OVERRIDES["registry.value"] = FieldSpec(
        "registry.value", "str", "params", _value_name, None, ("key_path", "key_name")
    )
    names = A.param_symbol(None, THREAD_ACCESS_HEAD, "desired_access")
    base = fields["thread.access.mask.names"]

    def thread_access_names(ev: Event) -> list[str] | None:
        if A.event_name(ev) != "OpenThread":
            return None
        stored = ev.params.value("desired_access_names")
        if isinstance(stored, list):
            return ["SUSPEND_THREAD" if x == "SUSPEND_RESUME" else str(x) for x in stored]
        text = names(ev)
        return None if text is None else text.split("|")

    HEAD_OVERRIDES["thread.access.mask.names"] = FieldSpec(
        base.name, base.kind, base.cost, thread_access_names, None, base.params
    )
