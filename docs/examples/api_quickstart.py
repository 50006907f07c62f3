"""The API's quick start (docs/api.md): create a project from a JSONL file, launch a run,
poll it, and read the Missing-Skill-Profile of its last round. Python's standard library
only.

    python docs/examples/api_quickstart.py --url http://127.0.0.1:8000 \\
        --token cst_... docs/examples/items.jsonl

The token comes from *API tokens* in the top bar; it must be an editor's or an owner's in
the team (``--team``, else the first team where you edit). The run is queued for a GPU
worker; without one it stays ``queued`` and the script says so after ``--wait`` seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

FINISHED = {"succeeded", "failed", "cancelled"}


class Studio:
    """A small client: JSON in and out, a file upload as multipart/form-data."""

    def __init__(self, url: str, token: str):
        self.api = url.rstrip("/") + "/api/v1"
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None, *,
             fields: dict | None = None, files: dict | None = None):
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if files is not None:
            data, headers["Content-Type"] = multipart(fields or {}, files)
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(self.api + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:  # the answer says which field and why
            raise SystemExit(f"{method} {path}: {exc.code} {exc.read().decode()}") from None
        return json.loads(raw) if raw else None


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body: ``fields`` as text, ``files`` as name -> (file name,
    bytes)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    for name, (filename, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                     "\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def quickstart(studio: Studio, path: Path, *, name: str, team: int | None = None,
               wait_s: float = 600, poll_s: float = 5, say=print) -> tuple[dict, list]:
    """The four steps; returns the run as last seen and its rounds."""
    # 1. a project from the file (every line is checked; one bad line refuses the file)
    if team is None:
        team = next(t["id"] for t in studio.call("GET", "/teams")
                    if t["role"] in ("editor", "owner"))
    project = studio.call("POST", "/projects", fields={"team": team, "name": name},
                          files={"file": (path.name, path.read_bytes())})
    pid = project["id"]
    say(f"project {pid}: {project['example_counts']}")

    # 2. a teacher and a curriculum (a new project has an oracle teacher and a uniform
    #    curriculum; made here if not), then the run, queued for a GPU worker
    teacher = next((t for t in studio.call("GET", f"/projects/{pid}/teachers")
                    if t["kind"] == "oracle"), None) or studio.call(
        "POST", f"/projects/{pid}/teachers", {"name": "oracle", "kind": "oracle"})
    curriculum = next((c for c in studio.call("GET", f"/projects/{pid}/curricula")
                       if c["strategy"] == "uniform"), None) or studio.call(
        "POST", f"/projects/{pid}/curricula", {"name": "uniform", "strategy": "uniform"})
    run = studio.call("POST", f"/projects/{pid}/runs", {
        "preset": "tiny", "teacher_config": teacher["id"], "curriculum": curriculum["id"],
        "rounds": 2, "steps_per_round": 20, "batch_size": 16, "eval_size": 10, "seed": 0})
    say(f"run {run['id']}: {run['status']}")

    # 3. poll until it is finished (or we stop waiting)
    deadline = time.monotonic() + wait_s
    status = run["status"]
    while run["status"] not in FINISHED and time.monotonic() < deadline:
        time.sleep(poll_s)
        run = studio.call("GET", f"/runs/{run['id']}")
        if run["status"] != status:
            status = run["status"]
            say(f"run {run['id']}: {status}")

    # 4. the rounds, and the Missing-Skill-Profile of the last one
    rounds = studio.call("GET", f"/runs/{run['id']}/rounds?limit=500")["results"]
    if not rounds:
        say(f"run {run['id']} is {run['status']} with no round yet"
            + (" (is a GPU worker running?)" if run["status"] == "queued" else ""))
        return run, rounds
    last = rounds[-1]
    say(f"round {last['index']}: accuracy {last['metrics'].get('accuracy')}")
    for skill in sorted(last["profile"], key=lambda s: -s["miss_rate"]):
        say(f"  {skill['skill_name']:<20} missed {skill['failed']}/{skill['evaluated']} "
            f"({skill['miss_rate']:.0%})")
    return run, rounds


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", type=Path, help="a JSONL file: prompt, answer, skills, level")
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--token", required=True)
    p.add_argument("--name", default=f"quick start {time.strftime('%Y-%m-%d %H:%M:%S')}")
    p.add_argument("--team", type=int, help="a team id (GET /api/v1/teams)")
    p.add_argument("--wait", type=float, default=600, help="seconds to poll the run")
    p.add_argument("--poll", type=float, default=5, help="seconds between polls")
    args = p.parse_args(argv)
    run, _rounds = quickstart(Studio(args.url, args.token), args.file, name=args.name,
                              team=args.team, wait_s=args.wait, poll_s=args.poll)
    sys.exit(1 if run["status"] in ("failed", "cancelled") else 0)


if __name__ == "__main__":
    main()
