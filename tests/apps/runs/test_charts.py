from apps.runs.charts import accuracy_figure, level_share_figure


def test_accuracy_figure_has_overall_and_one_line_per_level():
    fig = accuracy_figure(
        rounds=[(0, 0.1), (1, None), (2, 0.5)],
        levels=[(2, 3, 0.25), (0, 1, 0.2), (2, 1, 0.8), (0, 3, 0.0)],
    )
    names = [t["name"] for t in fig["data"]]
    assert names == ["overall", "level 1", "level 3"]
    overall, level1, level3 = fig["data"]
    assert overall["x"] == [0, 2] and overall["y"] == [0.1, 0.5]
    assert level1["x"] == [0, 2] and level1["y"] == [0.2, 0.8]
    assert level3["y"] == [0.0, 0.25]
    assert fig["layout"]["yaxis"]["range"] == [0, 1]


def test_accuracy_figure_of_an_empty_run():
    fig = accuracy_figure(rounds=[], levels=[])
    assert fig["data"] == [] and "layout" in fig


def test_level_share_figure_stacks_levels_and_skips_round_zero():
    fig = level_share_figure(levels=[(0, 1, 0.5), (1, 1, 0.75), (1, 2, 0.25), (2, 2, 1.0)])
    assert fig["layout"]["barmode"] == "stack"
    assert [t["name"] for t in fig["data"]] == ["level 1", "level 2"]
    assert fig["data"][0]["x"] == [1, 2] and fig["data"][0]["y"] == [0.75, 0.0]
    assert fig["data"][1]["y"] == [0.25, 1.0]

