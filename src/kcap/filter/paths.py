"""Path rules for path fields and functions: Windows rules for Windows captures, POSIX for Linux.

The semantics follow the ones upstream's filter uses (Go's ``path/filepath`` compiled for
Windows): the base name of an empty path is ``.``, trailing separators are ignored, a directory
of a bare name is ``.``, an extension is the text from the last dot of the base name.
"""

from __future__ import annotations

import ntpath
import posixpath
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PathRules:
    name: str
    seps: str

    def volume(self, path: str) -> str:
        if self.name != "windows":
            return ""
        drive, _ = ntpath.splitdrive(path)
        return drive

    def _is_sep(self, ch: str) -> bool:
        return ch in self.seps

    def base(self, path: str) -> str:
        if path == "":
            return "."
        path = path[len(self.volume(path)) :]
        end = len(path)
        while end > 0 and path[end - 1] in self.seps:
            end -= 1
        path = path[:end]
        if path == "":
            return self.seps[0]
        i = len(path) - 1
        while i >= 0 and path[i] not in self.seps:
            i -= 1
        return path[i + 1 :]

    def dir(self, path: str) -> str:
        vol = self.volume(path)
        i = len(path) - 1
        while i >= len(vol) and path[i] not in self.seps:
            i -= 1
        head = path[len(vol) : i + 1]
        cleaned = self.clean(head)
        if cleaned == "." and len(vol) > 2:
            return vol  # a UNC share
        return vol + cleaned

    def clean(self, path: str) -> str:
        if self.name == "windows":
            return ntpath.normpath(path) if path else "."
        return posixpath.normpath(path) if path else "."

    def ext(self, path: str) -> str:
        i = len(path) - 1
        while i >= 0 and path[i] not in self.seps:
            if path[i] == ".":
                return path[i:]
            i -= 1
        return ""

    def is_abs(self, path: str) -> bool:
        if self.name != "windows":
            return path.startswith("/")
        vol = self.volume(path)
        if not vol:
            return False
        if len(vol) > 2:
            return True  # UNC
        rest = path[len(vol) :]
        return rest != "" and rest[0] in self.seps

    def strip_ext(self, name: str) -> str:
        """A base name without its extension (a leading dot is not an extension separator)."""
        dot = name.rfind(".")
        return name[:dot] if dot > 0 else name


WINDOWS = PathRules("windows", "\\/")
POSIX = PathRules("posix", "/")
