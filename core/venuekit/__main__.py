"""``python -m venuekit`` runs the command line."""

from venuekit.cli import main

main()
