"""Every operation of the API with a valid call (path and body) in the fixture ``world``;
the access tests and the fuzz test drive them all, and a test checks that none is missing
from this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    id: str  # the OpenAPI operationId
    method: str
    path: Callable[[dict], str]
    body: Callable[[dict], dict] | None = None
    query: tuple[str, ...] = ()  # query parameters it reads
    team_scoped: bool = True  # False: answers the same to everyone (no team's data)
    anyone: bool = False  # a write anyone signed in may make (in no team of theirs yet)
    form: Callable[[dict], dict] | None = None  # a multipart body: fields, and files

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def _p(w) -> int:
    return w["project"].pk


def _launch(w) -> dict:
    return {"preset": "tiny", "teacher_config": w["oracle"].pk,
            "curriculum": w["curriculum"].pk, "rounds": 1, "steps_per_round": 2,
            "batch_size": 2, "eval_size": 4, "seed": 1, "device": "cpu"}


OPERATIONS = [
    Operation("project_list", "GET", lambda w: "/projects"),
    Operation("project_detail", "GET", lambda w: f"/projects/{_p(w)}"),
    Operation("skill_list", "GET", lambda w: f"/projects/{_p(w)}/skills"),
    Operation("example_list", "GET", lambda w: f"/projects/{_p(w)}/examples",
              query=("split", "level", "skill", "origin", "review_status", "cursor", "limit")),
    Operation("example_bulk_create", "POST", lambda w: f"/projects/{_p(w)}/examples",
              body=lambda w: {"examples": [
                  {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1},
                  {"prompt": "3+9=", "answer": "12", "skills": ["add", "carry"], "level": 2,
                   "split": "eval", "key": "k-1", "meta": {"source": "api"}}]}),
    Operation("prompt_list", "GET", lambda w: f"/projects/{_p(w)}/prompts"),
    Operation("prompt_version_list", "GET",
              lambda w: f"/projects/{_p(w)}/prompts/{w['prompt'].pk}/versions"),
    Operation("prompt_version_new", "POST",
              lambda w: f"/projects/{_p(w)}/prompts/{w['prompt'].pk}/versions",
              body=lambda w: {"template": "Answer: {{ question }}", "note": "api"}),
    Operation("teacher_list", "GET", lambda w: f"/projects/{_p(w)}/teachers"),
    Operation("teacher_create", "POST", lambda w: f"/projects/{_p(w)}/teachers",
              body=lambda w: {"name": "api oracle", "kind": "oracle"}),
    Operation("teacher_update", "PATCH",
              lambda w: f"/projects/{_p(w)}/teachers/{w['teacher'].pk}",
              body=lambda w: {"model": "m2"}),
    Operation("strategy_list", "GET", lambda w: "/strategies", team_scoped=False),
    Operation("curriculum_list", "GET", lambda w: f"/projects/{_p(w)}/curricula"),
    Operation("curriculum_new", "POST", lambda w: f"/projects/{_p(w)}/curricula",
              body=lambda w: {"name": "stat", "strategy": "stat_sel", "params": {"k": 3}}),
    Operation("run_list", "GET", lambda w: f"/projects/{_p(w)}/runs",
              query=("status", "cursor", "limit")),
    Operation("run_launch", "POST", lambda w: f"/projects/{_p(w)}/runs", body=_launch),
    Operation("run_detail", "GET", lambda w: f"/runs/{w['run'].pk}"),
    Operation("run_cancel_op", "POST", lambda w: f"/runs/{w['run'].pk}/cancel"),
    Operation("run_pause_op", "POST", lambda w: f"/runs/{w['run'].pk}/pause"),
    Operation("run_resume_op", "POST", lambda w: f"/runs/{w['run'].pk}/resume"),
    Operation("run_retry_op", "POST", lambda w: f"/runs/{w['run'].pk}/retry"),
    Operation("round_list", "GET", lambda w: f"/runs/{w['run'].pk}/rounds",
              query=("cursor", "limit")),
    Operation("example_import", "POST", lambda w: f"/projects/{_p(w)}/import",
              body=lambda w: {"content": '{"messages": [{"role": "user", "content": "5+5="}, '
                                         '{"role": "assistant", "content": "10"}]}\n',
                              "default_skill": "add"}),
    Operation("import_job_detail", "GET",
              lambda w: f"/projects/{_p(w)}/imports/{w['import_job'].pk}"),
    Operation("project_export", "GET", lambda w: f"/projects/{_p(w)}/export",
              query=("format",)),
    Operation("run_metrics_export", "GET", lambda w: f"/runs/{w['run'].pk}/metrics",
              query=("as",)),
    Operation("run_plans_export", "GET", lambda w: f"/runs/{w['run'].pk}/plans"),
    Operation("run_synthesized_export", "GET", lambda w: f"/runs/{w['run'].pk}/synthesized",
              query=("format",)),
    Operation("run_student_export", "GET", lambda w: f"/runs/{w['run'].pk}/student"),
]

CHAT_JSONL = (b'{"messages": [{"role": "user", "content": "5+5="}, '
              b'{"role": "assistant", "content": "10"}]}\n{broken\n')
ITEMS_JSONL = (b'{"id": "a", "prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}\n'
               b'{"id": "b", "prompt": "3+4=", "answer": "7", "skills": ["add"], "level": 1, '
               b'"split": "eval"}\n')


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


OPERATIONS += [
    Operation("team_list", "GET", lambda w: "/teams", team_scoped=False),
    Operation("team_create", "POST", lambda w: "/teams", body=lambda w: {"name": "Made by API"},
              team_scoped=False, anyone=True),
    Operation("project_create_from_file", "POST", lambda w: "/projects",
              form=lambda w: {"team": str(w["project"].team_id), "name": "from a file",
                              "file": _file("items.jsonl", ITEMS_JSONL)}),
    Operation("upload_check", "POST", lambda w: f"/projects/{_p(w)}/uploads",
              form=lambda w: {"file": _file("chat.jsonl", CHAT_JSONL), "format": "auto",
                              "default_skill": "add"}),
    Operation("upload_import", "POST",
              lambda w: f"/projects/{_p(w)}/uploads/{w['upload']}/import"),
    Operation("upload_cancel", "DELETE", lambda w: f"/projects/{_p(w)}/uploads/{w['upload']}"),
    Operation("example_review", "POST",
              lambda w: f"/projects/{_p(w)}/examples/{w['examples'][2].pk}/review",
              body=lambda w: {"action": "accept", "version": w["examples"][2].version,
                              "add_to_dataset": True}),
    Operation("comparison_list", "GET", lambda w: f"/projects/{_p(w)}/comparisons"),
    Operation("comparison_new", "POST", lambda w: f"/projects/{_p(w)}/comparisons",
              body=lambda w: {"name": "failed runs", "runs": [w["run"].pk]}),
    Operation("comparison_remove", "DELETE",
              lambda w: f"/projects/{_p(w)}/comparisons/{w['comparison'].pk}"),
]
BY_ID = {op.id: op for op in OPERATIONS}


def call(client, op: Operation, world: dict, body=None):
    """``op`` through ``client`` with its valid body (or ``body``)."""
    if op.method == "GET":
        return client.get(op.path(world))
    if op.form is not None and body is None:
        return client.multipart(op.method, op.path(world), op.form(world))
    payload = body if body is not None else (op.body(world) if op.body else None)
    return client.send(op.method, op.path(world), payload)
