"""The catalog: what the registry offers and what is installed, answered without touching files."""
