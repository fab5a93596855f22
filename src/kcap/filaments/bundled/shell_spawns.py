"""Alerts when a command shell or script host starts, naming the process that started it.

Written for the later Fibratus API, with upstream's dotdictify helper. The command line is in
the parameter cmdline of newer captures and comm of older ones.
"""

from utils.dotdict import dotdictify

SHELLS = {
    "cmd.exe": "high",
    "powershell.exe": "high",
    "pwsh.exe": "high",
    "wscript.exe": "medium",
    "cscript.exe": "medium",
    "mshta.exe": "high",
    "bash": "medium",
    "sh": "medium",
    "dash": "medium",
    "zsh": "medium",
}


def on_init():
    set_filter("evt.name = 'CreateProcess'")


@dotdictify
def on_next_event(event):
    name = (event.params.name or "").lower()
    if name not in SHELLS:
        return
    parent = event.exe or f"pid {event.pid}"
    cmdline = event.params.cmdline or event.params.comm or name
    emit_alert(
        f"{name} started by {parent}",
        f"{parent} started {cmdline}",
        severity=SHELLS[name],
        tags=["execution", "T1059"],
    )
