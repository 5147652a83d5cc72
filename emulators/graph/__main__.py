"""``python -m dealtalk.emulators.graph``: the identity platform and Graph, seeded with the sample calls."""

from ..stack import main

main(graph=True, dataverse=False)
