"""docker build with the legacy builder (POST /build) and builder prune.

The context goes to the daemon as an uncompressed tar made here: the context directory walked
in lexical order, what .dockerignore excludes left out (the Dockerfile and .dockerignore are
always sent), owners reset to root, as archive.TarWithOptions does for the docker CLI. A
Dockerfile from stdin (`-f -`) or from outside the context joins the tar as
`.dockerfile.<random>`, which .dockerignore then names, so that COPY . never sees it.
The daemon's messages are drawn as they arrive; a failing RUN's exit code is the exit status.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile

from cli._options import Options
from cli.actions._common import confirm, filters_param, is_terminal, print_reclaimed
from cli.api import CLIError
from cli.env import Env

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

__all__ = ["BuildOptions", "build", "context_tar", "prune"]

_SENDING = "Sending build context to Docker daemon"
_UPDATE_EVERY = 512 << 10  # progress.NewProgressReader's step


class BuildOptions(Options):
    context: str  # a directory, `-` (a tar or a Dockerfile on stdin) or a URL
    tags: Sequence[str] = ()
    dockerfile: str = ""
    build_args: Sequence[str] = ()
    labels: Sequence[str] = ()
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    iidfile: str = ""
    rm: bool = True
    force_rm: bool = False
    network: str = "default"
    platform: str = ""
    add_hosts: Sequence[str] = ()
    cache_from: Sequence[str] = ()
    cgroup_parent: str = ""
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    isolation: str = ""
    memory: int = 0
    memory_swap: int = 0
    shm_size: int = 0
    squash: bool = False
    ulimits: Sequence[dict[str, Any]] = ()  # parsed by the flag (units.ParseUlimit)


# ---------------------------------------------------------------------------------------------
# The context tar


def _header(info: tarfile.TarInfo) -> bytes:
    """A tar header as Go's writer picks it: USTAR when the name fits (with its prefix
    field), PAX records otherwise."""
    try:
        return info.tobuf(tarfile.USTAR_FORMAT)
    except ValueError:
        return info.tobuf(tarfile.PAX_FORMAT)


def _entry(path: str, name: str) -> tuple[tarfile.TarInfo, str | None]:
    """The header of one file of the context (owner root, as ChownOpts 0:0 makes it) and the
    path to read its data from (None for directories, links and devices)."""
    st = os.lstat(path)
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        return info, None
    if stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        return info, None
    if stat.S_ISREG(st.st_mode):
        info.size = st.st_size
        return info, path
    info.type = tarfile.FIFOTYPE if stat.S_ISFIFO(st.st_mode) else tarfile.CHRTYPE
    return info, None


def _file_blocks(info: tarfile.TarInfo, data: bytes | None, path: str | None) -> Iterator[bytes]:
    yield _header(info)
    if path is not None:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
    elif data is not None:
        yield data
    if info.size % 512:
        yield b"\0" * (512 - info.size % 512)


def context_tar(
    root: str, excludes: list[str], extra: dict[str, bytes] | None = None
) -> Iterator[bytes]:
    """The context directory as tar blocks: files excluded by the patterns are skipped, and a
    directory is skipped whole unless an exception (`!dir/keep`) may re-include something
    inside it. `extra` files (name → data) replace or add entries, written at the end."""
    from dockerpy_engine.build.dockerignore import PatternMatcher

    matcher = PatternMatcher(excludes)
    exceptions = matcher.exceptions
    extra = dict(extra or {})

    def walk(directory: str, rel: str) -> Iterator[bytes]:
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            rel_path = f"{rel}{name}"
            is_dir = os.path.isdir(path) and not os.path.islink(path)
            if rel_path in extra:
                continue
            if matcher.matches(rel_path):
                if is_dir and any((e + "/").startswith(rel_path + "/") for e in exceptions):
                    yield from walk(path, rel_path + "/")
                continue
            info, data_path = _entry(path, rel_path)
            yield from _file_blocks(info, None, data_path)
            if is_dir:
                yield from walk(path, rel_path + "/")

    yield from walk(root, "")
    for name, data in extra.items():
        info = tarfile.TarInfo(name)
        info.mode = 0o600
        info.size = len(data)
        yield from _file_blocks(info, data, None)
    yield b"\0" * 1024


def _random_dockerfile_name() -> str:
    return ".dockerfile." + os.urandom(10).hex()


def _eval_symlinks(path: str, what: str) -> str:
    """filepath.EvalSymlinks with Go's error for the first missing component."""
    probe = "/"
    for part in path.strip("/").split("/"):
        probe = os.path.join(probe, part)
        if not os.path.lexists(probe):
            raise CLIError(
                f"unable to prepare context: unable to evaluate symlinks in {what} path: "
                f"lstat {probe}: no such file or directory"
            )
    return os.path.realpath(path)


def _local_context(opts: BuildOptions, env: Env) -> tuple[str, str, list[str], dict[str, bytes]]:
    """(context dir, Dockerfile path in the context, excludes, extra tar entries) for a
    local directory, with build.GetContextFromLocalDir's checks and errors."""
    from dockerpy_engine.build.dockerignore import BadPattern, PatternMatcher, read_dockerignore

    root = _eval_symlinks(os.path.abspath(opts.context), "context")
    if not os.path.isdir(root):
        raise CLIError(f"unable to prepare context: context must be a directory: {root}")
    from_stdin = opts.dockerfile == "-"
    extra: dict[str, bytes] = {}
    if from_stdin:
        rel = _random_dockerfile_name()
        extra[rel] = env.stdin.read()
    else:
        given = os.path.abspath(opts.dockerfile) if opts.dockerfile else ""
        if not given:
            given = os.path.join(root, "Dockerfile")
            lower = os.path.join(root, "dockerfile")
            if not os.path.lexists(given) and os.path.lexists(lower):
                given = lower
        path = _eval_symlinks(given, "Dockerfile")
        rel = os.path.relpath(path, root)
        if rel.startswith("../"):  # outside the context: sent under a random name
            with open(path, "rb") as f:
                rel = _random_dockerfile_name()
                extra[rel] = f.read()
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
            excludes = read_dockerignore(f.read())
    except FileNotFoundError:
        excludes = []
    try:
        matcher = PatternMatcher(excludes)
    except BadPattern as e:
        raise CLIError(f"error checking context: {e}") from None
    if matcher.matches(".dockerignore"):
        excludes.append("!.dockerignore")
    if not extra and matcher.matches(rel):
        excludes.append("!" + rel)
    if extra:
        ignore = b""
        if os.path.isfile(os.path.join(root, ".dockerignore")):
            with open(os.path.join(root, ".dockerignore"), "rb") as f:
                ignore = f.read()
        extra[".dockerignore"] = ignore + f"\n{rel}\n".encode()
    return root, rel, excludes, extra


def _stdin_context(opts: BuildOptions, env: Env) -> tuple[Iterator[bytes], str]:
    """`docker build -`: a tar archive on stdin is the context as is; anything else is a
    Dockerfile, sent alone in a context of its own."""
    data = env.stdin.read()
    if (len(data) >= 512 and data[257:262] == b"ustar") or data[:2] in (b"\x1f\x8b", b"BZ"):
        return iter([data]), opts.dockerfile
    if opts.dockerfile == "-":
        raise CLIError("ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles")
    info = tarfile.TarInfo("Dockerfile")
    info.size = len(data)
    info.mode = 0o600
    return iter([*_file_blocks(info, data, None), b"\0" * 1024]), "Dockerfile"


# ---------------------------------------------------------------------------------------------
# build


def _kv_map(items: Sequence[str], from_env: bool) -> dict[str, str | None]:
    """opts.ConvertKVStringsToMapWithNil: `k=v`; a bare `k` takes the environment's value
    (build args) or becomes null."""
    out: dict[str, str | None] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if eq:
            out[key] = value
        elif from_env and key in os.environ:
            out[key] = os.environ[key]
        else:
            out[key] = None
    return out


def _params(opts: BuildOptions, dockerfile: str) -> dict[str, Any]:
    """ImageBuildOptions as the client library puts them in the query."""
    p: dict[str, Any] = {
        "t": list(opts.tags) or None,
        "dockerfile": dockerfile or None,
        "q": "1" if opts.quiet else None,
        "nocache": "1" if opts.no_cache else None,
        "rm": "1" if opts.rm else "0",
        "forcerm": "1" if opts.force_rm else None,
        "pull": "1" if opts.pull else None,
        "squash": "1" if opts.squash else None,
        "target": opts.target or None,
        "networkmode": opts.network,
        "platform": opts.platform or None,
        "extrahosts": list(opts.add_hosts) or None,
        "isolation": opts.isolation or None,
        "cpusetcpus": opts.cpuset_cpus,
        "cpusetmems": opts.cpuset_mems,
        "cpushares": str(opts.cpu_shares),
        "cpuquota": str(opts.cpu_quota),
        "cpuperiod": str(opts.cpu_period),
        "memory": str(opts.memory),
        "memswap": str(opts.memory_swap),
        "cgroupparent": opts.cgroup_parent,
        "shmsize": str(opts.shm_size),
        "ulimits": json.dumps(list(opts.ulimits)),
        "buildargs": json.dumps(_kv_map(opts.build_args, True)),
        "labels": json.dumps(_kv_map(opts.labels, False)),
        "cachefrom": json.dumps(list(opts.cache_from)),
    }
    return p


def _counted(chunks: Iterator[bytes], report: Callable[[int, bool], None]) -> Iterator[bytes]:
    """Pass the context through, reporting the bytes sent every 512 KiB and at the end."""
    sent = last = 0
    for chunk in chunks:
        sent += len(chunk)
        if sent - last > _UPDATE_EVERY:
            report(sent, False)
            last = sent
        yield chunk
    report(sent, True)


def _registry_config(env: Env) -> str:
    """X-Registry-Config: every stored credential, base64url JSON keyed by registry."""
    import base64

    from cli.actions.registry import stored_credentials, stored_servers

    doc = {}
    for server in stored_servers(env):
        user, password, token = stored_credentials(env, server)
        entry = {"username": user, "password": password, "serveraddress": server}
        if token:
            entry["identitytoken"] = token
        doc[server] = entry
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def build(env: Env, opts: BuildOptions) -> int:
    remote = ""
    if opts.context == "-":
        body, dockerfile = _stdin_context(opts, env)
    elif opts.context.startswith(("http://", "https://", "git://", "git@", "github.com/")):
        remote, body, dockerfile = opts.context, iter([b""]), opts.dockerfile
    elif os.path.exists(opts.context):
        root, dockerfile, excludes, extra = _local_context(opts, env)
        body = context_tar(root, excludes, extra)
    else:
        raise CLIError(f'unable to prepare context: path "{opts.context}" not found')
    if opts.iidfile:
        try:
            os.remove(opts.iidfile)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise CLIError(f"Removing image ID file: {e}") from None

    progress = io.StringIO() if opts.quiet else env.out
    tty = is_terminal(env.out)

    def report(sent: int, done: bool) -> None:
        from cli.format import human_size

        if tty or done:
            progress.write(f"{_SENDING} {human_size(sent):>8}\r")
        if done:
            progress.write("\r\n")
        progress.flush()

    params = _params(opts, dockerfile)
    if remote:
        params["remote"] = remote
    else:
        body = _counted(body, report)
    headers = {"Content-Type": "application/x-tar", "X-Registry-Config": _registry_config(env)}
    resp = env.api.request("POST", "/build", params, stream_body=body, headers=headers)
    image_id = ""

    def aux(msg: dict[str, Any]) -> None:
        nonlocal image_id
        if msg.get("id") == "moby.image.id" or "ID" in (msg.get("aux") or {}):
            image_id = (msg.get("aux") or {}).get("ID", "")

    from cli.jsonmessage import JSONMessageError, display_stream

    out = io.StringIO() if opts.quiet else env.out
    try:
        display_stream(resp.lines(), out, tty and not opts.quiet, aux)
    except JSONMessageError as e:
        if opts.quiet:
            env.err.write(progress.getvalue() + out.getvalue())  # type: ignore[attr-defined]
        raise CLIError(str(e), e.code or 1) from None
    finally:
        resp.close()
    if opts.quiet:
        env.out.write(out.getvalue())  # type: ignore[attr-defined]
    if opts.iidfile:
        if not image_id:
            raise CLIError(f"Server did not provide an image ID. Cannot write {opts.iidfile}")
        with open(opts.iidfile, "w") as f:
            f.write(image_id)
    return 0


# ---------------------------------------------------------------------------------------------
# builder prune


def prune(env: Env, all_: bool, force: bool, filters: list[str], keep_storage: int) -> int:
    """docker builder prune: POST /build/prune; lists the cache IDs removed."""
    what = "all build cache" if all_ else "all dangling build cache"
    if not force and not confirm(env, f"WARNING! This will remove {what}.", sep=" "):
        return 0
    params = {
        "all": "1" if all_ else None,
        "filters": filters_param(filters),
        "keep-storage": str(keep_storage) if keep_storage else None,
    }
    report = env.api.post("/build/prune", params) or {}
    print_reclaimed(
        env,
        [("Deleted build cache objects", report.get("CachesDeleted") or [])],
        int(report.get("SpaceReclaimed") or 0),
    )
    return 0
