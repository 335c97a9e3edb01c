"""The event bus: events carry ids, not objects, and are published only after the commit."""
