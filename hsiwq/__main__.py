"""``python -m hsiwq`` runs the command line."""

from .cli import main

main()
