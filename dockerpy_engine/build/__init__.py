"""The classic builder behind POST /build: Dockerfile language, context, cache, dispatch."""
