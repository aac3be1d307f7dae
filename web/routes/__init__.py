"""One module per resource; each exposes ``setup(app)`` adding its routes."""
