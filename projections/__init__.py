"""Read models built from the event log: disposable, exactly-once, rebuildable, auditable."""
