"""The model registry: model specs to loaded models with provenance (name, version, source, sha256)."""
