"""iptables rules in our own chains, as argv lists (pure) plus a small runner.

Layout (dockerd's, renamed so we never touch its chains):
  filter FORWARD      → -j DOCKERPY-FORWARD (inserted first)
  DOCKERPY-FORWARD    → -j DOCKERPY-ISOLATION-STAGE-1, then per bridge: established back in,
                        -o br -j DOCKERPY (published ports), out (unless internal), icc
  DOCKERPY-ISOLATION-STAGE-1/2 → traffic from one bridge to another is dropped
  filter DOCKERPY     → ACCEPT for each published container port
  nat PREROUTING/OUTPUT (local destinations) → -j DOCKERPY; nat DOCKERPY: RETURN for traffic
                        from a bridge, DNAT per published port
  nat POSTROUTING     → -j DOCKERPY-POSTROUTING: MASQUERADE per subnet (and per published port's
                        hairpin)
Every rule is added after a `-C` check, so setup is idempotent; a network's rules are deleted
with it and nobody else's chains are ever flushed.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

CHAIN = "DOCKERPY"
FORWARD = "DOCKERPY-FORWARD"
ISOLATION1 = "DOCKERPY-ISOLATION-STAGE-1"
ISOLATION2 = "DOCKERPY-ISOLATION-STAGE-2"
POSTROUTING = "DOCKERPY-POSTROUTING"

Rule = tuple[str, str, list[str]]  # (table, chain, match/target args)


def chains() -> list[tuple[str, str]]:
    """Our chains, (table, chain)."""
    return [
        ("filter", CHAIN),
        ("filter", FORWARD),
        ("filter", ISOLATION1),
        ("filter", ISOLATION2),
        ("nat", CHAIN),
        ("nat", POSTROUTING),
    ]


def jumps() -> list[Rule]:
    """Jumps from the built-in chains into ours (inserted at the top)."""
    local = ["-m", "addrtype", "--dst-type", "LOCAL"]
    return [
        ("filter", "FORWARD", ["-j", FORWARD]),
        ("nat", "PREROUTING", [*local, "-j", CHAIN]),
        ("nat", "OUTPUT", ["!", "-d", "127.0.0.0/8", *local, "-j", CHAIN]),
        ("nat", "POSTROUTING", ["-j", POSTROUTING]),
        ("filter", FORWARD, ["-j", ISOLATION1]),
    ]


@dataclass(frozen=True, slots=True)
class BridgeRules:
    """What a bridge network's rules depend on."""

    bridge: str
    subnet: str
    internal: bool = False
    icc: bool = True
    masquerade: bool = True


def bridge_rules(b: BridgeRules) -> list[Rule]:
    br = b.bridge
    rules: list[Rule] = []
    if b.internal:
        rules += [
            ("filter", ISOLATION1, ["!", "-s", b.subnet, "-o", br, "-j", "DROP"]),
            ("filter", ISOLATION1, ["!", "-d", b.subnet, "-i", br, "-j", "DROP"]),
        ]
    else:
        rules += [
            ("filter", ISOLATION1, ["-i", br, "!", "-o", br, "-j", ISOLATION2]),
            ("filter", ISOLATION2, ["-o", br, "-j", "DROP"]),
            (
                "filter",
                FORWARD,
                ["-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
            ),
            ("filter", FORWARD, ["-o", br, "-j", CHAIN]),
            ("filter", FORWARD, ["-i", br, "!", "-o", br, "-j", "ACCEPT"]),
            ("nat", CHAIN, ["-i", br, "-j", "RETURN"]),
        ]
        if b.masquerade:
            rules.append(("nat", POSTROUTING, ["-s", b.subnet, "!", "-o", br, "-j", "MASQUERADE"]))
    rules.append(("filter", FORWARD, ["-i", br, "-o", br, "-j", "ACCEPT" if b.icc else "DROP"]))
    return rules


def port_rules(bridge: str, container_ip: str, proto: str, host_ip: str, host_port: int,
               container_port: int) -> list[Rule]:  # fmt: skip
    """DNAT from the host port to the container, the filter ACCEPT, and hairpin masquerade."""
    dst = [] if host_ip in ("", "0.0.0.0") else ["-d", f"{host_ip}/32"]
    return [
        (
            "nat",
            CHAIN,
            [
                *dst,
                "!",
                "-i",
                bridge,
                "-p",
                proto,
                "-m",
                proto,
                "--dport",
                str(host_port),
                "-j",
                "DNAT",
                "--to-destination",
                f"{container_ip}:{container_port}",
            ],
        ),
        (
            "filter",
            CHAIN,
            [
                "-d",
                f"{container_ip}/32",
                "!",
                "-i",
                bridge,
                "-o",
                bridge,
                "-p",
                proto,
                "-m",
                proto,
                "--dport",
                str(container_port),
                "-j",
                "ACCEPT",
            ],
        ),
        (
            "nat",
            POSTROUTING,
            [
                "-s",
                f"{container_ip}/32",
                "-d",
                f"{container_ip}/32",
                "-p",
                proto,
                "-m",
                proto,
                "--dport",
                str(container_port),
                "-j",
                "MASQUERADE",
            ],
        ),
    ]


def argv(op: str, rule: Rule) -> list[str]:
    """`iptables -w -t TABLE -A|-I|-C|-D CHAIN args...`."""
    table, chain, args = rule
    return ["iptables", "-w", "-t", table, op, chain, *args]


class Iptables:
    """Applies rules with the iptables command; call from a worker thread (it blocks)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, check=False)

    def exists(self, rule: Rule) -> bool:
        return self._run(argv("-C", rule)).returncode == 0

    def ensure_chain(self, table: str, chain: str) -> None:
        if self._run(["iptables", "-w", "-t", table, "-n", "-L", chain]).returncode != 0:
            self._check(["iptables", "-w", "-t", table, "-N", chain])

    def append(self, rule: Rule) -> None:
        if self.enabled and not self.exists(rule):
            self._check(argv("-A", rule))

    def insert(self, rule: Rule) -> None:
        if self.enabled and not self.exists(rule):
            self._check(argv("-I", rule))

    def delete(self, rule: Rule) -> None:
        if not self.enabled:
            return
        while self.exists(rule):
            if self._run(argv("-D", rule)).returncode != 0:
                break

    def setup(self) -> None:
        """Our chains and the jumps into them; the jump order inside DOCKERPY-FORWARD is fixed
        by appending the isolation jump before any bridge rule."""
        if not self.enabled:
            return
        for table, chain in chains():
            self.ensure_chain(table, chain)
        for rule in jumps():
            if rule[1] == FORWARD:
                self.append(rule)
            else:
                self.insert(rule)
        self.append(("filter", ISOLATION1, ["-j", "RETURN"]))
        self.append(("filter", ISOLATION2, ["-j", "RETURN"]))

    def add_bridge(self, rules: list[Rule]) -> None:
        """Isolation rules go before the chains' final RETURN; the rest are appended."""
        for rule in rules:
            if rule[1] in (ISOLATION1, ISOLATION2):
                self.insert(rule)
            else:
                self.append(rule)

    def remove(self, rules: list[Rule]) -> None:
        for rule in rules:
            self.delete(rule)

    def _check(self, args: list[str]) -> None:
        result = self._run(args)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
