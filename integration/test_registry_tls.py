"""TLS registries (Debian's docker-registry with `http.tls`), pushed to and pulled from with
the real docker CLI. What is expected is what dockerd 20.10 (hack/reference-dockerd) was seen
to do with the same registries and certificates, in dockerd's words where they matter:

- 127.0.0.0/8 is always an insecure registry range (dockerd adds it whatever the config says).
  For an insecure registry HTTPS is tried first with nothing verified, then plain HTTP; and
  certs.d is not read at all (registry/config.go newTLSConfig reads it only when secure), so
  no client certificate is presented there even if certs.d has one.
- So the certs.d tests need a registry that is *not* insecure, and neither dockerd nor we can
  take loopback out of the insecure range (`insecure-registries` only adds; `localhost`
  resolves to 127.0.0.1, so it is insecure too). They put the registry on 192.0.2.1
  (TEST-NET-1) as an address of lo inside a private network namespace, with a daemon of this
  module's own in there: not loopback, hence secure, and no packet leaves the namespace.
- The daemon reads `certs.d/<host:port>/` beside its --config-file (dockerd reads only
  /etc/docker/certs.d, which we read too; tests never touch it). Like dockerd, it reads
  certs.d on every connection: adding or removing a file takes effect without a restart.

Certificates are made here with trustme; one server certificate names 127.0.0.1 and
192.0.2.1, client certificates come from the same CA (or, to be refused, from another).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .archives import inspect_image, load_unique
from .conftest import ok, out
from .daemon import Daemon
from .registry import Registry

SECURE_ADDR = "192.0.2.1"  # on lo of the module's namespace (no dummy module on these hosts)


@dataclass(frozen=True, slots=True)
class Pki:
    """A CA and what it issued, as files: the registry's certificate and a client's."""

    ca: Any  # trustme.CA
    ca_pem: Path
    server: tuple[Path, Path]  # (certificate, key), for 127.0.0.1 and SECURE_ADDR
    stranger: Any  # another trustme.CA, whose client certificates the registry refuses

    def write_ca(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ca.cert_pem.write_to_path(str(directory / "ca.crt"))

    def write_client(self, directory: Path, issuer: Any = None) -> None:
        """client.cert + client.key in `directory`, issued by our CA unless told otherwise."""
        leaf = (issuer or self.ca).issue_cert("dpy-test-client")
        leaf.cert_chain_pems[0].write_to_path(str(directory / "client.cert"))
        leaf.private_key_pem.write_to_path(str(directory / "client.key"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    import trustme

    base = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    ca_pem = base / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    leaf = ca.issue_cert("127.0.0.1", SECURE_ADDR)
    cert, key = base / "server.pem", base / "server.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return Pki(ca, ca_pem, (cert, key), trustme.CA())


@pytest.fixture(scope="module")
def busybox_layer(busybox_tar: str) -> bytes:
    return Path(busybox_tar).read_bytes()


@pytest.fixture(scope="module")
def sd(netns: str) -> Iterator[Daemon]:
    """A daemon of this module's own in `netns`, where SECURE_ADDR is an address of lo."""
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{SECURE_ADDR}/32", "dev", "lo"], check=True)
    d = Daemon()
    try:
        d.start("--bridge=none", "--iptables=false", "--ip-forward=false", netns=netns)
        yield d
    finally:
        d.cleanup()


@pytest.fixture
def registries() -> Iterator[list[Registry]]:
    """Registries a test starts go here; each is stopped (by pid) afterwards."""
    started: list[Registry] = []
    yield started
    for reg in started:
        reg.stop()


def _failure(result: subprocess.CompletedProcess) -> str:
    """The stderr of a CLI call that must fail."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    return result.stderr.decode()


# -- loopback: insecure, TLS first without verification ------------------------------------


def test_loopback_tls_registry_is_used_without_verification(cli, image, pki, registries):
    """The registry speaks only TLS (plain HTTP gets a 400) and its CA is nowhere: a round trip
    shows HTTPS was tried first and its certificate not checked."""
    reg = Registry(tls=pki.server).start()
    registries.append(reg)
    name = f"{reg.host}/unverified:1"
    image_id = image(name)
    assert out(ok(cli("push", name))).count("Pushed") == 2
    ok(cli("rmi", name))
    assert "Pull complete" in out(ok(cli("pull", name)))
    assert inspect_image(cli, name)["Id"] == image_id
    ok(cli("rmi", name))


def test_loopback_registry_is_not_sent_the_client_certificate(daemon, cli, image, pki, registries):
    """certs.d is for secure registries only: a loopback registry requiring a client
    certificate refuses us although certs.d holds one its CA signed (the same files satisfy
    the secure registry of test_certs_d_client_certificate)."""
    reg = Registry(tls=pki.server, client_cas=pki.ca_pem).start()
    registries.append(reg)
    certs = daemon.certs_d / reg.host
    pki.write_ca(certs)
    pki.write_client(certs)
    name = f"{reg.host}/noclient:1"
    try:
        image(name)
        refused = cli("push", name)
        assert f"{reg.host}/v2/" in _failure(refused)
        assert "Pushed" not in out(refused)
    finally:
        shutil.rmtree(certs)
        cli("rmi", name)


# -- a secure registry: certs.d -------------------------------------------------------------


def test_certs_d_ca_trusts_a_secure_registry(sd, netns, pki, busybox_layer, registries):
    reg = Registry(tls=pki.server, netns=netns, address=SECURE_ADDR).start()
    registries.append(reg)
    certs = sd.certs_d / reg.host
    name = f"{reg.host}/trusted:1"
    image_id = load_unique(sd.cli, busybox_layer, name, b"trusted\n")
    unknown = (
        f'Get "https://{reg.host}/v2/": tls: failed to verify certificate: '
        "x509: certificate signed by unknown authority"
    )
    try:
        assert unknown in _failure(sd.cli("push", name))
        pki.write_ca(certs)
        assert out(ok(sd.cli("push", name))).count("Pushed") == 2
        ok(sd.cli("rmi", name))
        (certs / "ca.crt").unlink()
        assert f"Error response from daemon: {unknown}" in _failure(sd.cli("pull", name))
        pki.write_ca(certs)
        assert "Pull complete" in out(ok(sd.cli("pull", name)))
        assert inspect_image(sd.cli, name)["Id"] == image_id
    finally:
        shutil.rmtree(certs, ignore_errors=True)
        sd.cli("rmi", name)


def test_certs_d_client_certificate(sd, netns, pki, busybox_layer, registries):
    reg = Registry(tls=pki.server, client_cas=pki.ca_pem, netns=netns, address=SECURE_ADDR)
    registries.append(reg.start())
    certs = sd.certs_d / reg.host
    name = f"{reg.host}/mtls:1"
    image_id = load_unique(sd.cli, busybox_layer, name, b"mutual\n")
    refused = f'Get "https://{reg.host}/v2/": remote error: tls: bad certificate'
    try:
        pki.write_ca(certs)
        assert refused in _failure(sd.cli("push", name))
        pki.write_client(certs)
        assert out(ok(sd.cli("push", name))).count("Pushed") == 2
        ok(sd.cli("rmi", name))
        (certs / "client.cert").unlink()
        (certs / "client.key").unlink()
        assert f"Error response from daemon: {refused}" in _failure(sd.cli("pull", name))
        pki.write_client(certs, issuer=pki.stranger)
        assert f"Error response from daemon: {refused}" in _failure(sd.cli("pull", name))
        pki.write_client(certs)
        assert "Pull complete" in out(ok(sd.cli("pull", name)))
        assert inspect_image(sd.cli, name)["Id"] == image_id
    finally:
        shutil.rmtree(certs, ignore_errors=True)
        sd.cli("rmi", name)


def test_secure_registry_speaking_plain_http(sd, netns, registries):
    """No fallback to HTTP for a secure registry, with dockerd's words for why."""
    reg = Registry(netns=netns, address=SECURE_ADDR).start()
    registries.append(reg)
    failed = _failure(sd.cli("pull", f"{reg.host}/any:1"))
    assert (
        f'Error response from daemon: Get "https://{reg.host}/v2/": '
        "http: server gave HTTP response to HTTPS client"
    ) in failed
