"""Validation: reproduce published findings on default parameters and say so in a table."""
