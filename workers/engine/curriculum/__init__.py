"""Curriculum strategies. ``STRATEGIES`` maps each name to its class."""
