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
With the userland proxy, OUTPUT skips 127.0.0.0/8 (the proxy's listener answers there).
Without it (`userland-proxy: false`, "hairpin NAT") loopback is DNATed too: the bridge gets
route_localnet and a MASQUERADE for locally sourced packets leaving through it.
IPv6 networks get the same layout from ip6tables (dockerd 27+'s default `ip6tables: true`,
masquerade included), except that ::1 is never DNATed (IPv6 has no route_localnet: the proxy
always answers there) and so there is no hairpin MASQUERADE.
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


def output_jump(hairpin: bool, version: int = 4) -> Rule:
    """nat OUTPUT → DOCKERPY for local destinations; IPv4 loopback ones too without the proxy,
    IPv6 loopback never."""
    if version == 6:
        loopback = ["!", "-d", "::1/128"]
    else:
        loopback = [] if hairpin else ["!", "-d", "127.0.0.0/8"]
    return ("nat", "OUTPUT", [*loopback, "-m", "addrtype", "--dst-type", "LOCAL", "-j", CHAIN])


def jumps(hairpin: bool = False, version: int = 4) -> list[Rule]:
    """Jumps from the built-in chains into ours (inserted at the top)."""
    return [
        ("filter", "FORWARD", ["-j", FORWARD]),
        ("nat", "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", CHAIN]),
        output_jump(hairpin, version),
        ("nat", "POSTROUTING", ["-j", POSTROUTING]),
        ("filter", FORWARD, ["-j", ISOLATION1]),
    ]


@dataclass(frozen=True, slots=True)
class BridgeRules:
    """What a bridge network's rules depend on, for one IP version (its subnet's)."""

    bridge: str
    subnet: str  # IPv4 or IPv6: the rules go to iptables or ip6tables alike
    internal: bool = False
    icc: bool = True
    masquerade: bool = True
    hairpin: bool = False  # no userland proxy: loopback clients reach published ports by DNAT

    @property
    def version(self) -> int:
        return 6 if ":" in self.subnet else 4


def bridge_rules(b: BridgeRules) -> list[Rule]:
    br = b.bridge
    rules: list[Rule] = []
    if b.internal:
        # IPv6's bridged neighbour discovery goes to multicast addresses outside the subnet
        # (and through ip6tables with br_netfilter): dockerd's IPv6 twins spare it
        into = ["!", "-i", br] if b.version == 6 else []
        out_of = ["!", "-o", br] if b.version == 6 else []
        rules += [
            ("filter", ISOLATION1, ["!", "-s", b.subnet, *into, "-o", br, "-j", "DROP"]),
            ("filter", ISOLATION1, ["!", "-d", b.subnet, "-i", br, *out_of, "-j", "DROP"]),
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
        if b.hairpin and b.version == 4:
            local = ["-m", "addrtype", "--src-type", "LOCAL"]
            rules.append(("nat", POSTROUTING, ["-o", br, *local, "-j", "MASQUERADE"]))
    rules.append(("filter", FORWARD, ["-i", br, "-o", br, "-j", "ACCEPT" if b.icc else "DROP"]))
    return rules


def port_rules(bridge: str, container_ip: str, proto: str, host_ip: str, host_port: int,
               container_port: int) -> list[Rule]:  # fmt: skip
    """DNAT from the host port to the container, the filter ACCEPT, and hairpin masquerade;
    IPv6 ones when the container address is (ip6tables' [addr]:port and /128 forms)."""
    host = 128 if ":" in container_ip else 32
    target = f"[{container_ip}]" if host == 128 else container_ip
    dst = [] if host_ip in ("", "0.0.0.0", "::") else ["-d", f"{host_ip}/{host}"]
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
                f"{target}:{container_port}",
            ],
        ),
        (
            "filter",
            CHAIN,
            [
                "-d",
                f"{container_ip}/{host}",
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
                f"{container_ip}/{host}",
                "-d",
                f"{container_ip}/{host}",
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


def command(version: int) -> str:
    return "ip6tables" if version == 6 else "iptables"


def argv(op: str, rule: Rule, version: int = 4) -> list[str]:
    """`iptables -w -t TABLE -A|-I|-C|-D CHAIN args...` (ip6tables for version 6)."""
    table, chain, args = rule
    return [command(version), "-w", "-t", table, op, chain, *args]


class Iptables:
    """Applies rules with the iptables (or ip6tables) command; call from a worker thread (it
    blocks)."""

    def __init__(self, enabled: bool = True, hairpin: bool = False, version: int = 4) -> None:
        self.enabled = enabled
        self.hairpin = hairpin
        self.version = version
        self._set_up = False

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, check=False)

    def exists(self, rule: Rule) -> bool:
        return self._run(argv("-C", rule, self.version)).returncode == 0

    def ensure_chain(self, table: str, chain: str) -> None:
        cmd = command(self.version)
        if self._run([cmd, "-w", "-t", table, "-n", "-L", chain]).returncode != 0:
            self._check([cmd, "-w", "-t", table, "-N", chain])

    def append(self, rule: Rule) -> None:
        if self.enabled and not self.exists(rule):
            self._check(argv("-A", rule, self.version))

    def insert(self, rule: Rule) -> None:
        if self.enabled and not self.exists(rule):
            self._check(argv("-I", rule, self.version))

    def delete(self, rule: Rule) -> None:
        if not self.enabled:
            return
        while self.exists(rule):
            if self._run(argv("-D", rule, self.version)).returncode != 0:
                break

    def setup(self) -> None:
        """Our chains and the jumps into them; the jump order inside DOCKERPY-FORWARD is fixed
        by appending the isolation jump before any bridge rule. Once per daemon run: the
        ip6tables side is set up when the first IPv6 network is programmed."""
        if not self.enabled or self._set_up:
            return
        for table, chain in chains():
            self.ensure_chain(table, chain)
        if self.version == 4:  # the other mode's, from an earlier run
            self.delete(output_jump(not self.hairpin))
        for rule in jumps(self.hairpin, self.version):
            if rule[1] == FORWARD:
                self.append(rule)
            else:
                self.insert(rule)
        self.append(("filter", ISOLATION1, ["-j", "RETURN"]))
        self.append(("filter", ISOLATION2, ["-j", "RETURN"]))
        self._set_up = True

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
