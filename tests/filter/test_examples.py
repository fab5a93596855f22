"""Every example of filter.md §8.2, as (expression, fixture event, expected result).

Rows whose upstream result comes from a defect this project fixes (docs/filter.md,
"Differences from upstream") assert the fixed result; the ``note`` says which fix.
"""

from __future__ import annotations

import pytest
from filter_events import EVENTS

from kcap.filter import FilterError, compile

# (row, expression, event, expected, note)
ROWS: list[tuple[str, str, str, bool | None, str]] = [
    ("1", "ps.name = 'svchost.exe'", "P", True, ""),
    ("2", "ps.name = 'svchot.exe'", "P", False, ""),
    ("3", "ps.name = 'mimikatz.exe' or ps.name contains 'svc'", "P", True, ""),
    ("4", "ps.name ~= 'SVCHOST.exe'", "P", True, ""),
    ("5", "ps.cmdline = 'C:\\\\Windows\\\\System32\\\\svchost.exe'", "P", True, ""),
    (
        "6",
        "ps.child.cmdline = 'C:\\\\Windows\\\\system32\\\\svchost-fake.exe -k RPCSS'",
        "P",
        True,
        "",
    ),
    ("7", "ps.pid = 1023", "P", True, ""),
    ("8a", "ps.child.pid = 1234", "P", True, ""),
    ("8b", "ps.sibling.pid = 1234", "P", True, ""),
    ("9", "ps.parent.pid = 5042", "P", True, ""),
    ("10a", "ps.child.username = 'loki'", "P", True, ""),
    ("10b", "ps.child.domain = 'TITAN'", "P", True, ""),
    ("10c", "ps.child.sid = 'S-1-5-18'", "P", True, ""),
    ("11", "ps.envs in ('ALLUSERSPROFILE')", "P", True, ""),
    ("12a", "ps.child.is_wow64", "P", True, ""),
    ("12b", "ps.child.is_packaged", "P", True, ""),
    ("12c", "ps.child.is_protected", "P", True, ""),
    ("13", "ps.is_wow64", "P", False, ""),
    ("14", "ps.is_packaged", "P", True, ""),
    ("15", "ps.parent.is_protected", "P", True, ""),
    ("16", "ps.parent.is_wow64", "P", False, ""),
    ("17", "kevt.name='CreateProcess' and ps.name contains 'svchost'", "P", True, ""),
    ("18", "ps.modules IN ('kernel32.dll')", "P", True, ""),
    ("19", "ps.modules[kernel32.dll].size = 12354", "P", True, ""),
    ("20", "ps.modules[kernel32.dll].address.base = 'fff23fff'", "P", True, ""),
    ("21", "ps.modules[kernel32.dll].location = 'C:\\\\Windows\\\\System32'", "P", True, ""),
    ("22", "ps.modules[xul.dll].size = 12354", "P", False, ""),
    ("23", "kevt.name = 'CreateProcess' and kevt.pid != ps.ppid", "P", True, ""),
    ("24", "ps.ancestor[1].name = 'wininit.exe'", "P", True, ""),
    ("25", "ps.ancestor[2].sid = 'NT AUTHORITY\\\\SYSTEM'", "P", True, ""),
    ("26", "ps.ancestor[root].name = 'System'", "P", True, ""),
    ("27", "ps.ancestor[any].name in ('services.exe', 'System')", "P", True, ""),
    ("28", "ps.ancestor[any].name not in ('svchost.exe')", "P", True, ""),
    ("29", "ps.ancestor[any].name iendswith ('TeM')", "P", True, ""),
    ("30", "ps.ancestor[any].pid in (2034, 343)", "P", True, ""),
    (
        "31",
        "ps.access.mask.names in ('QUERY_INFORMATION', 'QUERY_LIMITED_INFORMATION')",
        "O",
        True,
        "",
    ),
    ("32", "ps.access.mask.names in ('ALL_ACCESS')", "O", False, ""),
    ("33", "file.name = 'user32.dll'", "F", True, ""),
    ("34", "file.extension not contains '.exe'", "F", True, ""),
    (
        "35",
        "file.extension contains '.exe' or (file.extension contains '.dll' and file.name "
        "endswith 'user32.dll')",
        "F",
        True,
        "",
    ),
    ("36", "file.extension not in ('.exe', '.dll')", "F", False, ""),
    ("37", "file.path matches 'C:\\\\*\\\\user32.dll'", "F", True, ""),
    ("38", "file.path imatches 'C:\\\\*\\\\USER32.dll'", "F", True, ""),
    ("39", "file.path not matches ('C:\\\\*.exe', 'C:\\\\Windows\\\\*.com')", "F", True, ""),
    ("40", "file.path iendswith ('.EXE', 'KERNEL32.dll', 'user32.dll')", "F", True, ""),
    ("41", "file.path iin ('C:\\\\WINDOWS\\\\system32\\\\user32.dll')", "F", True, ""),
    ("42", "file.path fuzzy 'C:\\\\Windows\\\\system32\\\\ser3ll'", "F", True, ""),
    ("43", "file.path ifuzzynorm 'C:\\\\WINDOWS\\\\sÝS\\\\32dll'", "F", True, ""),
    ("44", "base(file.path, false) = 'user32'", "F", True, ""),
    ("45", "ext(file.path, false) = 'dll'", "F", True, ""),
    ("46a", "dir(file.path) = 'C:\\\\Windows\\\\system32'", "F", True, ""),
    ("46b", "volume(file.path) = 'C:'", "F", True, ""),
    ("47", "is_abs(base(file.path))", "F", False, ""),
    ("48a", "kevt.nparams = 5", "K", True, ""),
    ("48b", "kevt.arg[pid] = 3434", "K", True, ""),
    (
        "49",
        "kevt.date.d = 3 AND kevt.date.m = 5 AND kevt.time.s = 5 AND kevt.time.m = 4 and "
        "kevt.time.h = 15",
        "K",
        True,
        "",
    ),
    ("50", "kevt.time = '15:04:05'", "K", True, ""),
    ("51", "concat(kevt.name, kevt.host, kevt.nparams) = 'CreateFilearchrabbit5'", "K", True, ""),
    (
        "52",
        "replace(kevt.host, 'rabbit', '_bunny', '_bunny', 'bunny') = 'archbunny'",
        "K",
        True,
        "",
    ),
    ("53", "split(file.path, '\\\\') IN ('windows', 'system32')", "K", True, ""),
    ("54a", "length(file.path) = 51", "K", True, ""),
    ("54b", "indexof(file.path, '\\\\', 'last') = 40", "K", True, ""),
    ("54c", "indexof(file.path, 'h2', 'any') = 22", "K", True, ""),
    (
        "55",
        "substr(file.path, indexof(file.path, '\\\\'), indexof(file.path, '\\\\Hard')) = "
        "'\\\\Device'",
        "K",
        True,
        "",
    ),
    ("56", "entropy(file.path) > 120", "K", True, ""),
    (
        "57",
        "regex(file.path, '\\\\\\\\Device\\\\\\\\HarddiskVolume[2-9]+\\\\\\\\.*')",
        "K",
        True,
        "",
    ),
    ("58", "net.dip = 216.58.201.174", "N", True, ""),
    ("59", "net.dip != 216.58.201.174", "N", False, ""),
    ("60a", "net.dip startswith '216.58'", "N", True, ""),
    ("60b", "net.dip endswith '.174'", "N", True, ""),
    ("61", "net.dport in (123, 443)", "N", True, ""),
    ("62", "net.dip not in ('116.58.201.172', '16.58.201.176')", "N", True, ""),
    (
        "63",
        "ps.name = 'cmd.exe' and not cidr_contains(net.sip, '227.0.0.1/12', '8.2.3.0/4')",
        "N",
        True,
        "",
    ),
    ("64", "cidr_contains(net.dip, '226.58.201.1/24') = false", "N", True, ""),
    ("65", "registry.status startswith ('key not', 'succ')", "R", True, ""),
    ("66", "registry.key.name icontains ('Setup', 'setup')", "R", True, ""),
    ("67", "registry.value = 10234", "R", True, ""),
    ("68", "MD5(registry.path) = 'eab870b2a516206575d2ffa2b98d8af5'", "R", True, ""),
    ("69a", "pe.sections[.text].entropy > 4.45", "E", True, ""),
    ("69b", "pe.sections[.text].size = 132608", "E", True, ""),
    ("70", "pe.resources[FileDesc] = 'Notepad'", "E", True, ""),
    ("71", "pe.nsymbols = 10 AND pe.nsections = 2", "E", True, ""),
    ("72", "pe.address.base = '140000000' AND pe.address.entrypoint = '20110'", "E", True, ""),
    ("73", "mem.alloc = 'COMMIT|RESERVE'", "M", True, ""),
    ("74a", "mem.type = 'IMAGE'", "M", True, ""),
    ("74b", "mem.protection = 'EXECUTE_READWRITE'", "M", True, ""),
    ("74c", "mem.address = 1311246336000", "M", True, ""),
    ("75a", "dns.rr = 'A'", "D", True, ""),
    ("75b", "dns.rcode = 'NOERROR'", "D", True, ""),
    ("76", "dns.options in ('ADDRCONFIG', 'DUAL_ADDR')", "D", True, ""),
    ("77", "file.info.allocation_size = 64500", "I1", True, ""),
    ("78", "file.info.eof_size = 64500", "I2", False, ""),
    ("79", "file.info.is_disposition_delete_file = true", "I3", True, ""),
    ("80", "ps.pid in (1, 2)", "V", True, "fixed: `in` with numbers works on every numeric field"),
    ("81", "ps.pid not in (2)", "V", True, "fixed: `in` with numbers works on every numeric field"),
    (
        "82",
        "ps.name = 'cmd.exe' and not ps.is_packaged",
        "V",
        True,
        "fixed: `not` negates a boolean field",
    ),
    ("83", "ps.name = 'cmd.exe' and not (ps.is_packaged)", "V", True, ""),
    (
        "84a",
        "ps.args icontains 'DI'",
        "V",
        True,
        "fixed: a string right side acts as a one-item list on list fields",
    ),
    ("84b", "ps.args icontains ('DI')", "V", True, ""),
    (
        "85",
        "ps.pid = 1 and not ps.name = 'x' and ps.pid = 2",
        "V",
        False,
        "fixed: standard precedence, `not` binds only `ps.name = 'x'`",
    ),
    ("86", "ps.cwd != 'x'", "V", False, ""),
    (
        "87",
        "net.dip = '216.58.201.174'",
        "V",
        None,
        "fixed: never true (quoted text is not an IP), so a compile error that says why",
    ),
    (
        "88",
        "substr(ps.name, 0, 3) = 'cmd'",
        "V",
        True,
        "fixed: integer literals are valid substr bounds",
    ),
]


@pytest.mark.parametrize(
    ("expr", "event", "expected"),
    [pytest.param(e, ev, exp, id=f"row{row}") for row, e, ev, exp, _ in ROWS],
)
def test_filter_md_examples(expr: str, event: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(FilterError, match="never true"):
            compile(expr)
        return
    assert compile(expr)(EVENTS[event]()) is expected


def test_every_row_of_the_spec_table_is_covered() -> None:
    rows = {int("".join(ch for ch in row if ch.isdigit())) for row, *_ in ROWS}
    assert rows == set(range(1, 89))
