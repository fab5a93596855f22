"""The event and state model: plain data shared by the format, state, filter and sources."""

from kcap.model.catalogue import EventType, canonical_name, catalogue, lookup, to_id18
from kcap.model.event import Event
from kcap.model.params import Param, Params, ParamType
from kcap.model.process import (
    PE,
    AlpcInfo,
    Certificate,
    FileInfo,
    Handle,
    HandleMeta,
    Module,
    MutantInfo,
    PESection,
    Process,
    Thread,
    UnknownInfo,
    split_cmdline,
)
from kcap.model.timestamp import ZERO, Timestamp

__all__ = [
    "PE",
    "ZERO",
    "AlpcInfo",
    "Certificate",
    "Event",
    "EventType",
    "FileInfo",
    "Handle",
    "HandleMeta",
    "Module",
    "MutantInfo",
    "PESection",
    "Param",
    "ParamType",
    "Params",
    "Process",
    "Thread",
    "Timestamp",
    "UnknownInfo",
    "canonical_name",
    "catalogue",
    "lookup",
    "split_cmdline",
    "to_id18",
]
