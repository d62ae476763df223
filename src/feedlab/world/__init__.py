"""The simulated society: ground truth that the platform never reads directly."""
