"""Settings, storage, the composition root: everything that touches the outside world."""
