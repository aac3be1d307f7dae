"""The domain of Plugvisor: its actors (config store, state, queue, history) and the installer."""
