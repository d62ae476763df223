"""feedlab: a laboratory for the attention economy.

A simulated society (``world``, ``behaviour``), the platform that models and ranks for it
(``platform``), the measures of what its algorithms do (``metrics``), and the machinery that runs
experiments and keeps their results (``engine``, ``experiments``, ``io``, ``cli``).
"""

__version__ = "0.1.0"
