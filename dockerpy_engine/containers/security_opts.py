"""`--security-opt`, read as dockerd's parseSecurityOpt reads it.

Two options are accepted and have no effect, as with a dockerd on a host without the facility:
`apparmor=<profile>` (this host runs no AppArmor, and dockerd only sets a profile when AppArmor
is enabled) and `label=…` (no SELinux here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from ._fields import invalid

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(frozen=True, slots=True)
class SecurityOptions:
    """`--security-opt` as dockerd's parseSecurityOpt reads it."""

    no_new_privileges: bool = False
    seccomp: str = ""  # "" default, "unconfined", "builtin", or a profile's JSON text
    apparmor: str = ""  # kept for inspect; no AppArmor on this host, so never applied
    labels: tuple[str, ...] = ()  # SELinux label options; no SELinux here, so ignored


def parse_security_opts(options: Iterable[str]) -> SecurityOptions:
    """`no-new-privileges[:|=bool]`, `seccomp=…`, `apparmor=…`, `label=…`/`label:…`,
    `disable`; anything else is dockerd's "invalid --security-opt" error."""
    nnp, seccomp, apparmor, labels = False, "", "", []
    for opt in options:
        if opt == "no-new-privileges":
            nnp = True
            continue
        if opt == "disable":
            labels.append("disable")
            continue
        if "=" in opt:
            key, _, value = opt.partition("=")
        elif ":" in opt:
            key, _, value = opt.partition(":")
        else:
            invalid(f"invalid --security-opt 1: {json.dumps(opt)}")
        if key == "label":
            labels.append(value)
        elif key == "apparmor":
            apparmor = value
        elif key == "seccomp":
            seccomp = value
        elif key == "no-new-privileges" and value in _GO_TRUE | _GO_FALSE:
            nnp = value in _GO_TRUE
        else:
            invalid(f"invalid --security-opt 2: {json.dumps(opt)}")
    return SecurityOptions(nnp, seccomp, apparmor, tuple(labels))
