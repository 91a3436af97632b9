"""The container domain: records, lifecycle, OCI specs, logs and streams.

Nothing is re-exported here: the pure modules (logs, spec, merge…) stay importable without the
service's runtime and gRPC imports. The entry point is `containers.service.ContainerService`.
"""
