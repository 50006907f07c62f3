"""Shared fixtures. The people of every access test:

- ``owner``: alice, owner of team A
- ``editor``: dave, editor in team A
- ``viewer``: bob, viewer in team A
- ``stranger``: charlie, owner of team B (and nothing in team A)

Django models are imported inside the fixtures, so engine tests that never ask for them
collect without touching Django.
"""

import pytest


@pytest.fixture
def team_a(db):
    from tests.factories import TeamFactory

    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    from tests.factories import TeamFactory

    return TeamFactory(name="Team B")


def _member(username, team, role):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username=username)
    MembershipFactory(user=user, team=team, role=role)
    return user


@pytest.fixture
def owner(team_a):
    return _member("alice", team_a, "owner")


@pytest.fixture
def editor(team_a):
    return _member("dave", team_a, "editor")


@pytest.fixture
def viewer(team_a):
    return _member("bob", team_a, "viewer")


@pytest.fixture
def stranger(team_b):
    return _member("charlie", team_b, "owner")


@pytest.fixture
def project_a(team_a):
    from tests.factories import ProjectFactory

    return ProjectFactory(team=team_a, name="Arithmetic A")


@pytest.fixture
def project_b(team_b):
    from tests.factories import ProjectFactory

    return ProjectFactory(team=team_b, name="Arithmetic B")


@pytest.fixture
def client_for(client):
    """``client_for(user)``: the test client logged in as ``user``."""

    def login(user):
        client.force_login(user)
        return client

    return login
