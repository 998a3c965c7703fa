"""Comments through the HTTP API: a person's token comments and reads, strangers get 404, mentions are checked."""

from __future__ import annotations

from bot.tokens import create_token
from tests.edges.test_api import api, auth, new_request  # noqa: F401  (the API fixture and its helpers)


def person_token(client, person: str) -> dict[str, str]:
    token = create_token(client.runtime.engine, name=f"portal-{person}", role="service", person=person)
    return {"Authorization": f"Bearer {token}"}


def submitted(client) -> str:
    created = client.post("/api/v1/requisitions", json=new_request(), headers=auth(client, "service"))
    assert created.status_code == 201, created.text
    return created.json()["number"]


def test_an_approver_comments_and_the_requester_reads_it(api):  # noqa: F811
    """Maria's own token comments on Jake's request; Jake's token lists it with her name."""
    number = submitted(api)
    posted = api.post(
        f"/api/v1/requisitions/{number}/comments",
        headers=person_token(api, "maria.lopez"),
        json={"actor": "maria.lopez", "text": "Can we use the contract price?"},
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["message"].startswith(f"Your comment is on {number}")
    listed = api.get(f"/api/v1/requisitions/{number}/comments", headers=person_token(api, "jake.miller"))
    assert listed.status_code == 200
    assert [(c["author_name"], c["text"], c["surface"]) for c in listed.json()] == [
        ("Maria Lopez", "Can we use the contract price?", "api")
    ]


def test_a_stranger_reads_and_comments_nothing(api):  # noqa: F811
    """A Seattle technician's token gets 404 for the comments of a Dallas request, the same as for no request."""
    number = submitted(api)
    eric = person_token(api, "eric.larsen")
    assert api.get(f"/api/v1/requisitions/{number}/comments", headers=eric).status_code == 404
    refused = api.post(
        f"/api/v1/requisitions/{number}/comments", headers=eric, json={"actor": "eric.larsen", "text": "hi"}
    )
    assert refused.status_code == 404
    assert api.get(f"/api/v1/requisitions/{number}/comments", headers=auth(api, "auditor")).json() == []


def test_a_token_cannot_comment_as_someone_else(api):  # noqa: F811
    """Jake's token naming Maria as the author is refused with 403 and nothing is kept."""
    number = submitted(api)
    refused = api.post(
        f"/api/v1/requisitions/{number}/comments",
        headers=person_token(api, "jake.miller"),
        json={"actor": "maria.lopez", "text": "approved, trust me"},
    )
    assert refused.status_code == 403
    assert api.get(f"/api/v1/requisitions/{number}/comments", headers=auth(api, "auditor")).json() == []


def test_a_bad_mention_or_an_oversized_comment_is_a_clear_422(api):  # noqa: F811
    """A mention of someone who cannot see the request, and a 2,001-character comment, are refused with reasons."""
    number = submitted(api)
    jake = person_token(api, "jake.miller")
    url = f"/api/v1/requisitions/{number}/comments"
    mention = api.post(url, headers=jake, json={"actor": "jake.miller", "text": "@eric.larsen spares?"})
    assert mention.status_code == 422 and "Eric Larsen can't see" in mention.text
    long = api.post(url, headers=jake, json={"actor": "jake.miller", "text": "x" * 2001})
    assert long.status_code == 422
    assert api.get(url, headers=jake).json() == []
