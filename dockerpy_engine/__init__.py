"""dockerpy-engine: a Docker Engine API daemon on containerd."""

__all__ = ["__version__"]

__version__ = "0.1.0"
