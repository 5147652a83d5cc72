"""The CLI's commands, one module each; ``cli/main.py`` registers them."""
