"""The migration that encrypts stored teacher keys: plain keys become tokens, and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.common.secrets import decrypt, is_encrypted

BEFORE = [("prompts", "0001_initial")]
AFTER = [("prompts", "0002_encrypt_teacher_api_keys")]
PLAIN = "sk-plain-before-encryption-77"


def _migrate(targets):
    """Migrate to ``targets``; the models of every app as they are then."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "prompts"]
    prompts = [n for n in targets if n[0] == "prompts"]
    return executor.loader.project_state(others + prompts).apps


def _raw_keys() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, api_key FROM prompts_teacherconfig")
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_plain_keys_are_encrypted_and_the_migration_reverses():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE)
        team = old.get_model("accounts", "Team").objects.create(name="t")
        project = old.get_model("projects", "Project").objects.create(team=team, name="p")
        teacher = old.get_model("prompts", "TeacherConfig")
        teacher.objects.create(project=project, name="keyed", api_key=PLAIN)
        teacher.objects.create(project=project, name="keyless", api_key="")

        _migrate(AFTER)
        raw = _raw_keys()
        assert is_encrypted(raw["keyed"]) and PLAIN not in raw["keyed"]
        assert decrypt(raw["keyed"]) == PLAIN and raw["keyless"] == ""

        _migrate(BEFORE)  # reversible: back to the plain column
        assert _raw_keys() == {"keyed": PLAIN, "keyless": ""}
    finally:
        _migrate(latest)
