"""A container's filesystem changes: docker diff (what changed against the image) and docker
commit (those changes as a new image)."""

from __future__ import annotations

from cli._options import Options
from cli.api import CLIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cli.env import Env

__all__ = ["CommitOptions", "commit", "diff"]


_CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}


def diff(env: Env, container: str) -> int:
    """docker diff: one `KIND PATH` line per change, in the daemon's order."""
    changes = env.api.get(f"/containers/{quote(container)}/changes") or []
    env.out.write("".join(f"{_CHANGE_KINDS.get(c['Kind'], '?')} {c['Path']}\n" for c in changes))
    return 0


class CommitOptions(Options):
    """docker commit's flags."""

    container: str
    reference: str = ""  # REPOSITORY[:TAG]
    author: str = ""
    message: str = ""
    changes: Sequence[str] = ()  # -c: Dockerfile instructions
    pause: bool = True


def commit(env: Env, opts: CommitOptions) -> int:
    """docker commit: POST /commit; the reference is checked here, as the docker client
    library does, and the new image's ID printed."""
    from cli.reference import ReferenceError, familiar_name, parse_normalized

    repo = tag = None
    if opts.reference:
        try:
            ref = parse_normalized(opts.reference)
        except ReferenceError as e:
            raise CLIError(str(e)) from None
        if ref.digest:
            raise CLIError("refusing to create a tag with a digest reference")
        repo, tag = familiar_name(ref.name), ref.tag or "latest"
    params: dict[str, Any] = {
        "container": opts.container,
        "repo": repo,
        "tag": tag,
        "comment": opts.message or None,
        "author": opts.author or None,
        "changes": list(opts.changes) or None,
        "pause": None if opts.pause else "0",
    }
    result = env.api.post("/commit", params, {})
    env.out.write(f"{result['Id']}\n")
    return 0
