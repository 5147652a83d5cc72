"""The spine: configuration, events, documents, store, buses, worker runtime and the CLI.

Importing this package is cheap: nothing heavy (models, database engines, clients) loads at import time.
"""

__version__ = "0.1.0"
