"""Command declarations: Typer-style signatures (flags as `Annotated[..., Opt(...)]`) that build
an options dataclass and hand it to the matching `cli.actions` module. No behaviour here."""
