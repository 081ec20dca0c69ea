"""The only place that uses the kubernetes client. Calls here block: run them in a thread."""
