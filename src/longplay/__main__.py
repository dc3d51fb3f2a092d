"""`python -m longplay`: the same command as `longplay`."""

from longplay.cli import main

main()
