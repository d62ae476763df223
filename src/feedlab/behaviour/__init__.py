"""How simulated people act: open the app, answer impressions, post, and change over time."""
