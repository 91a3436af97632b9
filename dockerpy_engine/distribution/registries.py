"""Which URLs a registry is reached at, and how: TLS, insecure registries, mirrors.

As dockerd (registry/service.go, lookupV2Endpoints):

- a registry is tried over HTTPS first; an *insecure* one (`insecure-registries` from
  daemon.json, hosts or CIDRs, plus 127.0.0.0/8 and ::1 by default) is then tried with
  HTTPS without verification and finally over plain HTTP;
- TLS to a secure registry trusts the system CAs plus `certs.d/<host>/*.crt` and presents
  a client certificate from `*.cert` + `*.key` there. The certs.d dirs are /etc/docker's
  and the one next to the daemon's config file (/etc/dockerpy/certs.d by default), so a
  daemon with its own --config-file has its own. Like dockerd (newTLSConfig), certs.d is
  not read for an insecure registry: nothing is verified, and no client certificate sent;
- Docker Hub (`docker.io`) is served by `registry-1.docker.io`.

Unlike dockerd, `registry-mirrors` apply to every registry, not only Docker Hub: a list
mirrors every registry, a map `{"<registry host>": [urls]}` mirrors the named ones
(`docker.io` for Hub). Mirrors are tried before the origin for pulls only, and are never
sent the origin's credentials.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..images.reference import DEFAULT_DOMAIN

HUB_ENDPOINT = "https://registry-1.docker.io"
DOCKER_CERTS_DIR = Path("/etc/docker/certs.d")
CERTS_DIRS = (DOCKER_CERTS_DIR, Path("/etc/dockerpy/certs.d"))
DEFAULT_INSECURE_CIDRS = ("127.0.0.0/8", "::1/128")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RegistryConfigError(ValueError):
    """daemon.json's registry settings are invalid (dockerd refuses to start)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One base URL to talk to a registry at (no trailing slash, no /v2)."""

    url: str
    host: str  # the registry's name in references (`127.0.0.1:5000`, `docker.io`)
    mirror: bool = False
    verify: bool = True  # False: HTTPS without certificate checks (an insecure registry)

    @property
    def secure(self) -> bool:
        return self.url.startswith("https://")


class RegistryConfig:
    """The daemon's registry settings; hands out endpoints and TLS contexts."""

    def __init__(
        self,
        mirrors: Iterable[str] | Mapping[str, Iterable[str]] = (),
        insecure: Iterable[str] = (),
        certs_dirs: Iterable[Path] = CERTS_DIRS,
    ) -> None:
        self.all_mirrors: list[str] = []
        self.mirrors: dict[str, list[str]] = {}
        if isinstance(mirrors, Mapping):
            for host, urls in mirrors.items():
                if isinstance(urls, str):
                    urls = [urls]
                self.mirrors[_host_key(str(host))] = [validate_mirror(u) for u in urls]
        else:
            if isinstance(mirrors, str):
                raise RegistryConfigError("registry-mirrors must be a list of URLs")
            self.all_mirrors = [validate_mirror(u) for u in mirrors]
        self.insecure_cidrs: list[IpNetwork] = [
            ipaddress.ip_network(c) for c in DEFAULT_INSECURE_CIDRS
        ]
        self.insecure_hosts: set[str] = set()
        for entry in insecure:
            self._add_insecure(str(entry))
        self.certs_dirs = tuple(certs_dirs)
        self._contexts: dict[tuple[str, bool], tuple[Any, ssl.SSLContext]] = {}

    def _add_insecure(self, entry: str) -> None:
        if "://" in entry:
            raise RegistryConfigError(f"insecure registry {entry} should not contain '://'")
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            self.insecure_hosts.add(entry.lower())
            return
        if "/" in entry:
            if network not in self.insecure_cidrs:
                self.insecure_cidrs.append(network)
        else:
            self.insecure_hosts.add(entry.lower())

    # -- insecure registries ----------------------------------------------------------

    def _insecure_address(self, text: str) -> bool:
        try:
            address = ipaddress.ip_address(text.strip("[]"))
        except ValueError:
            return False
        return any(address in net for net in self.insecure_cidrs)

    async def is_insecure(self, host: str) -> bool:
        """dockerd's isSecureIndex, negated: listed, or an address in an insecure CIDR
        (a name is resolved and each of its addresses checked)."""
        host = host.lower()
        if host in self.insecure_hosts:
            return True
        hostname = _hostname(host)
        if hostname in self.insecure_hosts:
            return True
        if self._insecure_address(hostname):
            return True
        if hostname == "localhost":
            return self._insecure_address("127.0.0.1")
        try:
            ipaddress.ip_address(hostname.strip("[]"))
            return False  # an address outside every insecure CIDR
        except ValueError:
            pass
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(hostname, None), timeout=5
            )
        except (TimeoutError, OSError):
            return False
        return any(self._insecure_address(str(info[4][0])) for info in infos)

    # -- endpoints --------------------------------------------------------------------

    def mirrors_for(self, domain: str) -> list[str]:
        return self.mirrors.get(_host_key(domain), []) + [
            m for m in self.all_mirrors if m not in self.mirrors.get(_host_key(domain), [])
        ]

    async def endpoints(self, domain: str, *, mirrors: bool) -> list[Endpoint]:
        """Where to reach `domain`, in the order to try: mirrors (if asked), then origin."""
        found: list[Endpoint] = []
        if mirrors:
            for url in self.mirrors_for(domain):
                parts = urlsplit(url)
                insecure = await self.is_insecure(parts.netloc)
                found.append(Endpoint(url, domain, mirror=True, verify=not insecure))
        if domain == DEFAULT_DOMAIN:
            found.append(Endpoint(HUB_ENDPOINT, domain))
            return found
        insecure = await self.is_insecure(domain)
        found.append(Endpoint(f"https://{domain}", domain, verify=not insecure))
        if insecure:
            found.append(Endpoint(f"http://{domain}", domain, verify=False))
        return found

    # -- TLS --------------------------------------------------------------------------

    async def ssl_for(self, url: str, verify: bool = True) -> Any:
        """aiohttp's `ssl` argument for `url`: None for plain HTTP, else a context with the
        system CAs and certs.d's CAs and client certificates for the URL's host."""
        parts = urlsplit(url)
        if parts.scheme != "https":
            return None
        return await asyncio.to_thread(self._context, parts.netloc.lower(), verify)

    def _context(self, host: str, verify: bool) -> ssl.SSLContext:
        # dockerd reads certs.d for secure registries only: an insecure one is sent no client
        # certificate, and its CAs would not be used anyway
        dirs = [d / host for d in self.certs_dirs] if verify else []
        signature = tuple(_dir_signature(d) for d in dirs)
        cached = self._contexts.get((host, verify))
        if cached is not None and cached[0] == signature:
            return cached[1]
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        for directory in dirs:
            load_certs_dir(context, directory)
        self._contexts[(host, verify)] = (signature, context)
        return context

    def to_api(self) -> dict[str, Any]:
        """docker info's RegistryConfig (what `docker info` prints as insecure/mirrors)."""
        return {
            "IndexConfigs": {},
            "InsecureRegistryCIDRs": [str(n) for n in self.insecure_cidrs],
            "Mirrors": list(self.all_mirrors or self.mirrors.get(DEFAULT_DOMAIN, [])),
        }


def certs_dirs_for(config_file: Path) -> tuple[Path, ...]:
    """The certs.d dirs of a daemon whose config file is `config_file`: dockerd's, so hosts
    set up for dockerd work unchanged, then `certs.d` beside the config file."""
    own = config_file.parent / "certs.d"
    return (DOCKER_CERTS_DIR,) if own == DOCKER_CERTS_DIR else (DOCKER_CERTS_DIR, own)


def load_certs_dir(context: ssl.SSLContext, directory: Path) -> None:
    """dockerd's ReadCertsDirectory: every `*.crt` is a CA; `x.cert` pairs with `x.key`."""
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        path = directory / name
        if name.endswith(".crt"):
            context.load_verify_locations(cafile=str(path))
        elif name.endswith(".cert"):
            key = directory / (name[: -len(".cert")] + ".key")
            if not key.exists():
                raise ssl.SSLError(f"missing key {key.name} for client certificate {name}")
            context.load_cert_chain(str(path), str(key))
        elif name.endswith(".key"):
            cert = directory / (name[: -len(".key")] + ".cert")
            if not cert.exists():
                raise ssl.SSLError(f"missing client certificate {cert.name} for key {name}")


def _dir_signature(directory: Path) -> tuple[tuple[str, float], ...]:
    try:
        return tuple(
            sorted((e.name, e.stat().st_mtime) for e in os.scandir(directory) if e.is_file())
        )
    except (FileNotFoundError, NotADirectoryError):
        return ()


def validate_mirror(value: Any) -> str:
    """dockerd's ValidateMirror: an http(s) URL with nothing after the host but `/`."""
    text = str(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistryConfigError(
            f"invalid mirror: unsupported scheme {parts.scheme!r} in {text!r}"
        )
    if parts.username or parts.password:
        raise RegistryConfigError(f"invalid mirror: does not support credentials in {text!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise RegistryConfigError(
            f"invalid mirror: path, query, or fragment at end of the URI {text!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _hostname(host: str) -> str:
    """`host:port` -> host (IPv6 literals keep their brackets stripped)."""
    if host.startswith("["):
        return host[1 : host.index("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _host_key(domain: str) -> str:
    domain = domain.lower()
    if domain in ("index.docker.io", "registry-1.docker.io"):
        return DEFAULT_DOMAIN
    return domain
