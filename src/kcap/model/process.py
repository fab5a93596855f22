"""Process state: processes, their threads, modules and handles, and PE metadata.

Plain data. A `Process` is what the process snapshotter keeps per pid and what an event's
process section carries; which fields a capture can fill is described in docs/state.md.
Lists of pairs (environment, version resources) keep stored order and duplicates, because a
read-then-write round trip must give back the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kcap.model.records import Handle, Module, Thread
from kcap.model.timestamp import ZERO, Timestamp

__all__ = [
    "PE",
    "STORED_PROCESS_FIELDS",
    "AlpcInfo",
    "Certificate",
    "FileInfo",
    "Handle",
    "HandleMeta",
    "Module",
    "MutantInfo",
    "PESection",
    "Process",
    "Thread",
    "UnknownInfo",
    "split_cmdline",
]

# --------------------------------------------------------------------------- handles


@dataclass(slots=True)
class AlpcInfo:
    """Handle metadata tag 1."""

    flags: int = 0
    seqno: int = 0
    context: int = 0


@dataclass(slots=True)
class MutantInfo:
    """Handle metadata tag 2 (``count`` is signed)."""

    count: int = 0
    abandoned: bool = False


@dataclass(slots=True)
class FileInfo:
    """Handle metadata tag 3."""

    is_directory: bool = False


@dataclass(slots=True)
class UnknownInfo:
    """Handle metadata tag 4: the writer had metadata of a type it does not encode."""


HandleMeta = AlpcInfo | MutantInfo | FileInfo | UnknownInfo | None


# --------------------------------------------------------------------------- PE


@dataclass(slots=True)
class PESection:
    size: int = 0
    entropy: float = 0.0
    name: str = ""
    md5: str = ""


@dataclass(slots=True)
class Certificate:
    not_before: Timestamp = ZERO
    not_after: Timestamp = ZERO
    serial: str = ""
    subject: str = ""
    issuer: str = ""


@dataclass(slots=True)
class PE:
    """PE metadata of a process image (PE body V1/V2)."""

    nsections: int = 0
    nsymbols: int = 0
    image_base: str = ""
    entrypoint: str = ""
    link_time: Timestamp = ZERO
    sections: list[PESection] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    version_resources: list[tuple[str, str]] = field(default_factory=list)
    # V2 only; a V1 body reads as all defaults
    is_signed: bool = False
    is_trusted: bool = False
    cert: Certificate | None = None
    is_driver: bool = False
    is_dll: bool = False
    is_executable: bool = False
    is_dotnet: bool = False
    imphash: str = ""
    anomalies: list[str] = field(default_factory=list)

    def resource(self, key: str) -> str | None:
        """The last version resource named ``key`` (upstream keeps the last duplicate)."""
        found = None
        for k, v in self.version_resources:
            if k == key:
                found = v
        return found


# --------------------------------------------------------------------------- process


@dataclass(slots=True, eq=False)
class Process:
    """State of one process.

    ``parent`` is a reference fixed when the snapshotter registered the process (see
    docs/state.md); ``threads`` and ``modules`` are rebuilt from thread and image events
    during replay and are never stored in a capture.
    """

    pid: int = 0
    ppid: int = 0
    name: str = ""
    cmdline: str = ""
    exe: str = ""
    cwd: str = ""
    sid: str = ""
    args: list[str] = field(default_factory=list)
    session_id: int = 0
    envs: list[tuple[str, str]] = field(default_factory=list)
    handles: list[Handle] = field(default_factory=list)
    pe: PE | None = None
    start_time: Timestamp = ZERO
    uuid: int = 0
    username: str = ""
    domain: str = ""
    is_wow64: bool = False
    is_packaged: bool = False
    is_protected: bool = False
    threads: dict[int, Thread] = field(default_factory=dict)
    modules: list[Module] = field(default_factory=list)
    parent: Process | None = None

    def env(self, name: str) -> str | None:
        """The value of environment variable ``name`` (the last one when repeated)."""
        found = None
        for k, v in self.envs:
            if k == name:
                found = v
        return found

    def same_body(self, other: Process) -> bool:
        """True when the parts a process section stores are equal (not threads/modules/parent)."""
        return all(getattr(self, f) == getattr(other, f) for f in STORED_PROCESS_FIELDS)

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, ppid={self.ppid}, name={self.name!r})"


STORED_PROCESS_FIELDS = (
    "pid",
    "ppid",
    "name",
    "cmdline",
    "exe",
    "cwd",
    "sid",
    "args",
    "session_id",
    "envs",
    "handles",
    "pe",
    "start_time",
    "uuid",
    "username",
    "domain",
    "is_wow64",
    "is_packaged",
    "is_protected",
)


def split_cmdline(cmdline: str) -> list[str]:
    """Split a command line into arguments the way upstream does (docs/state.md).

    A ``"`` followed by at least one non-quote character and a closing ``"`` starts a token that
    runs to the closing quote (quotes kept) plus any non-space characters right after it;
    otherwise a token is a run of non-space characters.
    """
    out: list[str] = []
    i, n = 0, len(cmdline)
    while i < n:
        while i < n and cmdline[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        if cmdline[i] == '"':
            close = cmdline.find('"', i + 1)
            if close > i + 1:
                i = close + 1
                while i < n and not cmdline[i].isspace():
                    i += 1
                out.append(cmdline[start:i])
                continue
        while i < n and not cmdline[i].isspace():
            i += 1
        out.append(cmdline[start:i])
    return out
