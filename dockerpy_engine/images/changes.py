"""`--change` instructions of `docker import` and `docker commit`, applied to an image config.

dockerd runs these through its Dockerfile machinery (BuildFromConfig): the lines are joined
and parsed as one Dockerfile, every instruction is checked against a whitelist (anything else
is `<instr> is not a valid change command`, the instruction lower-cased), then checked as an
instruction, and only then applied, expanding `$VAR` from the config's own Env so that
`ENV PATH=$PATH:/opt/bin` works as in a Dockerfile.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..build.dockerfile import DockerfileError, parse_syntax
from ..build.instructions import (
    ConfigState,
    apply_instruction,
    config_env,
    validate_instruction,
)
from ..build.shell_lex import ShellLex

VALID_CHANGE_COMMANDS = frozenset(
    {
        "cmd",
        "entrypoint",
        "healthcheck",
        "env",
        "expose",
        "label",
        "onbuild",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    }
)


def apply_changes(config: dict[str, Any] | None, changes: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the runtime `config` with each Dockerfile-style change applied.

    Every line is parsed and checked before any is applied, so a bad line changes nothing.
    No changes at all leave the config as it is; changes without an instruction (only blank
    lines or comments) are an error, as in dockerd.
    """
    changes = list(changes)
    state = ConfigState(copy.deepcopy(config or {}))
    if not changes:
        return state.config
    dockerfile = parse_syntax("\n".join(changes))
    for instr in dockerfile.instructions:
        command = instr.keyword.lower()
        if command not in VALID_CHANGE_COMMANDS:
            raise DockerfileError(f"{command} is not a valid change command")
    lex = ShellLex(dockerfile.escape)
    for instr in dockerfile.instructions:
        validate_instruction(instr, lex)
    for instr in dockerfile.instructions:
        apply_instruction(state, instr, lex, config_env(state.config))
    return state.config
