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
