"""Measures of what the platform does to people: pure functions of world and platform state."""
