"""`python -m neurolink.cli`: the same as the `neurolink` command."""

from neurolink.cli.main import main

main()
