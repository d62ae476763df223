"""The platform the film describes: it logs, models each person, sources candidates and ranks.

It sees the world only through :mod:`feedlab.platform.observe`.
"""
