"""Loopback endpoints for teacher tests: a chat-completions server and a closed port."""

import socket

from tests.engine.test_teacher_openai import FakeServer, completion

__all__ = ["FakeServer", "closed_port_url", "completion"]


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
