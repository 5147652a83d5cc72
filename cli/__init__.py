"""The ``dealtalk`` command line: one Typer app (``main.py``) and one module per command (``commands/``).

It sits on top with the API: commands get their parts from the composition root (``pipeline/resources.py``).
"""
