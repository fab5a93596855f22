"""One exception hierarchy for everything kcap raises on purpose.

Every error a user can cause (a damaged file, a bad filter, a missing kernel facility) is a
`KcapError`, so a caller needs a single ``except`` and the CLI can print one line instead of a
traceback. Format errors carry the file name and the byte offset in the decompressed stream so
the message says *where* as well as *what*.
"""

from __future__ import annotations


class KcapError(Exception):
    """Base of every error kcap raises deliberately."""


# --------------------------------------------------------------------------- format errors


class FormatError(KcapError):
    """The bytes of a capture do not follow the format.

    ``offset`` is a byte offset in the *decompressed* kcap stream (None when not known);
    ``path`` the capture file, when there is one.
    """

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None) -> None:
        self.reason = message
        self.path = path
        self.offset = offset
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path:
            where.append(str(self.path))
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{': '.join(where)}: {self.reason}" if where else self.reason

    def located(self, *, path: str | None = None, base: int = 0) -> FormatError:
        """Return the same error with the file name and an absolute offset filled in."""
        err = type(self).__new__(type(self))
        FormatError.__init__(
            err,
            self.reason,
            path=path if path is not None else self.path,
            offset=None if self.offset is None else self.offset + base,
        )
        return err


class OpenError(KcapError):
    """A capture cannot be opened: it does not exist, is a directory, may not be read, or its
    name is too long. ``path`` is the file as named."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class StateWarning(KcapError):
    """An event whose state update could not be applied (a missing or malformed parameter);
    the event itself is kept. Given to a reader's ``on_error``, never raised. The message
    names the event (kind, sequence number, process); ``offset`` is None, as for every error
    not tied to one place in the stream."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        self.offset: int | None = None
        super().__init__(f"{path}: {message}" if path else message)


class BadMagic(FormatError):
    """The file does not start with the kcap magic number (or is not zstd at all)."""


class UnsupportedVersion(FormatError):
    """The header names a format version this kcap does not know."""


class Truncated(FormatError):
    """The stream ends inside a record."""


class Corrupt(FormatError):
    """A record's bytes contradict the format (bad length, unknown type, leftover bytes)."""


class LimitExceeded(FormatError):
    """The input exceeds a safety limit (decompression bomb, absurd length)."""


class EncodeError(KcapError):
    """A value cannot be written in the kcap format (too long, wrong type)."""


# --------------------------------------------------------------------------- other families


class FilterError(KcapError):
    """A filter expression cannot be compiled."""


class RuleError(KcapError):
    """Detection rule or macro files cannot be loaded; ``problems`` lists each one found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message)


class FilamentError(KcapError):
    """A filament (a Fibratus Python script) cannot be found, loaded or started."""


class CaptureError(KcapError):
    """Live capture cannot start or had to stop."""


class Unsupported(CaptureError):
    """A kernel facility that capture needs is absent on this machine."""


class PermissionDenied(CaptureError):
    """Capture needs privileges the process does not have."""


__all__ = [
    "BadMagic",
    "CaptureError",
    "Corrupt",
    "EncodeError",
    "FilamentError",
    "FilterError",
    "FormatError",
    "KcapError",
    "LimitExceeded",
    "OpenError",
    "PermissionDenied",
    "RuleError",
    "StateWarning",
    "Truncated",
    "Unsupported",
    "UnsupportedVersion",
]
