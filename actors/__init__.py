"""The domain: its actors (config store, state, catalog, queue, history) and the installer."""
