"""``python -m dealtalk.emulators.sandbox``: identity platform, Graph and Dataverse for ``dealtalk demo --sandbox``."""

from .stack import main

if __name__ == "__main__":
    main()
