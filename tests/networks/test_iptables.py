from dockerpy_engine.networks import iptables
from dockerpy_engine.networks.iptables import BridgeRules


def test_bridge_rules_as_argv():
    rules = iptables.bridge_rules(BridgeRules("br-x", "10.5.0.0/24"))
    argvs = [iptables.argv("-A", r) for r in rules]
    assert [
        "iptables", "-w", "-t", "nat", "-A", "DOCKERPY-POSTROUTING",
        "-s", "10.5.0.0/24", "!", "-o", "br-x", "-j", "MASQUERADE",
    ] in argvs  # fmt: skip
    assert ["iptables", "-w", "-t", "filter", "-A", "DOCKERPY-ISOLATION-STAGE-2",
            "-o", "br-x", "-j", "DROP"] in argvs  # fmt: skip
    assert ("filter", "DOCKERPY-FORWARD", ["-i", "br-x", "-o", "br-x", "-j", "ACCEPT"]) in rules


def test_internal_icc_and_masquerade_options():
    rules = iptables.bridge_rules(
        BridgeRules("br-i", "10.6.0.0/24", internal=True, icc=False, masquerade=True)
    )
    assert not any(r[2][-1] == "MASQUERADE" for r in rules)
    assert ("filter", "DOCKERPY-ISOLATION-STAGE-1",
            ["!", "-d", "10.6.0.0/24", "-i", "br-i", "-j", "DROP"]) in rules  # fmt: skip
    assert ("filter", "DOCKERPY-FORWARD", ["-i", "br-i", "-o", "br-i", "-j", "DROP"]) in rules
    no_masq = iptables.bridge_rules(BridgeRules("br-m", "10.7.0.0/24", masquerade=False))
    assert not any(r[2][-1] == "MASQUERADE" for r in no_masq)


def test_port_rules():
    nat, filt, hairpin = iptables.port_rules(
        "dockerpy0", "172.17.0.2", "tcp", "127.0.0.1", 8080, 80
    )
    assert nat == ("nat", "DOCKERPY", [
        "-d", "127.0.0.1/32", "!", "-i", "dockerpy0", "-p", "tcp", "-m", "tcp",
        "--dport", "8080", "-j", "DNAT", "--to-destination", "172.17.0.2:80",
    ])  # fmt: skip
    assert filt[1] == "DOCKERPY" and filt[2][-1] == "ACCEPT"
    assert hairpin[1] == "DOCKERPY-POSTROUTING"
    wildcard = iptables.port_rules("b", "1.2.3.4", "udp", "0.0.0.0", 53, 53)[0]
    assert "-d" not in wildcard[2]


def test_jumps_never_target_builtin_chains_of_others():
    for *_, args in iptables.jumps():
        assert args[-1].startswith("DOCKERPY")


def test_hairpin_mode_without_the_userland_proxy():
    proxied = dict((r[1], r[2]) for r in iptables.jumps(hairpin=False) if r[0] == "nat")
    assert proxied["OUTPUT"][:3] == ["!", "-d", "127.0.0.0/8"]  # the proxy answers loopback
    hairpin = dict((r[1], r[2]) for r in iptables.jumps(hairpin=True) if r[0] == "nat")
    assert "127.0.0.0/8" not in hairpin["OUTPUT"]
    local = ["-m", "addrtype", "--src-type", "LOCAL"]
    masq = ("nat", "DOCKERPY-POSTROUTING", ["-o", "br-h", *local, "-j", "MASQUERADE"])
    assert masq in iptables.bridge_rules(BridgeRules("br-h", "10.8.0.0/24", hairpin=True))
    assert masq not in iptables.bridge_rules(BridgeRules("br-h", "10.8.0.0/24"))


def test_ipv6_rules_mirror_the_ipv4_ones_for_ip6tables():
    rules = iptables.bridge_rules(BridgeRules("br-6", "fd00:1::/64", hairpin=True))
    assert ("nat", "DOCKERPY-POSTROUTING",
            ["-s", "fd00:1::/64", "!", "-o", "br-6", "-j", "MASQUERADE"]) in rules  # fmt: skip
    assert ("filter", "DOCKERPY-ISOLATION-STAGE-2", ["-o", "br-6", "-j", "DROP"]) in rules
    assert not any("LOCAL" in r[2] for r in rules)  # ::1 is never DNATed: no hairpin rule
    argv = iptables.argv("-A", rules[0], 6)
    assert argv[:3] == ["ip6tables", "-w", "-t"]
    nat = dict((r[1], r[2]) for r in iptables.jumps(hairpin=True, version=6) if r[0] == "nat")
    assert nat["OUTPUT"][:3] == ["!", "-d", "::1/128"]


def test_internal_ipv6_rules_spare_bridged_neighbour_discovery():
    rules = iptables.bridge_rules(BridgeRules("br-i6", "fd00:2::/64", internal=True))
    assert (
        "filter",
        "DOCKERPY-ISOLATION-STAGE-1",
        ["!", "-s", "fd00:2::/64", "!", "-i", "br-i6", "-o", "br-i6", "-j", "DROP"],
    ) in rules
    assert (
        "filter",
        "DOCKERPY-ISOLATION-STAGE-1",
        ["!", "-d", "fd00:2::/64", "-i", "br-i6", "!", "-o", "br-i6", "-j", "DROP"],
    ) in rules


def test_ipv6_port_rules():
    nat, filt, hairpin = iptables.port_rules("br-6", "fd00:1::2", "tcp", "::", 8080, 80)
    assert nat[2][-3:] == ["DNAT", "--to-destination", "[fd00:1::2]:80"]
    assert "-d" not in nat[2]  # [::] is the wildcard
    assert filt[2][:2] == ["-d", "fd00:1::2/128"]
    assert hairpin[2][:4] == ["-s", "fd00:1::2/128", "-d", "fd00:1::2/128"]
    local = iptables.port_rules("br-6", "fd00:1::2", "udp", "fd00:9::1", 53, 53)[0]
    assert local[2][:2] == ["-d", "fd00:9::1/128"]
