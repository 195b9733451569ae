"""`python -m datatrainer` runs the CLI."""

from datatrainer.cli.app import main

main()
