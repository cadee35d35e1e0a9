"""Watching the target while the load runs: resource readings (USE) and py-spy profiles."""
