"""Built-in scenarios, one TOML file each (listed by ``feedlab scenarios``)."""
