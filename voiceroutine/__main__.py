"""`python -m voiceroutine` runs the command line."""

from .cli import main

main()
