"""Text rendering of parameter values, as the "rendered" fields see them (docs/filter.md,
"Fields").

Addresses become lower-case hexadecimal without ``0x``; enumerations their symbolic name; flag
sets the symbolic names joined by ``|``; NT status codes ``Success`` or a message. The symbolic
tables are the documented Windows constants for each parameter. A value that a table does not
know renders as decimal (enumerations) or ``0x``-hex (flags) rather than upstream's empty string,
so nothing silently disappears. Values that older writers stored as plain text (``open``,
``file``) are mapped onto the same symbol case-insensitively, so one filter means the same on
captures of every generation.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kcap.model.params import Param, ParamType
from kcap.model.timestamp import Timestamp


def _int_text(text: str) -> int | None:
    t = text.strip().lower()
    try:
        return int(t, 16) if t.startswith("0x") else None
    except ValueError:
        return None


class Symbols:
    """A table of symbolic names for an enumeration or a flag set."""

    __slots__ = ("by_fold", "by_value", "flags", "full")

    def __init__(self, pairs: dict[int, str], *, flags: bool = False, full: int = 0) -> None:
        self.by_value = pairs
        self.by_fold = {name.casefold(): name for name in pairs.values()}
        self.flags = flags
        self.full = full  # a value that renders as one name (e.g. ALL_ACCESS)

    def render(self, value: Any) -> str:
        if isinstance(value, str):
            number = _int_text(value) if self.flags else None
            return self._canonical(value) if number is None else self.render(number)
        if isinstance(value, list):  # 2020-era writers stored some flag sets as name lists
            return "|".join(self._canonical(str(v)) for v in value)
        if isinstance(value, bool) or not isinstance(value, int):
            return "" if value is None else str(value)
        if not self.flags:
            return self.by_value.get(value, str(value))
        if self.full and value == self.full and value in self.by_value:
            return self.by_value[value]
        names: list[str] = []
        rest = value
        for bit, name in self.by_value.items():
            if bit and bit != self.full and value & bit == bit:
                names.append(name)
                rest &= ~bit
        if rest:
            names.append(hex(rest))
        if not names:
            return self.by_value.get(0, "0x0")
        return "|".join(names)

    def _canonical(self, text: str) -> str:
        if text.startswith("REG_") and text[4:].casefold() in self.by_fold:
            text = text[4:]
        if self.flags and "|" in text:
            return "|".join(self.by_fold.get(part.casefold(), part) for part in text.split("|"))
        return self.by_fold.get(text.casefold(), text)


_STANDARD_RIGHTS = {
    0x10000: "DELETE",
    0x20000: "READ_CONTROL",
    0x40000: "WRITE_DAC",
    0x80000: "WRITE_OWNER",
    0x100000: "SYNCHRONIZE",
}

PROCESS_ACCESS = Symbols(
    {
        0x1FFFFF: "ALL_ACCESS",
        0x1: "TERMINATE",
        0x2: "CREATE_THREAD",
        0x4: "SET_SESSIONID",
        0x8: "VM_OPERATION",
        0x10: "VM_READ",
        0x20: "VM_WRITE",
        0x40: "DUP_HANDLE",
        0x80: "CREATE_PROCESS",
        0x100: "SET_QUOTA",
        0x200: "SET_INFORMATION",
        0x400: "QUERY_INFORMATION",
        0x800: "SUSPEND_RESUME",
        0x1000: "QUERY_LIMITED_INFORMATION",
        0x2000: "SET_LIMITED_INFORMATION",
        **_STANDARD_RIGHTS,
    },
    flags=True,
    full=0x1FFFFF,
)
THREAD_ACCESS = Symbols(
    {
        0x1FFFFF: "ALL_ACCESS",
        0x1: "TERMINATE",
        0x2: "SUSPEND_RESUME",
        0x4: "ALERT",
        0x8: "GET_CONTEXT",
        0x10: "SET_CONTEXT",
        0x20: "SET_INFORMATION",
        0x40: "QUERY_INFORMATION",
        0x80: "SET_THREAD_TOKEN",
        0x100: "IMPERSONATE",
        0x200: "DIRECT_IMPERSONATION",
        0x400: "SET_LIMITED_INFORMATION",
        0x800: "QUERY_LIMITED_INFORMATION",
        0x1000: "RESUME",
        **_STANDARD_RIGHTS,
    },
    flags=True,
    full=0x1FFFFF,
)
CREATE_DISPOSITION = Symbols(
    {0: "SUPERSEDE", 1: "OPEN", 2: "CREATE", 3: "OPEN_IF", 4: "OVERWRITE", 5: "OVERWRITE_IF"}
)
SHARE_MASK = Symbols({0: "NONE", 1: "READ", 2: "WRITE", 4: "DELETE"}, flags=True)
FILE_TYPE = Symbols(
    {0: "File", 1: "Directory", 2: "Pipe", 3: "Console", 4: "Mailslot", 5: "Other", 6: "Unknown"}
)
FILE_ATTRIBUTES = Symbols(
    {
        0x1: "READONLY",
        0x2: "HIDDEN",
        0x4: "SYSTEM",
        0x10: "DIRECTORY",
        0x20: "ARCHIVE",
        0x40: "DEVICE",
        0x80: "NORMAL",
        0x100: "TEMPORARY",
        0x200: "SPARSE_FILE",
        0x400: "REPARSE_POINT",
        0x800: "COMPRESSED",
        0x1000: "OFFLINE",
        0x2000: "NOT_CONTENT_INDEXED",
        0x4000: "ENCRYPTED",
        0x8000: "INTEGRITY_STREAM",
        0x10000: "VIRTUAL",
        0x20000: "NO_SCRUB_DATA",
        0x40000: "RECALL_ON_OPEN",
        0x80000: "PINNED",
        0x100000: "UNPINNED",
        0x400000: "RECALL_ON_DATA_ACCESS",
    },
    flags=True,
)
FILE_INFO_CLASS = Symbols(
    {
        4: "Basic",
        10: "Rename",
        11: "Link",
        13: "Disposition",
        14: "Position",
        19: "Allocation",
        20: "EOF",
        64: "DispositionEx",
        65: "RenameEx",
        72: "LinkEx",
    }
)
MEM_ALLOC = Symbols(
    {
        0x1000: "COMMIT",
        0x2000: "RESERVE",
        0x4000: "DECOMMIT",
        0x8000: "RELEASE",
        0x80000: "RESET",
        0x100000: "TOP_DOWN",
        0x200000: "WRITE_WATCH",
        0x400000: "PHYSICAL",
        0x1000000: "RESET_UNDO",
        0x20000000: "LARGE_PAGES",
    },
    flags=True,
)
MEM_PROTECTION = Symbols(
    {
        0x1: "NOACCESS",
        0x2: "READONLY",
        0x4: "READWRITE",
        0x8: "WRITECOPY",
        0x10: "EXECUTE",
        0x20: "EXECUTE_READ",
        0x40: "EXECUTE_READWRITE",
        0x80: "EXECUTE_WRITECOPY",
        0x100: "GUARD",
        0x200: "NOCACHE",
        0x400: "WRITECOMBINE",
    },
    flags=True,
)
MEM_PAGE_TYPE = Symbols({0x1000000: "IMAGE", 0x40000: "MAPPED", 0x20000: "PRIVATE"})
SECTION_TYPE = Symbols(
    {0x1000000: "IMAGE", 0x11000000: "IMAGE_NO_EXECUTE", 0x8000000: "COMMIT", 0x800000: "FILE"}
)
DNS_RR = Symbols(
    {
        1: "A",
        2: "NS",
        5: "CNAME",
        6: "SOA",
        12: "PTR",
        13: "HINFO",
        15: "MX",
        16: "TXT",
        28: "AAAA",
        33: "SRV",
        35: "NAPTR",
        39: "DNAME",
        41: "OPT",
        43: "DS",
        46: "RRSIG",
        47: "NSEC",
        48: "DNSKEY",
        64: "SVCB",
        65: "HTTPS",
        255: "ANY",
    }
)
DNS_RCODE = Symbols(
    {
        0: "NOERROR",
        1: "FORMERR",
        2: "SERVFAIL",
        3: "NXDOMAIN",
        4: "NOTIMP",
        5: "REFUSED",
        6: "YXDOMAIN",
        7: "YXRRSET",
        8: "NXRRSET",
        9: "NOTAUTH",
        10: "NOTZONE",
    }
)
DNS_OPTIONS = Symbols(
    {
        0x0: "STANDARD",
        0x1: "ACCEPT_TRUNCATED_RESPONSE",
        0x2: "USE_TCP_ONLY",
        0x4: "NO_RECURSION",
        0x8: "BYPASS_CACHE",
        0x10: "NO_WIRE_QUERY",
        0x20: "NO_LOCAL_NAME",
        0x40: "NO_HOSTS_FILE",
        0x80: "NO_NETBT",
        0x100: "WIRE_ONLY",
        0x200: "RETURN_MESSAGE",
        0x400: "MULTICAST_ONLY",
        0x800: "NO_MULTICAST",
        0x1000: "TREAT_AS_FQDN",
        0x2000: "ADDRCONFIG",
        0x4000: "DUAL_ADDR",
        0x20000: "MULTICAST_WAIT",
        0x40000: "MULTICAST_VERIFY",
        0x100000: "DONT_RESET_TTL_VALUES",
        0x200000: "DISABLE_IDN_ENCODING",
        0x800000: "APPEND_MULTILABEL",
    },
    flags=True,
)
# 2020-era writers stored the protocol as a 1-byte enum (1 TCP, 2 UDP, as the 2022 live capture
# shows: port 443 traffic is 1, DNS and NTP are 2); later ones the IANA protocol number.
L4_PROTO = Symbols({1: "TCP", 2: "UDP", 6: "TCP", 17: "UDP"})
SIGNATURE_TYPE = Symbols(
    dict(
        enumerate(
            (
                "NONE",
                "EMBEDDED",
                "CACHED",
                "CATALOG_CACHED",
                "CATALOG_UNCACHED",
                "CATALOG_HINT",
                "PACKAGE_CATALOG",
                "FILE_VERIFIED",
            )
        )
    )
)
SIGNATURE_LEVEL = Symbols(
    dict(
        enumerate(
            (
                "UNCHECKED",
                "UNSIGNED",
                "ENTERPRISE",
                "DEVELOPER",
                "AUTHENTICODE",
                "STORE_PPL",
                "STORE",
                "ANTIMALWARE",
                "MICROSOFT",
                "CUSTOM_4",
                "CUSTOM_5",
                "DYNAMIC_CODEGEN",
                "WINDOWS",
                "CUSTOM_7",
                "WINDOWS_TCB",
                "CUSTOM_6",
            )
        )
    )
)
REG_VALUE_TYPE = Symbols(
    {
        0: "NONE",
        1: "SZ",
        2: "EXPAND_SZ",
        3: "BINARY",
        4: "DWORD",
        5: "DWORD_BIG_ENDIAN",
        6: "LINK",
        7: "MULTI_SZ",
        8: "RESOURCE_LIST",
        9: "FULL_RESOURCE_DESCRIPTOR",
        10: "RESOURCE_REQUIREMENTS_LIST",
        11: "QWORD",
    }
)

# Windows messages for the failure codes captures commonly hold; any other failure renders as
# "NTSTATUS 0x........" (upstream asks the live Windows message table, which Linux lacks).
_STATUS_TEXT = {
    0xC0000001: "A device attached to the system is not functioning",
    0xC0000008: "The handle is invalid",
    0xC000000D: "The parameter is incorrect",
    0xC000000F: "The system cannot find the file specified",
    0xC0000022: "Access is denied",
    0xC0000023: "The data area passed to a system call is too small",
    0xC0000034: "The system cannot find the file specified",
    0xC0000035: "Cannot create a file when that file already exists",
    0xC000003A: "The system cannot find the path specified",
    0xC0000043: "The process cannot access the file because it is being used by another process",
    0xC0000056: "Access is denied",
    0xC00000BA: "Access is denied",
    0xC00000BB: "The request is not supported",
    0x80000005: "More data is available",
    0x80000006: "There are no more files",
    0x8000001A: "No more data is available",
}


def status_text(value: Any) -> str:
    """``Success`` for every success/informational NT status, otherwise its message."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    code = value & 0xFFFFFFFF
    if code < 0x80000000:
        return "Success"
    return _STATUS_TEXT.get(code, f"NTSTATUS 0x{code:08X}")


def hex_text(value: Any) -> str:
    """An address as lower-case hex without ``0x`` (text stored by old writers is kept)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return format(value & 0xFFFFFFFFFFFFFFFF if value < 0 else value, "x")
    if isinstance(value, str):
        return value.lower().removeprefix("0x")
    return "" if value is None else str(value)


def sid_text(value: Any, *, wbem: bool = False) -> str:
    """A binary SID (or the token block + SID of a wbem sid) in ``S-1-...`` form."""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes | bytearray) or not value:
        return ""
    data = bytes(value)
    if wbem:
        # The token block before the SID is 16 bytes on 64-bit Windows, 8 on 32-bit.
        for skip in (16, 8):
            text = _sid_from(data[skip:])
            if text:
                return text
        return ""
    return _sid_from(data)


def _sid_from(data: bytes) -> str:
    if len(data) < 8 or data[0] != 1:
        return ""
    count = data[1]
    if len(data) < 8 + 4 * count:
        return ""
    authority = int.from_bytes(data[2:8], "big")
    subs = [str(int.from_bytes(data[8 + 4 * k : 12 + 4 * k], "little")) for k in range(count)]
    return "-".join(["S", "1", str(authority), *subs])


def param_text(p: Param) -> str:
    """Generic text of a parameter whose name has no dedicated rendering (``kevt.arg[...]``)."""
    t, v = p.type, p.value
    if isinstance(v, str):
        return v
    if t in (
        ParamType.ADDRESS,
        ParamType.HEX_INT8,
        ParamType.HEX_INT16,
        ParamType.HEX_INT32,
        ParamType.HEX_INT64,
    ):
        return hex_text(v)
    if t is ParamType.STATUS:
        return status_text(v)
    if t in (ParamType.SID, ParamType.WBEM_SID):
        return sid_text(v, wbem=t is ParamType.WBEM_SID)
    if t in (ParamType.ENUM, ParamType.FLAGS, ParamType.FLAGS64):
        table = NAMED_SYMBOLS.get(p.name)
        if table is not None:
            return table.render(v)
        return hex(v) if t is not ParamType.ENUM else str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6f}"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(v)
    if isinstance(v, Timestamp):
        return v.text
    if isinstance(v, list):
        if p.elem == "8" or (v and isinstance(v[0], int)):
            return "[" + " ".join(str(x) for x in v) + "]"
        return ",".join(str(x) for x in v)
    if isinstance(v, bytes | bytearray):
        return bytes(v).decode("utf-8", "surrogateescape")
    return "" if v is None else str(v)


#: Symbol tables by parameter name, for generic rendering (``kevt.arg[...]``).
NAMED_SYMBOLS: dict[str, Symbols] = {
    "create_disposition": CREATE_DISPOSITION,
    "operation": CREATE_DISPOSITION,
    "share_mask": SHARE_MASK,
    "attributes": FILE_ATTRIBUTES,
    "file_attributes": FILE_ATTRIBUTES,
    "class": FILE_INFO_CLASS,
    "alloc_type": MEM_ALLOC,
    "protection": MEM_PROTECTION,
    "page_type": MEM_PAGE_TYPE,
    "section_type": SECTION_TYPE,
    "rr": DNS_RR,
    "rcode": DNS_RCODE,
    "options": DNS_OPTIONS,
    "l4_proto": L4_PROTO,
    "signature_type": SIGNATURE_TYPE,
    "signature_level": SIGNATURE_LEVEL,
    "value_type": REG_VALUE_TYPE,
}
