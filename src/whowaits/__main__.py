"""`python -m whowaits` runs the command line."""

from whowaits.cli import main

main()
