"""One router per resource; each operation parses input, calls one service or selector,
and shapes the answer."""
