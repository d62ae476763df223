"""The simulation loop: one tick as a pipeline of stages, and runs of many ticks."""
