"""`python -m longplay.cli`: the same command as `longplay`."""

from longplay.cli import main

main()
