"""Behaviour of the commands: REST calls through `env.api`, output through `env.out`/`env.err`.
Each action takes the Env and one options dataclass and returns the exit status."""
