"""Data files of the insight stage (package so that they install with it)."""
