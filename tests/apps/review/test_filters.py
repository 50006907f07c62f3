import pytest
from django.urls import reverse

from apps.review.filters import ReviewFilter, filter_parse, filtered_examples
from apps.review.selectors import facet_counts, page_read

pytestmark = pytest.mark.django_db


def test_parse_reads_known_filters_and_notes_bad_ones():
    f = filter_parse({"level": "2", "skill": "x", "status": "weird", "origin": "synthesized",
                      "q": " carry "}, default_status="pending")
    assert (f.level, f.skill, f.status, f.origin, f.q) == (2, None, "pending",
                                                          "synthesized", "carry")
    assert len(f.notes) == 2
    assert filter_parse(f.params()) == f  # the URL gives the same filter back


def test_a_nul_in_the_search_text_is_left_out_with_a_note(world, owner, client):
    f = filter_parse({"q": "QUEST\x00ION 5\x00"})
    assert f.q == "QUESTION 5" and "NUL" in f.notes[0]
    assert ids(filtered_examples(world.project, f)) == [world.pending[5].pk]
    client.force_login(owner)
    for name in ("review:facets", "review:example-list", "review:queue"):
        response = client.get(reverse(name, args=[world.project.pk]), {"q": "\x00", "run": ""})
        assert response.status_code == 200, name


def ids(qs):
    return sorted(qs.values_list("pk", flat=True))


def test_each_filter_narrows(world, owner):
    p = world.project
    syn = [e.pk for e in world.pending]
    assert ids(filtered_examples(p, ReviewFilter(status="pending"))) == syn
    assert ids(filtered_examples(p, ReviewFilter(run=world.run.pk))) == syn
    assert ids(filtered_examples(p, ReviewFilter(round=world.round.index))) == syn
    assert ids(filtered_examples(p, ReviewFilter(skill=world.carry.pk))) == syn[1::2]
    assert ids(filtered_examples(p, ReviewFilter(agreement=3))) == syn[4:]
    assert ids(filtered_examples(p, ReviewFilter(origin="seed"))) == sorted(
        e.pk for e in world.seed)
    assert ids(filtered_examples(p, ReviewFilter(level=3))) == [world.seed[2].pk]
    assert ids(filtered_examples(p, ReviewFilter(q="QUESTION 5"))) == [syn[5]]
    assert ids(filtered_examples(p, ReviewFilter(reviewer=owner.pk))) == []


def test_facet_counts_keep_the_other_filters(world):
    counts = facet_counts(project=world.project, f=ReviewFilter(status="pending", level=2))
    assert counts["status"] == {"pending": 6, "approved": 2}  # level-2 items of any status
    assert counts["level"] == {2: 6}  # pending items of every level
    assert counts["agreement"] == {2: 4, 3: 2}
    assert counts["skill"] == {world.add.pk: 3, world.carry.pk: 3}
    assert counts["run"] == {world.run.pk: 6}


def test_keyset_pages_walk_forward_and_back(world):
    f = ReviewFilter()  # any status: pending first, then by id
    first = page_read(project=world.project, f=f, cursor=None, size=4)
    assert [r["review_status"] for r in first.rows] == ["pending"] * 4
    assert first.prev_cursor is None and first.next_cursor
    from apps.review.filters import cursor_parse
    second = page_read(project=world.project, f=f, cursor=cursor_parse(first.next_cursor),
                       size=4)
    third = page_read(project=world.project, f=f, cursor=cursor_parse(second.next_cursor),
                      size=4)
    seen = [r["id"] for r in first.rows + second.rows + third.rows]
    assert len(seen) == len(set(seen)) == 11
    assert third.next_cursor is None
    back = page_read(project=world.project, f=f, cursor=cursor_parse(second.prev_cursor),
                     size=4, backwards=True)
    assert [r["id"] for r in back.rows] == [r["id"] for r in first.rows]
    assert back.first
