"""Experiments: configs, replicate plans and the statistical comparison of arms."""
