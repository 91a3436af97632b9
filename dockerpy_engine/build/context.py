"""The build context: the POST /build body or `remote`, unpacked into a directory we own.

dockerd's classic builder (builder/remotecontext) is the model:
- the body is a tar, maybe compressed (sniffed), extracted with the same rules as a layer:
  nothing lands outside the context, whatever the names, symlinked parents or hard links say,
  and a symlink whose target climbs out of the context is refused (`invalid symlink`);
- paths in the context (the Dockerfile, COPY sources) resolve as FullPath does: joined to the
  root, refused when that join leaves it, then every symlink followed *inside* the root;
- `.dockerignore` is applied by the client when it makes the tar; the daemon only removes
  `.dockerignore` and the Dockerfile themselves when the patterns exclude them
  (removeDockerfile), so that `COPY . /` does not ship them;
- `remote` is a git repository (cloned with the `git` command, then tarred into the context
  like a body), a tar over http(s), or a plain-text Dockerfile.

Everything but `fetch_remote` blocks and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import io
import logging
import os
import posixpath
import re
import shutil
import stat
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import aiohttp

from .. import errdefs
from ..containers.archive import ScopedRoot, TarWriter, write_tree
from ..gopath import go_clean
from ..httpget import get_with_status_error
from ..images import layers
from .dockerignore import PatternMatcher, read_dockerignore

log = logging.getLogger(__name__)

DEFAULT_DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
CLIENT_SESSION = "client-session"

# A context is data: keep owners, modes, devices and xattrs; `.wh.` files are plain files.
_CONTEXT = layers.ExtractOptions(whiteouts=False)
_PREAMBLE = 100  # dockerd's maxPreambleLength: what it reads to sniff a remote's type
_GIT_ENV = {
    "GIT_PROTOCOL_FROM_USER": "0",  # no protocols the user would have to allow (ext::)
    "GIT_CONFIG_NOSYSTEM": "1",  # WithIsolatedConfig: neither system nor user config
    "HOME": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",  # a daemon has no one to ask for a password
}
_SUBMODULES = ("submodule", "update", "--init", "--recursive", "--depth=1")


class ContextError(errdefs.InvalidParameter):
    """The context or the Dockerfile location is unusable (dockerd's texts)."""


# -- the body ---------------------------------------------------------------------------


def extract_context(source: BinaryIO, dest: Path) -> None:
    """Unpack a POST /build body (tar, plain or gzip/bzip2/xz/zstd) into the empty `dest`.

    An empty body is an empty context (the Dockerfile lookup then fails as dockerd's does).
    """
    stream = io.BufferedReader(_EndPadded(layers.decompressed(source)), layers.BUFSIZE)
    try:
        layers.extract(stream, dest, options=_CONTEXT, digest=False)
    except layers.LayerError as exc:
        raise ContextError(exc.message) from None


class _EndPadded(io.RawIOBase):
    """The context tar as Go's tar reader accepts it: the docker CLI's `-f -` rewrite of the
    context ends right after the last member's data, with neither its padding nor the two
    zero blocks. Go treats that as the end of the archive; Python's tarfile calls it
    truncated. So at EOF the stream is completed with zeros to the next block and the
    end-of-archive marker. (A cut inside a member's data still fails: its size is known.)"""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._count = 0
        self._tail: memoryview | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._tail is None:
            data = self._source.read(len(view))
            if data:
                view[: len(data)] = data
                self._count += len(data)
                return len(data)
            pad = -self._count % 512
            self._tail = memoryview(bytes(pad + 1024 if self._count else 0))
        n = min(len(view), len(self._tail))
        view[:n] = self._tail[:n]
        self._tail = self._tail[n:]
        return n


# -- paths inside the context -----------------------------------------------------------


def context_path(root: Path, rel: str) -> Path:
    """dockerd's FullPath: `rel` joined to `root`, every symlink followed within `root`.

    A path whose join leaves the root (`../x`) is refused with dockerd's text; absolute
    symlink targets restart at the root, `..` stops there. Missing components are kept as
    written, so the result can be stat'ed for "does not exist".
    """
    cleaned = go_clean(rel)
    if cleaned == ".." or cleaned.startswith("../"):
        raise ContextError(f"forbidden path outside the build context: {rel} ()")
    try:
        with ScopedRoot.open(root) as scope, scope.resolve(rel, True, lenient=True) as node:
            parts = node.parts
    except OSError as exc:  # a symlink loop
        if exc.errno != errno.ELOOP:
            raise
        raise ContextError(f"forbidden path outside the build context: {rel} ()") from None
    return root.joinpath(*parts)


def dockerfile_path(root: Path, name: str) -> Path:
    """The `dockerfile` parameter (default `Dockerfile`) located in the context.

    Symlinks are followed inside the root only; when the default name is missing, dockerd
    falls back to `dockerfile` (the returned path then ends in that name).
    """
    name = name or DEFAULT_DOCKERFILE
    path = context_path(root, name)
    if not path.is_file() and name == DEFAULT_DOCKERFILE:
        path = context_path(root, name.lower())
    if not path.is_file():
        raise ContextError(f"Cannot locate specified Dockerfile: {name}")
    return path


def apply_dockerignore(root: Path, dockerfile: str) -> PatternMatcher | None:
    """removeDockerfile: drop `.dockerignore` and the Dockerfile if `.dockerignore` excludes them.

    dockerd reads only `.dockerignore` (a `<Dockerfile>.dockerignore` is BuildKit's) and
    removes nothing else: the client applied the patterns when it made the tar. Call it after
    reading the Dockerfile. A pattern that does not compile removes nothing (dockerd ignores
    the error). Returns the matcher, None without a usable `.dockerignore`.
    """
    try:
        data = context_path(root, DOCKERIGNORE).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        matcher = PatternMatcher(read_dockerignore(data))
    except errdefs.InvalidParameter as exc:
        log.info("ignoring .dockerignore: %s", exc)
        return None
    for name in (DOCKERIGNORE, dockerfile):
        if matcher.matches(name):
            _remove(root, name)
    return matcher


def _remove(root: Path, name: str) -> None:
    """The context's Remove: the in-scope path, whatever it is; failures are only logged."""
    try:
        path = context_path(root, name)
        if path == root:
            return
        if stat.S_ISDIR(os.lstat(path).st_mode):
            shutil.rmtree(path)
        else:
            path.unlink()
    except (OSError, ContextError) as exc:
        log.error("failed to remove %s: %s", name, exc)


# -- remote contexts --------------------------------------------------------------------

_GIT_URL = re.compile(r"\.git(?:#.+)?\Z")


def is_url(text: str) -> bool:
    """urlutil.IsURL: only the scheme is checked."""
    return text.startswith(("http://", "https://"))


def is_git_url(text: str) -> bool:
    """urlutil.IsGitURL: http(s) `.git` URLs (fragment allowed), git://, git@, ssh://, and
    the legacy `github.com/` prefix."""
    if is_url(text) and _GIT_URL.search(text):
        return True
    return text.startswith(("git://", "github.com/", "git@", "ssh://"))


async def fetch_remote(url: str, dest: Path) -> str:
    """The `remote` parameter, fetched into the empty `dest`; returns the Dockerfile name.

    A git repository (`repo.git#ref:subdir`) or an http(s) tar becomes the context, as a
    body would; a plain-text answer is the Dockerfile itself (the context holds only it).
    """
    if url == CLIENT_SESSION:
        raise errdefs.InvalidParameter(
            "experimental session with v1 builder is no longer supported, use builder version "
            "v2 (BuildKit) instead"
        )
    if is_git_url(url):
        await _git_context(parse_git_url(url), dest)
    elif is_url(url):
        await _download_context(url, dest)
    else:
        raise ContextError(f"remoteURL ({url}) could not be recognized as URL")
    return DEFAULT_DOCKERFILE


# -- git --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GitSource:
    """A parsed git remote: the URL to fetch, the ref to check out, the context subdir."""

    remote: str
    ref: str
    subdir: str


def parse_git_url(url: str) -> GitSource:
    """dockerd's parseRemoteURL: `#ref:subdir` fragments, `master` by default."""
    scheme = urllib.parse.urlsplit(url).scheme
    if not url.startswith("git@") and scheme not in ("git", "http", "https", "ssh"):
        url = "https://" + url  # github.com/user/repo
    if url.startswith("git@"):  # scp-like syntax, not a URL
        remote, _, fragment = url.partition("#")
    else:
        remote, fragment = urllib.parse.urldefrag(url)
        fragment = urllib.parse.unquote(fragment)
    ref, _, subdir = fragment.partition(":")
    ref = ref or "master"
    if ref.startswith("-"):
        raise ContextError(f"invalid refspec: {ref}")
    return GitSource(remote, ref, subdir)


async def _git(cwd: Path, *args: str) -> tuple[int, str]:
    """git with dockerd's guards (no file:// submodules, isolated config): code, output."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "protocol.file.allow=never",
        *args,
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    return proc.returncode or 0, output.decode("utf-8", "replace")


async def _git_ok(cwd: Path, what: str, *args: str) -> None:
    """Run git; a failure is `<what>: <output>: exit status N`, as Go wraps exec errors."""
    code, output = await _git(cwd, *args)
    if code:
        raise ContextError(f"{what}: {output}: exit status {code}")


async def _supports_shallow(remote: str) -> bool:
    """supportsShallowClone: anything but http(s), or a smart http server (dumb ones can't
    fetch --depth 1)."""
    if urllib.parse.urlsplit(remote).scheme not in ("http", "https"):
        return True
    service = remote + "/info/refs?service=git-upload-pack"
    try:
        async with aiohttp.ClientSession(trust_env=True) as session:
            async with session.head(service) as response:
                status, headers = response.status, response.headers
            if status != 200:
                async with session.get(service) as response:
                    status, headers = response.status, response.headers
    except (aiohttp.ClientError, TimeoutError):
        return False
    content_type = headers.get("Content-Type", "")
    return status == 200 and content_type == "application/x-git-upload-pack-advertisement"


async def _git_context(source: GitSource, dest: Path) -> None:
    """Clone (init, fetch the ref, check it out, submodules), then tar it into `dest`."""
    work = Path(
        await asyncio.to_thread(tempfile.mkdtemp, prefix="docker-build-git", dir=dest.parent)
    )
    try:
        await _git_ok(work, f"failed to init repo at {work}", "init")
        origin = ("remote", "add", "origin", source.remote)
        await _git_ok(work, f"failed add origin repo at {source.remote}", *origin)
        depth = ["--depth", "1"] if await _supports_shallow(source.remote) else []
        await _git_ok(work, "error fetching", "fetch", *depth, "origin", "--", source.ref)
        code, output = await _git(work, "checkout", source.ref)
        if code and (await _git(work, "checkout", "FETCH_HEAD"))[0]:
            raise ContextError(f"error checking out {source.ref}: {output}: exit status {code}")
        await _git_ok(work, "error initializing submodules", *_SUBMODULES)
        await asyncio.to_thread(_tar_into, work, source.subdir, dest)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


def _tar_into(checkout: Path, subdir: str, dest: Path) -> None:
    """MakeGitContext: the checkout (or its subdir, followed in scope) re-read as a body, so
    a repository gets exactly the checks an uploaded context gets."""
    root = checkout
    if subdir:
        try:
            root = context_path(checkout, subdir)
        except ContextError:
            raise ContextError(
                f'error setting git context, "{subdir}" not within git root'
            ) from None
        if not root.exists():
            raise ContextError(f"stat {root}: no such file or directory")
        if not root.is_dir():
            raise ContextError(f"error setting git context, not a directory: {root}")
    with tempfile.TemporaryFile(dir=dest.parent) as spool:
        tar = TarWriter(spool.write)
        with ScopedRoot.open(root) as scope, scope.resolve("", True) as node:
            write_tree(scope, node, "", tar)
        tar.close()
        spool.seek(0)
        extract_context(spool, dest)


# -- http(s) ----------------------------------------------------------------------------

# remote.go's acceptableRemoteMIME, searched anywhere in the Content-Type as Go's FindString.
_ACCEPTABLE = re.compile(
    r"application/(?:(?:x-)?tar|octet-stream|(?:x-)?(?:gzip|bzip2?|xz))|text/plain"
)
# http.DetectContentType signatures (its first match wins) naming a type dockerd refuses.
_HTML_TAGS = tuple(
    tag.encode()
    for tag in "<!DOCTYPE HTML|<HTML|<HEAD|<SCRIPT|<IFRAME|<H1|<DIV|<FONT|<TABLE|<A|<STYLE|<TITLE|"
    "<B|<BODY|<BR|<P|<!--".split("|")
)
_REFUSED_MAGIC = (
    b"%PDF-",
    b"%!PS-Adobe-",
    b"PK\x03\x04",
    b"Rar!\x1a\x07",
    b"\x00asm",
    b"GIF87a",
    b"GIF89a",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"OggS\x00",
    b"\x1a\x45\xdf\xa3",
)
_TEXT_BOMS = (b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf")
_GZIP_SIGNATURE = b"\x1f\x8b\x08"
_BINARY = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def sniff_content_type(data: bytes) -> str:
    """What Go's http.DetectContentType says of a body's first bytes, as far as it matters
    to dockerd: text (a Dockerfile), gzip or binary (a tar), or something it refuses."""
    if data.startswith(_TEXT_BOMS):
        return "text/plain"
    stripped = data.lstrip(b"\t\n\x0c\r ")
    upper = stripped.upper()
    for tag in _HTML_TAGS:
        if upper.startswith(tag) and upper[len(tag) : len(tag) + 1] in (b" ", b">"):
            return "text/html"
    if stripped.startswith(b"<?xml"):
        return "text/xml"
    if data.startswith(_GZIP_SIGNATURE):
        return "application/x-gzip"
    if data.startswith(_REFUSED_MAGIC):
        return "application/unknown"
    if any(byte in _BINARY for byte in data):
        return "application/octet-stream"
    return "text/plain"


def acceptable_type(content_type: str) -> str:
    """selectAcceptableMIME: the accepted media type found in a Content-Type, or ''."""
    found = _ACCEPTABLE.search(content_type)
    return found.group(0) if found else ""


async def _download_context(url: str, dest: Path) -> None:
    """newURLRemote: a tar (any compression) becomes the context, plain text the Dockerfile."""

    async with get_with_status_error(url, f"error downloading remote context {url}") as response:
        length = response.content_length or 0
        preamble = await response.content.read(length if 0 < length <= _PREAMBLE else _PREAMBLE)
        header = response.headers.get("Content-Type", "")
        kind = remote_content_kind(url, header, preamble)
        await _spool_body(response, preamble, dest, as_dockerfile=kind == "text/plain")


async def download_source(url: str, directory: Path) -> Path:
    """ADD <url>: the file, named after the URL's last path element, mode 0600 and the
    Last-Modified time as its mtime (dockerd's downloadSource); returns its path."""
    name = posixpath.basename(urllib.parse.urlsplit(url).path)
    if not name or name in (".", ".."):
        raise ContextError(f"cannot determine filename from url: {url}")
    target = directory / name

    async with get_with_status_error(url, f"failed to GET {url}") as response:
        sink = await asyncio.to_thread(_open_download, target)
        try:
            async for chunk in response.content.iter_chunked(layers.BUFSIZE):
                await asyncio.to_thread(sink.write, chunk)
        finally:
            await asyncio.to_thread(sink.close)
        modified = response.headers.get("Last-Modified")
    if modified:
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            stamp = email.utils.parsedate_to_datetime(modified).timestamp()
            await asyncio.to_thread(os.utime, target, (stamp, stamp))
    return target


def _open_download(target: Path) -> BinaryIO:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "wb")


def remote_content_kind(url: str, header: str, preamble: bytes) -> str:
    """inspectResponse: `text/plain` (a Dockerfile) or an archive type, from the Content-Type
    (sniffed from the first bytes when absent or octet-stream); refused types are errors."""
    what = f"error detecting content type for remote {url}"
    if not preamble:
        raise ContextError(f"{what}: empty response")
    detected = header
    if not header or header == "application/octet-stream":
        detected = sniff_content_type(preamble)
    kind = acceptable_type(detected)
    if not kind:
        raise ContextError(f'{what}: unsupported Content-Type "{header}"')
    return kind


def _open_sink(dest: Path, as_dockerfile: bool) -> BinaryIO:
    if as_dockerfile:
        return open(dest / DEFAULT_DOCKERFILE, "xb")
    return tempfile.TemporaryFile(dir=dest.parent)


async def _spool_body(
    response: aiohttp.ClientResponse, preamble: bytes, dest: Path, *, as_dockerfile: bool
) -> None:
    """Stream the body to disk in 1 MiB writes: the Dockerfile itself, or a tar to extract."""
    sink = await asyncio.to_thread(_open_sink, dest, as_dockerfile)
    try:
        buffer = bytearray(preamble)
        async for chunk in response.content.iter_any():
            buffer += chunk
            if len(buffer) >= layers.BUFSIZE:
                await asyncio.to_thread(sink.write, bytes(buffer))
                buffer.clear()
        await asyncio.to_thread(sink.write, bytes(buffer))
        if not as_dockerfile:
            await asyncio.to_thread(sink.seek, 0)
            await asyncio.to_thread(extract_context, sink, dest)
    finally:
        await asyncio.to_thread(sink.close)
