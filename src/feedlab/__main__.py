"""``python -m feedlab``: the same commands as the ``feedlab`` script."""

from feedlab.cli.main import main

main()
