"""Studies: one module per paper, each ``run(config) -> Result``; see ``base``."""
