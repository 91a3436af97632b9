"""docker update: new resource limits or restart policy for running or stopped containers."""

from __future__ import annotations

from cli.api import APIError, CLIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cli.env import Env

__all__ = ["update"]


def update(env: Env, containers: list[str], resources: dict[str, Any], restart: str | None) -> int:
    """docker update: the flags given (at least one) to each container; names printed as they
    succeed, the daemon's warnings after them, the errors last."""
    body = {k: v for k, v in resources.items() if v is not None}
    if restart is not None:
        from cli.actions._specs import restart_policy

        try:
            body["RestartPolicy"] = restart_policy(restart)
        except ValueError as e:
            raise CLIError(str(e)) from None
    if not body:
        raise CLIError("you must provide one or more flags when using this command")
    warnings: list[str] = []
    errors: list[str] = []
    for ref in containers:
        try:
            result = env.api.post(f"/containers/{quote(ref)}/update", None, body) or {}
        except APIError as e:
            errors.append(str(e))
            continue
        env.out.write(ref + "\n")
        warnings.extend(result.get("Warnings") or [])
    if warnings:
        env.out.write("\n".join(warnings) + "\n")
    if errors:
        raise CLIError("\n".join(errors))
    return 0
