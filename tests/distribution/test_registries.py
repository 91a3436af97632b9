"""distribution/registries.py: insecure registries, endpoint order, mirrors, certs.d."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from dockerpy_engine.distribution.registries import (
    HUB_ENDPOINT,
    RegistryConfig,
    RegistryConfigError,
    certs_dirs_for,
    validate_mirror,
)


async def test_loopback_is_insecure_by_default_and_lists_add_hosts_and_cidrs():
    config = RegistryConfig(insecure=["myreg:5000", "10.20.0.0/16", "[::1]:5000"])
    assert await config.is_insecure("127.0.0.1:5000")
    assert await config.is_insecure("127.1.2.3")
    assert await config.is_insecure("localhost:5000")
    assert await config.is_insecure("myreg:5000")
    assert await config.is_insecure("10.20.3.4:443")
    assert not await config.is_insecure("10.21.3.4")
    assert not await config.is_insecure("192.0.2.1:5000")
    with pytest.raises(RegistryConfigError, match="should not contain '://'"):
        RegistryConfig(insecure=["http://x"])


async def test_endpoint_order():
    config = RegistryConfig()
    secure = await config.endpoints("192.0.2.1:5000", mirrors=True)
    assert [e.url for e in secure] == ["https://192.0.2.1:5000"]
    assert secure[0].verify
    insecure = await config.endpoints("127.0.0.1:5000", mirrors=True)
    assert [(e.url, e.verify) for e in insecure] == [
        ("https://127.0.0.1:5000", False),
        ("http://127.0.0.1:5000", False),
    ]
    assert [e.url for e in await config.endpoints("docker.io", mirrors=False)] == [HUB_ENDPOINT]


async def test_mirrors_for_every_registry_or_by_host():
    every = RegistryConfig(mirrors=["http://127.0.0.1:5001/"])
    found = await every.endpoints("127.0.0.1:5000", mirrors=True)
    assert next((e.url, e.mirror) for e in found) == ("http://127.0.0.1:5001", True)
    assert not any(e.mirror for e in await every.endpoints("127.0.0.1:5000", mirrors=False))
    by_host = RegistryConfig(mirrors={"docker.io": ["https://mirror.example"]})
    assert (await by_host.endpoints("docker.io", mirrors=True))[0].url == "https://mirror.example"
    assert not (await by_host.endpoints("quay.io", mirrors=True))[0].mirror
    assert by_host.to_api()["Mirrors"] == ["https://mirror.example"]


def test_mirror_validation():
    assert validate_mirror("https://m.example:5000/") == "https://m.example:5000"
    for bad in ("ftp://m", "m.example", "https://u:p@m", "https://m/v2/x"):
        with pytest.raises(RegistryConfigError):
            validate_mirror(bad)


async def test_certs_d_adds_cas_and_client_certs(tmp_path: Path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    host_dir = tmp_path / "registry.test:5000"
    host_dir.mkdir()
    ca.cert_pem.write_to_path(str(host_dir / "ca.crt"))
    client = ca.issue_cert("client")
    client.cert_chain_pems[0].write_to_path(str(host_dir / "client.cert"))
    client.private_key_pem.write_to_path(str(host_dir / "client.key"))
    config = RegistryConfig(certs_dirs=[tmp_path])
    context = await config.ssl_for("https://registry.test:5000/v2/")
    assert isinstance(context, ssl.SSLContext)
    subjects = [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()]
    assert any("trustme" in str(s) for s in subjects)
    assert await config.ssl_for("https://registry.test:5000/v2/") is context  # cached
    assert await config.ssl_for("http://registry.test:5000/v2/") is None
    # an insecure registry (verify=False) gets nothing from certs.d, as with dockerd
    unverified = await config.ssl_for("https://registry.test:5000/v2/", verify=False)
    assert not any("trustme" in str(c["subject"]) for c in unverified.get_ca_certs())
    (host_dir / "lonely.key").write_text("x")
    assert await config.ssl_for("https://registry.test:5000/v2/", verify=False) is unverified
    with pytest.raises(ssl.SSLError, match="missing client certificate"):
        await config.ssl_for("https://registry.test:5000/v2/")


def test_certs_dirs_are_dockers_and_the_one_beside_the_config_file():
    assert certs_dirs_for(Path("/etc/dockerpy/daemon.json")) == (
        Path("/etc/docker/certs.d"),
        Path("/etc/dockerpy/certs.d"),
    )
    assert certs_dirs_for(Path("/srv/d/daemon.json"))[1] == Path("/srv/d/certs.d")
    assert certs_dirs_for(Path("/etc/docker/daemon.json")) == (Path("/etc/docker/certs.d"),)
