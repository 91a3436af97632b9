"""The contents of a container's /etc/hosts and /etc/resolv.conf (libnetwork's etchosts and
setupDNS), and the host's resolv.conf they start from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

HOST_GATEWAY_NAME = "host-gateway"

DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def hosts_file(
    extra_hosts: Iterable[str] | None, host_gateway_ip: str, base: str = DEFAULT_HOSTS
) -> str:
    """libnetwork's etchosts.Build without a main record (a container without a network
    address has none): the default entries (the host's own file for `--network host`), then
    each `--add-host` as "IP<TAB>NAME"."""
    lines = [base if base.endswith("\n") or not base else base + "\n"]
    for entry in extra_hosts or ():
        name, _, address = entry.partition(":")
        if address == HOST_GATEWAY_NAME:
            address = host_gateway_ip
        lines.append(f"{address}\t{name}\n")
    return "".join(lines)


_IPV4 = r"((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV6 = r"([0-9A-Fa-f]{0,4}:){2,7}([0-9A-Fa-f]{0,4})(%\w+)?"
_LOCALHOST_NS = re.compile(
    r"^nameserver\s+((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)\s*\n*", re.MULTILINE
)
_NAMESERVER = re.compile(rf"^\s*nameserver\s*(({_IPV4})|({_IPV6}))\s*$")
_SEARCH = re.compile(r"^\s*search\s*(([^\s]+\s*)*)$")
_OPTIONS = re.compile(r"^\s*options\s*(([^\s]+\s*)*)$")
DEFAULT_DNS = (
    "nameserver 8.8.8.8",
    "nameserver 8.8.4.4",
    "nameserver 2001:4860:4860::8888",
    "nameserver 2001:4860:4860::8844",
)


def resolv_conf(
    host: str,
    dns: Sequence[str] | None = None,
    dns_search: Sequence[str] | None = None,
    dns_options: Sequence[str] | None = None,
) -> str:
    """The container's resolv.conf from the host's, as libnetwork's setupDNS writes it.

    With any of --dns, --dns-search, --dns-option, the file is built anew: search, nameserver
    and options lines, each taken from the flags or else from the host's file. Otherwise it is
    the host's file without its loopback nameservers (unreachable from the container), and
    Google's public resolvers when none is left.
    """
    if dns or dns_search or dns_options:
        servers = list(dns or ()) or nameservers(host)
        search = list(dns_search or ()) or _last_match(host, _SEARCH)
        options = list(dns_options or ()) or _last_match(host, _OPTIONS)
        out = []
        if search and " ".join(search).strip(" ") != ".":
            out.append("search " + " ".join(search) + "\n")
        out += [f"nameserver {server}\n" for server in servers]
        if options and " ".join(options).strip(" "):
            out.append("options " + " ".join(options) + "\n")
        return "".join(out)
    cleaned = _LOCALHOST_NS.sub("", host)
    if not nameservers(cleaned):
        cleaned += "\n" + "\n".join(DEFAULT_DNS)
    return cleaned


def nameservers(content: str) -> list[str]:
    """The nameserver addresses of a resolv.conf (comments stripped)."""
    found = []
    for line in _lines(content):
        match = _NAMESERVER.match(line)
        if match:
            found.append(match.group(1))
    return found


def _last_match(content: str, pattern: re.Pattern[str]) -> list[str]:
    """The words of the last search/options line, as libnetwork reads them."""
    words: list[str] = []
    for line in _lines(content):
        match = pattern.match(line)
        if match:
            words = match.group(1).split()
    return words


def _lines(content: str) -> list[str]:
    return [line.split("#", 1)[0] for line in content.split("\n")]


def read_host_resolv_conf(path: str = "/etc/resolv.conf") -> str:
    """The host's resolv.conf; systemd-resolved's real one when the stub is the only server."""
    try:
        content = Path(path).read_text()
    except OSError:
        return ""
    if nameservers(content) == ["127.0.0.53"]:
        try:
            return Path("/run/systemd/resolve/resolv.conf").read_text()
        except OSError:
            pass
    return content
