"""``python -m dealtalk.cli``: the same entry point as the ``dealtalk`` script."""

from dealtalk.cli.main import main

main()
