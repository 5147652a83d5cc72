"""What every folder shares: settings, events, documents, errors, the blob-store protocol and progress.

This package imports nothing else of dealtalk (import-linter checks it, see ARCHITECTURE.md).
"""
