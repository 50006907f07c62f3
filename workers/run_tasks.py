"""Run lifecycle tasks: execute a run on the gpu queue, sweep stale runs."""
