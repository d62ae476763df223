"""Built-in sock-puppet audit specs (TOML)."""
