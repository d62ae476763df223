"""The ``feedlab`` command line: parse, hand to ``experiments``, print."""
