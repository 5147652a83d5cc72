"""``python -m dealtalk.emulators.dataverse``: the identity platform and Dataverse, seeded with ``crm.json``."""

from ..stack import main

main(graph=False, dataverse=True)
