"""The operation queue: plugin operations as first-class, journaled, cancellable records."""
