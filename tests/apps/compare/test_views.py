import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.compare.models import Comparison
from apps.compare.selectors import comparison_context
from tests.apps.compare.conftest import make_run
from tests.factories import CurriculumFactory, SkillFactory


def _query(runs, **extra):
    return "?" + "&".join([f"run={r.pk}" for r in runs]
                          + [f"{k}={v}" for k, v in extra.items()])


@pytest.fixture
def saved(project_a, six_runs, owner):
    return Comparison.objects.create(project=project_a, name="targeting",
                                     run_ids=[r.pk for r in six_runs], created_by=owner)


def _read_urls(project, comparison, runs):
    q = _query(runs)
    return [
        reverse("compare:comparison-new", args=[project.pk]) + q,
        reverse("compare:selection-export", args=[project.pk, "csv"]) + q,
        reverse("compare:selection-export", args=[project.pk, "html"]) + q,
        reverse("compare:comparison-list", args=[project.pk]),
        reverse("compare:comparison-detail", args=[comparison.pk]),
        reverse("compare:comparison-export", args=[comparison.pk, "csv"]),
        reverse("compare:comparison-export", args=[comparison.pk, "html"]),
    ]


def _save(client, project, runs, name="mine", **extra):
    data = {"name": name, "run": [r.pk for r in runs], "group": "strategy", **extra}
    return client.post(reverse("compare:comparison-create", args=[project.pk]), data)


def test_pages_need_login(client, project_a, saved, six_runs):
    for url in _read_urls(project_a, saved, six_runs):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url, url


def test_stranger_gets_404_everywhere(client_for, stranger, project_a, saved, six_runs):
    client = client_for(stranger)
    for url in _read_urls(project_a, saved, six_runs):
        assert client.get(url).status_code == 404, url
    assert _save(client, project_a, six_runs).status_code == 404
    delete = reverse("compare:comparison-delete", args=[saved.pk])
    assert client.post(delete).status_code == 404
    assert list(Comparison.objects.values_list("name", flat=True)) == ["targeting"]


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
def test_members_read_every_page(request, client_for, role, project_a, saved, six_runs):
    client = client_for(request.getfixturevalue(role))
    for url in _read_urls(project_a, saved, six_runs):
        assert client.get(url).status_code == 200, url


def test_viewer_cannot_save_or_delete(client_for, viewer, project_a, saved, six_runs):
    client = client_for(viewer)
    assert _save(client, project_a, six_runs).status_code == 403
    assert client.post(reverse("compare:comparison-delete", args=[saved.pk])).status_code == 403
    assert list(Comparison.objects.values_list("name", flat=True)) == ["targeting"]
    html = client.get(reverse("compare:comparison-new", args=[project_a.pk])
                      + _query(six_runs)).content.decode()
    assert 'id="comparison-save"' not in html
    html = client.get(reverse("compare:comparison-detail", args=[saved.pk])).content.decode()
    assert 'id="comparison-delete"' not in html


@pytest.mark.parametrize("role", ["editor", "owner"])
def test_editor_and_owner_save_and_delete(request, client_for, role, project_a, six_runs):
    user = request.getfixturevalue(role)
    client = client_for(user)
    response = _save(client, project_a, six_runs, name="by strategy", baseline="group:uniform")
    comparison = Comparison.objects.get(name="by strategy")
    assert response.status_code == 302
    assert response.url == reverse("compare:comparison-detail", args=[comparison.pk])
    assert comparison.run_ids == [r.pk for r in six_runs] and comparison.filter == {}
    assert comparison.created_by == user and comparison.baseline == "group:uniform"
    listing = client.get(reverse("compare:comparison-list", args=[project_a.pk]))
    assert "by strategy" in listing.content.decode()
    response = client.post(reverse("compare:comparison-delete", args=[comparison.pk]))
    assert response.status_code == 302 and not Comparison.objects.exists()


def test_save_refuses_bad_input_and_saves_nothing(client_for, editor, project_a, project_b,
                                                  six_runs, saved):
    client = client_for(editor)
    foreign = make_run(project_b, CurriculumFactory(project=project_b), seed=1, held_out=False,
                       skills=[SkillFactory(project=project_b, name="b-skill")])
    for data, message in (
        ({"name": ""}, "must not be empty"),
        ({"name": "targeting"}, "already has a comparison"),
        ({"name": "x" * 101}, "at most 100"),
        ({"name": "ok", "run": ["abc"]}, "is not a run id"),
        ({"name": "ok", "run": [foreign.pk]}, f"no run {foreign.pk} in project"),
        ({"name": "ok", "run": []}, "choose runs, or a filter"),
        ({"name": "ok", "group": "__class__.x y"}, "cannot group by"),
    ):
        payload = {"run": [r.pk for r in six_runs], "group": "strategy", **data}
        response = client.post(reverse("compare:comparison-create", args=[project_a.pk]),
                               payload)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert Comparison.objects.count() == 1
    assert "b-skill" not in response.content.decode()


def test_other_teams_run_ids_are_ignored(client_for, owner, project_a, project_b, six_runs):
    foreign = make_run(project_b, CurriculumFactory(project=project_b, strategy="dump"),
                       seed=5, name="secret foreign run",
                       skills=[SkillFactory(project=project_b, name="foreign-skill")])
    client = client_for(owner)
    url = reverse("compare:comparison-new", args=[project_a.pk]) + _query([*six_runs, foreign])
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and response.context["n_runs"] == 6
    assert "secret foreign run" not in html and "foreign-skill" not in html
    assert "dump" not in {g["label"] for g in response.context["groups"]}
    only_foreign = client.get(reverse("compare:comparison-new", args=[project_a.pk])
                              + _query([foreign]))
    assert only_foreign.context["n_runs"] == 0 and "secret foreign run" not in \
        only_foreign.content.decode()
    csv_text = client.get(reverse("compare:selection-export", args=[project_a.pk, "csv"])
                          + _query([foreign])).content.decode()
    assert csv_text.strip().count("\n") == 0  # the header only
    # A saved comparison holding a foreign id (written by hand) still shows only its own runs.
    saved = Comparison.objects.create(project=project_a, name="x",
                                      run_ids=[six_runs[0].pk, foreign.pk])
    ctx = client.get(reverse("compare:comparison-detail", args=[saved.pk])).context
    assert [r["pk"] for r in ctx["runs"]] == [six_runs[0].pk]


def test_grouped_by_strategy_mean_std_on_steps_with_baseline(client_for, viewer, project_a,
                                                             six_runs):
    response = client_for(viewer).get(reverse("compare:comparison-new", args=[project_a.pk])
                                      + _query(six_runs))
    ctx = response.context
    assert [g["label"] for g in ctx["groups"]] == ["sec", "stat_sel", "uniform"]
    assert ctx["baseline"] == "group:uniform"  # the default baseline
    figure = ctx["figures"]["accuracy"]
    uniform = next(t for t in figure["data"] if t["name"] == "uniform")
    assert uniform["x"] == [0, 10, 20, 30]  # round index x steps per round
    # seeds 0 and 2: accuracies 0.30 and 0.32 at round 0 -> mean 0.31, sample std 0.01414
    assert uniform["y"][0] == pytest.approx(0.31)
    assert uniform["error_y"]["array"][0] == pytest.approx(0.0141, abs=1e-4)
    assert figure["layout"]["xaxis"]["title"]["text"] == "training steps"
    assert "held_out" in ctx["figures"] and "weakest" in ctx["figures"]
    weakest = next(t for t in ctx["figures"]["weakest"]["data"] if t["name"] == "stat_sel")
    assert weakest["y"][-1] == pytest.approx(0.41 + 0.3 - 0.2)  # from the stored profile
    rows = {r["name"]: r for r in ctx["table"]["rows"]}
    cols = [c["label"] for c in ctx["table"]["columns"]]
    stat_sel = cols.index("stat_sel")
    # final round 3: stat_sel 0.71 / 0.73 vs uniform 0.61 / 0.63 -> +0.1 everywhere
    assert rows["overall accuracy"]["cells"][stat_sel]["delta"] == pytest.approx(0.1)
    assert rows["add"]["cells"][stat_sel]["delta"] == pytest.approx(0.1)
    assert rows["carry"]["cells"][stat_sel]["weakest"] is True  # 0.2 below the overall
    assert ctx["table"]["weakest"] == {"sec": "carry", "stat_sel": "carry", "uniform": "carry"}
    assert rows["held-out level 9"]["highlight"] and rows["held-out accuracy"]["highlight"]
    html = response.content.decode()
    assert 'id="compare-table"' in html and 'class="kind-held_out_level highlight"' in html
    assert 'data-compare-figure="compare-accuracy"' in html and "SECRET" not in html
    assert "compare_charts.js" in html and "vendor/plotly" in html


def test_group_by_a_launch_parameter_and_a_run_baseline(client_for, owner, project_a, skills,
                                                        curricula):
    runs = [make_run(project_a, curricula["uniform"], seed=s, lr=lr)
            for lr in (0.001, 0.01) for s in (0, 1)]
    client = client_for(owner)
    base = reverse("compare:comparison-new", args=[project_a.pk]) + _query(runs)
    ctx = client.get(base + "&group=lr").context
    assert [g["label"] for g in ctx["groups"]] == ["0.001", "0.01"]
    assert ("lr", "learning rate") in ctx["group_options"]
    assert ("spec.train.lr", "train.lr") not in ctx["group_options"]  # the run field instead
    assert not any("seed" in key or "prompts" in key for key, _ in ctx["group_options"])
    ctx = client.get(base + f"&group=lr&baseline=run:{runs[0].pk}").context
    assert ctx["baseline"] == f"run:{runs[0].pk}"
    overall = ctx["table"]["rows"][0]
    assert overall["cells"][0]["delta"] == pytest.approx(0.005)  # mean(0.6, 0.61) - 0.6
    ctx = client.get(base + "&group=spec.teacher.kind").context
    assert [g["label"] for g in ctx["groups"]] == ["oracle"]
    ctx = client.get(base + "&group=run").context
    assert len(ctx["groups"]) == 4


def test_bad_parameters_are_named_and_fall_back(client_for, viewer, project_a, six_runs):
    client = client_for(viewer)
    url = reverse("compare:comparison-new", args=[project_a.pk]) + _query(
        six_runs, group="no such thing", baseline="group:nope") + "&run=x1&status=bogus"
    response = client.get(url)
    errors = " ".join(response.context["errors"])
    assert response.status_code == 200
    assert "cannot group by" in errors and "'x1' is not a run id" in errors
    assert "unknown status" in errors and "baseline is not in this comparison" in errors
    assert response.context["group_by"] == "strategy"
    assert response.context["baseline"] == "group:uniform"
    assert client.get(reverse("compare:selection-export", args=[project_a.pk, "pdf"])
                      ).status_code == 404


def test_saved_filter_matches_runs_each_time(client_for, editor, project_a, six_runs,
                                             curricula):
    client = client_for(editor)
    response = client.post(reverse("compare:comparison-create", args=[project_a.pk]),
                           {"name": "filtered", "strategy": ["uniform", "sec"],
                            "status": ["succeeded"], "group": "strategy"})
    assert response.status_code == 302
    comparison = Comparison.objects.get(name="filtered")
    assert comparison.run_ids == []
    assert comparison.filter == {"strategies": ["uniform", "sec"], "statuses": ["succeeded"]}
    ctx = client.get(reverse("compare:comparison-detail", args=[comparison.pk])).context
    assert ctx["n_runs"] == 4
    make_run(project_a, curricula["sec"], seed=7)
    failed = make_run(project_a, curricula["sec"], seed=8)
    failed.status = "failed"
    failed.save()
    ctx = client.get(reverse("compare:comparison-detail", args=[comparison.pk])).context
    assert ctx["n_runs"] == 5


def test_comparison_context_for_share_links_has_no_controls_nor_links(project_a, saved):
    from django.template.loader import render_to_string

    ctx = comparison_context(comparison=saved, shared=True)
    assert ctx["shared"] is True and ctx["n_runs"] == 6
    html = render_to_string("compare/_comparison.html", ctx)
    assert 'id="compare-table"' in html and 'data-compare-figure' in html
    assert "<form" not in html and "<a " not in html and "/runs/" not in html
    own = render_to_string("compare/_comparison.html", comparison_context(comparison=saved))
    assert 'id="compare-controls"' in own and "/runs/" in own


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_number_of_runs(client_for, viewer, project_a,
                                                           skills, curricula):
    client = client_for(viewer)
    small = [make_run(project_a, curricula["uniform"], seed=s, rounds=2) for s in range(3)]
    url = reverse("compare:comparison-new", args=[project_a.pk])
    counts_small = _count_queries(client, url + _query(small))
    big = small + [make_run(project_a, curricula[("stat_sel", "sec")[s % 2]], seed=s,
                            rounds=2) for s in range(3, 55)]
    counts_big = _count_queries(client, url + _query(big))
    assert counts_big == counts_small <= 12
    saved = Comparison.objects.create(project=project_a, name="big",
                                      run_ids=[r.pk for r in big])
    assert _count_queries(client, reverse("compare:comparison-detail", args=[saved.pk])) <= 12
    # Metrics without the weakest-skill accuracy cost one query more, whatever the runs.
    assert client.get(url + _query(big)).context["n_runs"] == 55


def test_round_rows_read_the_same_without_the_postgresql_query(monkeypatch, six_runs):
    from apps.compare import selectors

    ids = [r.pk for r in six_runs]
    fast = selectors._round_rows(ids)
    monkeypatch.setattr(selectors, "_detoast_once", lambda: False)  # the portable ORM query
    portable = selectors._round_rows(ids)
    assert len(fast) == 24 and fast == portable
    assert fast[0]["held_out_levels"] == [9] and fast[0]["weakest"] is None


def test_run_list_offers_checkboxes_that_survive_its_refresh(client_for, viewer, project_a,
                                                            six_runs):
    client = client_for(viewer)
    url = reverse("runs:run-list", args=[project_a.pk])
    html = client.get(url).content.decode()
    assert f'action="{reverse("compare:comparison-new", args=[project_a.pk])}"' in html
    assert 'id="compare-button"' in html and "compare_pick.js" in html
    for run in six_runs:
        assert (f'<input type="checkbox" name="run" value="{run.pk}" form="compare-form" '
                f'id="pick-{run.pk}"') in html
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="run-table"')
    assert partial.count("hx-preserve") == len(six_runs) + 1  # the ticks stay on a refresh


def test_rounds_are_cached_until_a_round_is_added(client_for, viewer, project_a, six_runs,
                                                  skills):
    from apps.runs.models import Round

    client = client_for(viewer)
    url = reverse("compare:comparison-new", args=[project_a.pk]) + _query(six_runs)
    cold = _count_queries(client, url)
    warm = _count_queries(client, url)
    # the rounds (with the weakest skill read from the profiles), the final profiles and
    # the held-out levels come from the cache
    assert warm == cold - 4
    Round.objects.create(run=six_runs[0], index=4, metrics={"accuracy": 0.99})
    # that run's keys changed: its rounds and its new last round are read again (no
    # held-out levels in the new round: no level query)
    assert _count_queries(client, url) == cold - 1
    ctx = client.get(url).context
    sec = next(t for t in ctx["figures"]["accuracy"]["data"] if t["name"] == "uniform")
    assert sec["x"][-1] == 40 and sec["y"][-1] == pytest.approx(0.99)
