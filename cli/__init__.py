"""dockerpy: a docker-compatible command line for the Docker Engine API (see cli/main.py)."""

__version__ = "0.1.0"
