"""Teacher prompt pages: versions, editor, preview, try it, diff."""

import pytest
from django.urls import reverse

from apps.prompts.models import TeacherPrompt, TeacherPromptVersion
from apps.prompts.services import prompt_defaults_install
from tests.apps.teacher_server import FakeServer, completion
from tests.factories import (
    ExampleFactory,
    RunFactory,
    SkillFactory,
    TeacherConfigFactory,
    TeacherPromptFactory,
    TeacherPromptVersionFactory,
)
from workers.engine.teachers.prompts import default_template


@pytest.fixture
def seeded(project_a):
    add = SkillFactory(project=project_a, name="add", description="add digits")
    carry = SkillFactory(project=project_a, name="carry", description="carry a ten")
    ExampleFactory(project=project_a, prompt="47+38=", answer="85", skills=[add, carry],
                   level=2, split="eval")
    ExampleFactory(project=project_a, prompt="2+3=", answer="5", skills=[add], level=1)
    return project_a


@pytest.fixture
def grade(seeded):
    prompt = TeacherPromptFactory(project=seeded, role="grade", name="grader")
    TeacherPromptVersionFactory(prompt=prompt, version=1, template=default_template("grade"))
    TeacherPromptVersionFactory(
        prompt=prompt, version=2,
        template=default_template("grade").replace("Judge whether", "Decide whether"))
    return prompt


def purl(name, prompt, *extra):
    return reverse(f"prompts:{name}", args=[prompt.project_id, prompt.pk, *extra])


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_prompt_list_by_role(request, client_for, who, seeded, grade):
    response = client_for(request.getfixturevalue(who)).get(
        reverse("prompts:prompt-list", args=[seeded.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "grader" in html and "v2" in html and "2 versions" in html
    assert "Synthesize new items" in html and "runs use the built-in default" in html
    assert ("Install the built-in defaults" in html) == (who != "viewer")


def test_prompt_list_query_count_is_bounded(client_for, owner, seeded,
                                            django_assert_max_num_queries):
    prompt_defaults_install(user=owner, project=seeded)
    for i in range(10):
        p = TeacherPromptFactory(project=seeded, role="solve", name=f"solve {i}")
        TeacherPromptVersionFactory.create_batch(3, prompt=p)
    client = client_for(owner)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("prompts:prompt-list", args=[seeded.pk]))
    assert response.content.decode().count("version") >= 16


def test_install_defaults(client_for, editor, viewer, seeded):
    url = reverse("prompts:prompt-defaults", args=[seeded.pk])
    assert client_for(viewer).post(url).status_code == 403
    assert client_for(editor).post(url).status_code == 302
    assert TeacherPrompt.objects.filter(project=seeded).count() == 6


def test_prompt_pages_are_404_for_a_stranger(client_for, stranger, seeded, grade):
    client = client_for(stranger)
    assert client.get(reverse("prompts:prompt-list", args=[seeded.pk])).status_code == 404
    assert client.get(purl("prompt-detail", grade)).status_code == 404
    assert client.get(purl("prompt-diff", grade) + "?a=1&b=2").status_code == 404
    assert client.post(purl("prompt-detail", grade), {"template": "x"}).status_code == 404
    assert client.post(purl("prompt-preview", grade), {"template": "x"}).status_code == 404
    assert client.post(purl("prompt-try", grade), {"template": "x"}).status_code == 404
    assert client.get(reverse("prompts:prompt-new", args=[seeded.pk])).status_code == 404
    assert TeacherPromptVersion.objects.count() == 2


def test_viewer_reads_versions_but_cannot_save_or_try(client_for, viewer, seeded, grade):
    client = client_for(viewer)
    html = client.get(purl("prompt-detail", grade)).content.decode()
    assert "Decide whether" in html and "readonly" in html
    assert "Save as a new version" not in html and "Try it</button>" not in html
    assert client.post(purl("prompt-detail", grade),
                       {"template": "{{ question }}"}).status_code == 403
    teacher = TeacherConfigFactory(project=seeded)
    assert client.post(purl("prompt-try", grade), {"template": "{{ question }}",
                                                   "teacher": teacher.pk}).status_code == 403
    assert client.get(reverse("prompts:prompt-new", args=[seeded.pk])).status_code == 403
    assert grade.versions.count() == 2


def test_detail_shows_variables_versions_and_run_usage(client_for, editor, seeded, grade):
    run = RunFactory(project=seeded)
    run.prompt_versions.set([grade.versions.get(version=1)])
    response = client_for(editor).get(purl("prompt-detail", grade))
    html = response.content.decode()
    assert "{{ prediction }}" in html and "The student&#x27;s answer." in html
    versions = {v.version: v.n_runs for v in response.context["versions"]}
    assert versions == {1: 1, 2: 0}
    html = client_for(editor).get(purl("prompt-detail", grade) + "?from=1").content.decode()
    assert "Judge whether" in html and "(from v1)" in html


def test_saving_makes_a_new_immutable_version(client_for, editor, seeded, grade):
    text = "{{ question }} -> {{ reference }} vs {{ prediction }}\n{{ skills }}"
    response = client_for(editor).post(purl("prompt-detail", grade),
                                       {"template": text, "note": "short"})
    assert response.status_code == 302
    latest = grade.versions.order_by("-version").first()
    assert (latest.version, latest.template, latest.note) == (3, text, "short")
    assert grade.versions.get(version=1).template == default_template("grade")


@pytest.mark.parametrize("template, message", [
    ("Grade {{ question }} and {{ student_mood }}", "unknown variable &#x27;student_mood&#x27;"),
    ("Grade {{ question.upper }}", "attribute or item access is not allowed"),
    ("{% if x %}{{ question }}{% endif %}", "template tags"),
    ("Grade {{ question }} {{ reference", "unclosed"),
    ("   ", "the template is empty"),
])
def test_bad_templates_are_inline_errors_and_save_nothing(client_for, editor, seeded, grade,
                                                          template, message):
    response = client_for(editor).post(purl("prompt-detail", grade), {"template": template})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert grade.versions.count() == 2


def test_new_prompt_with_an_unknown_variable_saves_nothing(client_for, editor, seeded):
    url = reverse("prompts:prompt-new", args=[seeded.pk])
    client = client_for(editor)
    html = client.get(url + "?role=solve").content.decode()
    assert "Solve this item step by step" in html
    response = client.post(url, {"role": "solve", "name": "mine", "template": "{{ colour }}"})
    assert response.status_code == 400
    assert "unknown variable" in response.content.decode()
    assert not TeacherPrompt.objects.exists()
    response = client.post(url, {"role": "solve", "name": "mine",
                                 "template": "Solve {{ question }}"})
    prompt = TeacherPrompt.objects.get()
    assert response.url == purl("prompt-detail", prompt)
    assert prompt.versions.get().version == 1


def test_preview_renders_the_editor_text_on_a_real_example(client_for, viewer, seeded, grade):
    response = client_for(viewer).post(purl("prompt-preview", grade), {
        "template": "Q {{ question }} ref {{ reference }} got {{ prediction }}\n{{ skills }}",
        "prediction": "75"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="preview-result">')
    assert "Q 47+38= ref 85 got 75" in html
    assert "- add: add digits" in html and "- carry: carry a ten" in html


def test_preview_of_a_bad_template_or_example(client_for, editor, seeded, grade, project_b):
    client = client_for(editor)
    response = client.post(purl("prompt-preview", grade), {"template": "{{ nope }}"})
    assert response.status_code == 400 and "unknown variable" in response.content.decode()
    other = ExampleFactory(project=project_b)
    response = client.post(purl("prompt-preview", grade),
                           {"template": "{{ question }}", "example": other.pk})
    assert response.status_code == 400 and "no such example" in response.content.decode()


def test_try_it_with_the_oracle(client_for, editor, seeded):
    prompt = TeacherPromptFactory(project=seeded, role="extract_skills", name="x")
    TeacherPromptVersionFactory(prompt=prompt, version=1,
                                template=default_template("extract_skills"))
    oracle = TeacherConfigFactory(project=seeded, kind="oracle")
    response = client_for(editor).post(purl("prompt-try", prompt), {
        "template": default_template("extract_skills"), "teacher": oracle.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "1. add:" in html  # the raw answer
    assert "carry: " in html and "Parsed" in html


def test_try_it_shows_raw_output_and_the_parser_reading(client_for, editor, seeded, grade):
    raw = "<judge>incorrect</judge><reason>forgot the carry</reason><skill>carry</skill>"
    with FakeServer([(200, completion(raw), 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, kind="openai", base_url=server.url,
                                       model="m")
        response = client_for(editor).post(purl("prompt-try", grade), {
            "template": "Grade {{ question }} {{ reference }} {{ prediction }} {{ skills }}",
            "teacher": teacher.pk, "prediction": "75"}, HTTP_HX_REQUEST="true")
        sent = server.requests[0]["body"]["messages"][0]["content"]
    html = response.content.decode()
    assert response.status_code == 200
    assert sent.startswith("Grade 47+38= 85 75")
    assert "&lt;judge&gt;incorrect&lt;/judge&gt;" in html  # raw, escaped
    assert "judge: incorrect" in html and "missing skills: carry" in html
    assert grade.versions.count() == 2


def test_try_it_shows_a_parse_failure(client_for, editor, seeded, grade):
    with FakeServer([(200, completion("I think it is wrong."), 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, kind="openai", base_url=server.url,
                                       model="m")
        response = client_for(editor).post(purl("prompt-try", grade), {
            "template": default_template("grade"), "teacher": teacher.pk})
    html = response.content.decode()
    assert response.status_code == 400
    assert "I think it is wrong." in html and "The parser refused it" in html


def test_diff_between_two_versions(client_for, viewer, seeded, grade):
    response = client_for(viewer).get(purl("prompt-diff", grade) + "?a=1&b=2")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="diff-del">-' in html and "Judge whether" in html
    assert '<span class="diff-add">+' in html and "Decide whether" in html
    response = client_for(viewer).get(purl("prompt-diff", grade) + "?a=1&b=9")
    assert response.status_code == 400 and "has no version 9" in response.content.decode()


def test_diff_escapes_template_text(client_for, owner, seeded):
    prompt = TeacherPromptFactory(project=seeded, role="solve", name="x")
    TeacherPromptVersionFactory(prompt=prompt, version=1, template="{{ question }}")
    TeacherPromptVersionFactory(prompt=prompt, version=2,
                                template="<script>alert(1)</script> {{ question }}")
    html = client_for(owner).get(purl("prompt-diff", prompt) + "?a=1&b=2").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- huge templates and rate limits ---------------------------------------------------------

def test_a_preview_of_200000_placeholders_is_refused_naming_the_limit(client_for, viewer,
                                                                        seeded, grade):
    """The check was quadratic: such a preview by a viewer took a minute of a web process."""
    response = client_for(viewer).post(purl("prompt-preview", grade),
                                       {"template": "{{ question }}" * 200_000},
                                       HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert "the limit is 20,000 characters" in html and "rendered" not in html


def test_preview_is_rate_limited_per_user(client_for, viewer, editor, seeded, grade):
    client = client_for(viewer)
    for _ in range(30):
        response = client.post(purl("prompt-preview", grade), {"template": "{{ question }}"})
        assert response.status_code == 200
    response = client.post(purl("prompt-preview", grade), {"template": "{{ question }}"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert 'id="preview-result"' in html
    assert "Too many previews: the limit is 30 a minute." in html
    # another user has a counter of their own
    response = client_for(editor).post(purl("prompt-preview", grade),
                                       {"template": "{{ question }}"})
    assert response.status_code == 200


def test_try_it_is_rate_limited_per_user(client_for, editor, seeded, grade):
    oracle = TeacherConfigFactory(project=seeded, kind="oracle")
    client = client_for(editor)
    data = {"template": default_template("grade"), "teacher": oracle.pk, "prediction": "85"}
    for _ in range(10):
        assert client.post(purl("prompt-try", grade), data).status_code != 429
    response = client.post(purl("prompt-try", grade), data)
    assert response.status_code == 429
    html = response.content.decode()
    assert 'id="try-result"' in html
    assert "Too many teacher calls: the limit is 10 a minute." in html


def test_a_rate_limit_window_closes(settings, client_for, viewer, seeded, grade, monkeypatch):
    import time

    settings.STUDIO_RATE_LIMITS = {"prompt-preview": (2, 60)}
    client = client_for(viewer)
    url, data = purl("prompt-preview", grade), {"template": "{{ question }}"}
    assert [client.post(url, data).status_code for _ in range(3)] == [200, 200, 429]
    assert "the limit is 2 a minute" in client.post(url, data).content.decode()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)  # the cache's clock too
    assert client.post(url, data).status_code == 200
