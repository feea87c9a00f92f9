"""Polling external feeds: when each is due, what its answer does, leases and host turns on a shared store."""
