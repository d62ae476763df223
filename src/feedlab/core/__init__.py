"""Foundations shared by every layer: array aliases, errors, random streams and registries."""
