"""The directory synced from Microsoft Entra ID through Microsoft Graph, against a local fake Graph and token endpoint:
initial sync, paging, delta, throttling, a leaver, a mover, a failed sync, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from sqlmodel import Session, select
from typer.testing import CliRunner

from approvals.directory_changes import DirectoryRefused
from approvals.directory_store import DirectorySync, DirectoryVersion
from bot.settings import Settings, get_settings
from connectors.directory.config import GraphSettings
from connectors.directory.graph import GraphClient, GraphError
from connectors.directory.mapping import load_mapping
from connectors.directory.sync import sync_from_graph
from tests.erp_fakes import FakeEntra, self_signed_cert
from tests.factories import boxes, submit
from tests.fake_graph import FakeGraph, group_id, object_id

TENANT, CLIENT, SECRET = "11111111-2222-3333-4444-555555555555", "graph-app", "graph-secret"
SITES = {
    "Dallas DC": "DAL",
    "Chicago DC": "CHI",
    "Atlanta DC": "ATL",
    "Edison NJ DC": "NJ",
    "Phoenix DC": "PHX",
    "Seattle DC": "SEA",
}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return self_signed_cert(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture
def entra(tls: tuple[str, str]) -> Iterator[FakeEntra]:
    with FakeEntra(tls, tenant=TENANT, client_id=CLIENT, secret=SECRET) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def graph(tls: tuple[str, str]) -> Iterator[FakeGraph]:
    with FakeGraph.sample(tls, page_size=7) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "graph-mapping.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "sites": SITES,
                "roles": {
                    group_id("buyer"): "buyer",
                    group_id("warehouse_manager"): {"role": "warehouse_manager", "sites": "own"},
                    group_id("procurement_director"): "procurement_director",
                },
                "approval_limits": {"Warehouse Manager, Reno": 10000},
            }
        )
    )
    return path


@pytest.fixture
def graph_settings(entra: FakeEntra, graph: FakeGraph, tls: tuple[str, str], mapping_file: Path) -> GraphSettings:
    return GraphSettings(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=SECRET,
        authority_host=entra.url,
        base_url=f"{graph.url}/v1.0",
        ca_bundle=Path(tls[0]),
        mapping_file=mapping_file,
        _env_file=None,
    )


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Any]:
    from bot.runtime import build_runtime

    rt = build_runtime(Settings(database_url=db_url, var_dir=tmp_path, directory_refresh_seconds=0, _env_file=None))
    yield rt
    rt.engine.dispose()


class Waits:
    """The injected sleeper: records what Graph asked to wait, and waits nothing."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def _sync(runtime: Any, settings: GraphSettings, sleeper: Waits | None = None, **kw: Any) -> Any:
    client = GraphClient(settings, sleep=sleeper or Waits())
    try:
        assert settings.mapping_file is not None
        return sync_from_graph(runtime.service, client, load_mapping(settings.mapping_file), **kw)
    finally:
        client.close()


def _versions(runtime: Any) -> list[DirectoryVersion]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(DirectoryVersion).order_by(DirectoryVersion.id)).all())  # type: ignore[arg-type]


def _state(runtime: Any) -> DirectorySync | None:
    with Session(runtime.engine) as session:
        return session.get(DirectorySync, "graph")


def _eric_in_seattle(runtime: Any) -> str:
    number = runtime.service.submit(
        submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(60)])
    ).number
    assert runtime.service.view(number).waiting_on == ["hannah.berg"]
    return number


def test_initial_sync_reads_every_user_through_every_page(runtime, graph_settings, graph, entra):
    """The first sync reads all 30 people over five pages with one token: each is linked to their Entra object id,
    roles come from the mapped groups, and the only person without a manager (the CEO) is reported, not guessed."""
    report = _sync(runtime, graph_settings)
    assert report.initial and report.pages == 5 and report.changed == 30
    assert not any("/members" in path for _, path, _, _ in graph.requests)  # membership comes by the group delta
    assert entra.tokens_issued == 1
    assert report.activation is not None and report.activation.changed
    directory = runtime.directory
    hannah = directory.person("hannah.berg")
    assert hannah.teams_object_id == object_id("hannah.berg") and hannah.site == "SEA"
    assert hannah.has_role("warehouse_manager", "SEA") and not hannah.has_role("warehouse_manager", "DAL")
    assert hannah.approval_limit == 10000  # kept from the directory: Entra ID does not know limits
    assert directory.person("ben.turner").has_role("buyer")
    assert report.notes == ["Catherine Moss has no manager in Entra ID (none is guessed)"]
    assert _versions(runtime)[-1].origin == "graph"
    state = _state(runtime)
    assert state is not None and "$deltatoken=" in state.delta_link
    assert len([k for k in state.users if not k.startswith("@")]) == 30


def test_delta_sync_reads_only_what_changed(runtime, graph_settings, graph):
    """After the first sync, Eric gets a new title in Entra ID: the next sync asks with the delta link, gets one
    user with only that property, and keeps everything else it knew of him."""
    _sync(runtime, graph_settings)
    graph.update("eric.larsen", jobTitle="Lead Maintenance Technician")
    graph.requests.clear()
    report = _sync(runtime, graph_settings)
    assert not report.initial and report.changed == 1 and report.pages == 1
    assert any("$deltatoken=" in path for _, path, _, _ in graph.requests)
    eric = runtime.directory.person("eric.larsen")
    assert eric.title == "Lead Maintenance Technician" and eric.manager == "hannah.berg" and eric.site == "SEA"


def test_nothing_changed_adds_no_version(runtime, graph_settings):
    """A second sync with nothing changed in Entra ID keeps the active version and adds none."""
    _sync(runtime, graph_settings)
    before = len(_versions(runtime))
    report = _sync(runtime, graph_settings)
    assert report.activation is not None and not report.activation.changed
    assert len(_versions(runtime)) == before


def test_throttled_sync_waits_as_graph_asks(runtime, graph_settings, graph):
    """Graph answers 429 twice with Retry-After: 7: the sync waits 7 s each time (through the injected sleeper)
    and completes."""
    graph.throttle_next, graph.retry_after = 2, "7"
    waits = Waits()
    report = _sync(runtime, graph_settings, waits)
    assert waits.seconds == [7.0, 7.0] and report.waits == [7.0, 7.0]
    assert report.activation is not None and report.activation.changed
    assert "throttled 2 time(s); waited 14 s as Graph asked" in report.lines()


def test_a_sync_that_fails_halfway_changes_nothing(runtime, graph_settings, graph):
    """The second page of the users never comes (500): no version is added, no state is kept, and the next sync
    starts again from the beginning."""
    before = [v.id for v in _versions(runtime)]
    graph.fail_pages = True
    with pytest.raises(GraphError, match="answered 500"):
        _sync(runtime, graph_settings)
    assert [v.id for v in _versions(runtime)] == before
    assert _state(runtime) is None
    graph.fail_pages = False
    assert _sync(runtime, graph_settings).initial


def test_a_disabled_account_is_a_leaver_and_their_step_moves(runtime, graph_settings, graph):
    """Hannah's account is disabled in Entra ID while she holds Eric's request: the sync marks her as having left
    and her step moves at once to Marcus Bell, her manager's manager who may take it."""
    _sync(runtime, graph_settings)
    number = _eric_in_seattle(runtime)
    graph.update("hannah.berg", accountEnabled=False)
    report = _sync(runtime, graph_settings)
    assert not runtime.directory.person("hannah.berg").active
    assert report.activation is not None
    assert any("Hannah Berg has left; the step moved to" in line for line in report.activation.moved)
    assert runtime.service.view(number).waiting_on != ["hannah.berg"]


def test_a_deleted_user_is_kept_as_having_left(runtime, graph_settings, graph):
    """Grace is deleted from Entra ID: the delta says @removed, and she stays in the directory, marked as left."""
    _sync(runtime, graph_settings)
    graph.delete("grace.kim")
    report = _sync(runtime, graph_settings)
    assert report.removed == 1
    grace = runtime.directory.person("grace.kim")
    assert grace is not None and not grace.active


def test_a_mover_routes_new_requests_only(runtime, graph_settings, graph):
    """Eric moves under Carlos Mendoza in Phoenix: his request in flight stays with Hannah, his next one goes to
    Carlos."""
    _sync(runtime, graph_settings)
    first = _eric_in_seattle(runtime)
    graph.update("eric.larsen", manager=object_id("carlos.mendoza"), officeLocation="Phoenix DC")
    report = _sync(runtime, graph_settings)
    assert report.activation is not None
    assert "Eric Larsen: manager Hannah Berg -> Carlos Mendoza (new routes only)" in report.activation.report.lines()
    assert runtime.directory.person("eric.larsen").site == "PHX"
    assert runtime.service.view(first).waiting_on == ["hannah.berg"]
    second = runtime.service.submit(
        submit(requester="eric.larsen", site="PHX", cost_center="PHX-OPS", lines=[boxes(60)])
    ).number
    assert runtime.service.view(second).waiting_on == ["carlos.mendoza"]


def test_a_new_hire_gets_an_id_and_the_limit_of_their_title(runtime, graph_settings, graph):
    """A new warehouse manager joins in Entra ID: they become a person with an id from their mail, their site from
    their office, and the approval limit the mapping gives their title."""
    _sync(runtime, graph_settings)
    graph.add(
        {
            "id": "9d1f0000-0000-4000-8000-000000000001",
            "displayName": "Noah Price",
            "mail": "noah.price@lonestar.example",
            "userPrincipalName": "noah.price@lonestar.example",
            "jobTitle": "Warehouse Manager, Reno",
            "officeLocation": "Reno DC",
            "manager": object_id("kevin.nguyen"),
        }
    )
    report = _sync(runtime, graph_settings)
    noah = runtime.directory.person("noah.price")
    assert noah is not None and noah.manager == "kevin.nguyen" and noah.approval_limit == 10000
    assert "Noah Price: office 'Reno DC' is not in the mapping; site kept as none" in report.notes


def test_a_manager_loop_is_refused_with_the_people_named(runtime, graph_settings, graph):
    """Entra ID says Marcus reports to Sofia, who reports to Marcus: the sync is refused, naming them, and the
    directory stays as it was."""
    _sync(runtime, graph_settings)
    before = [v.id for v in _versions(runtime)]
    graph.update("marcus.bell", manager=object_id("sofia.alvarez"))
    with pytest.raises(DirectoryRefused) as refused:
        _sync(runtime, graph_settings)
    assert "Marcus Bell" in str(refused.value) and "Sofia Alvarez" in str(refused.value)
    assert [v.id for v in _versions(runtime)] == before


def test_a_sync_that_strands_a_step_is_refused_unless_forced(runtime, graph_settings, graph):
    """Hannah is disabled and has no manager, and nobody holds the procurement director group: the sync is refused
    naming Eric's request; nothing changes, and both deltas (users and groups) are asked again next time."""
    _sync(runtime, graph_settings)
    number = _eric_in_seattle(runtime)
    link = _state(runtime).delta_link  # type: ignore[union-attr]
    groups = _state(runtime).users["@groups"]  # type: ignore[union-attr]
    graph.update("hannah.berg", accountEnabled=False, manager=None)
    graph.remove_member("procurement_director", "sofia.alvarez")
    with pytest.raises(DirectoryRefused) as refused:
        _sync(runtime, graph_settings)
    assert f"{number} step 'Manager'" in str(refused.value)
    assert runtime.directory.person("hannah.berg").active
    assert _state(runtime).delta_link == link  # type: ignore[union-attr]
    assert _state(runtime).users["@groups"] == groups  # type: ignore[union-attr]
    forced = _sync(runtime, graph_settings, force=True)
    assert forced.activation is not None and forced.activation.changed


def test_the_sync_command(runtime, graph_settings, monkeypatch, db_url, tls, entra, graph, mapping_file):
    """`procurebot directory sync --from graph` with the GRAPH_* settings reads the tenant and activates it."""
    from bot.cli import app as cli

    env = {
        "DATABASE_URL": db_url,
        "GRAPH_TENANT_ID": TENANT,
        "GRAPH_CLIENT_ID": CLIENT,
        "GRAPH_CLIENT_SECRET": SECRET,
        "GRAPH_AUTHORITY_HOST": entra.url,
        "GRAPH_BASE_URL": f"{graph.url}/v1.0",
        "GRAPH_CA_BUNDLE": tls[0],
        "GRAPH_MAPPING_FILE": str(mapping_file),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["directory", "sync", "--from", "graph"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Microsoft Graph: initial (every user): 5 page(s), 30 user(s) changed, 0 removed" in result.output
    assert "activated: directory v" in result.output
    assert SECRET not in result.output


def test_the_sync_command_names_missing_settings(monkeypatch, db_url):
    """Without the Graph settings the command says which variables to set, and touches nothing."""
    from bot.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("GRAPH_TENANT_ID", "GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET", "GRAPH_MAPPING_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["directory", "sync", "--from", "graph"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "GRAPH_TENANT_ID, GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET, GRAPH_MAPPING_FILE" in result.output


def test_the_scheduled_sync_runs_on_one_replica_per_interval(runtime, graph_settings, graph):
    """Two replicas look for the scheduled sync: one syncs, the other finds nothing due until the interval passes."""
    from bot.directory_sync import DirectorySyncer

    def client() -> GraphClient:
        return GraphClient(graph_settings, sleep=Waits())

    one = DirectorySyncer(runtime.service, graph_settings, client=client, worker_id="replica-1")
    two = DirectorySyncer(runtime.service, graph_settings, client=client, worker_id="replica-2")
    one.schedule()
    two.schedule()
    report = one.run_due()
    assert report is not None and report.activation is not None and report.activation.changed
    assert two.run_due() is None
    assert runtime.directory.person("hannah.berg").teams_object_id == object_id("hannah.berg")


def test_an_approver_out_of_office_is_asked_who_approves_once(runtime, graph_settings, graph):
    """Hannah turns on scheduled automatic replies while Eric's request waits on her: the sync sees she is out and
    asks her once who approves meanwhile, suggesting her manager; the next sync does not ask again."""
    from datetime import timedelta

    from approvals.jobqueue import Job

    _sync(runtime, graph_settings)
    _eric_in_seattle(runtime)
    now = runtime.service.clock()
    graph.replies[object_id("hannah.berg")] = {
        "status": "scheduled",
        "scheduledStartDateTime": {
            "dateTime": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
            "timeZone": "UTC",
        },
        "scheduledEndDateTime": {
            "dateTime": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
            "timeZone": "UTC",
        },
    }
    report = _sync(runtime, graph_settings)
    assert report.out == ["hannah.berg"] and report.asked == ["hannah.berg"]
    with Session(runtime.engine) as session:
        asks = [j.payload["text"] for j in session.exec(select(Job).where(Job.kind == "notify")).all()]
    assert len(asks) == 1 and asks[0].startswith("You're out until ")
    assert "delegate to Kevin from" in asks[0] and "your steps wait for you" in asks[0]
    again = _sync(runtime, graph_settings)
    assert again.out == ["hannah.berg"] and again.asked == []


def test_teams_users_are_linked_by_their_entra_object_id(runtime, graph_settings, graph):
    """A Teams user whose e-mail Teams does not give is found by their aadObjectId once the directory is synced,
    and stops being found, with no restart, once the next sync says their account is disabled."""
    from bot.chat.identity import Identities

    ids = Identities(runtime.engine, runtime.directory)
    hannah = object_id("hannah.berg")
    assert ids.person_for("teams", hannah, tenant=TENANT, email=lambda: None) is None
    _sync(runtime, graph_settings)
    found = ids.person_for("teams", hannah, tenant=TENANT, email=lambda: None)
    assert found is not None and found.id == "hannah.berg"
    graph.update("hannah.berg", accountEnabled=False)
    _sync(runtime, graph_settings)
    assert ids.person_for("teams", hannah, tenant=TENANT, email=lambda: None) is None


def test_what_this_process_lays_over_the_directory_is_not_stored_by_a_sync(runtime, graph_settings):
    """The ERP's master data laid over the directory in this process stays out of the version a sync stores."""
    runtime.directory.set_layer(lambda d: d.model_copy(update={"company": "Layered by the ERP"}))
    _sync(runtime, graph_settings)
    assert runtime.directory.company == "Layered by the ERP"
    assert "Layered by the ERP" not in _versions(runtime)[-1].source


# ---------------------------------------------------------------------- group membership by delta query
def _group_requests(graph: FakeGraph) -> list[str]:
    return [path for _, path, _, _ in graph.requests if path.startswith("/v1.0/groups/")]


def _sync_with(runtime: Any, settings: GraphSettings, limit: int, **kw: Any) -> Any:
    client = GraphClient(settings, sleep=Waits())
    client.group_filter_limit = limit
    try:
        assert settings.mapping_file is not None
        return sync_from_graph(runtime.service, client, load_mapping(settings.mapping_file), **kw)
    finally:
        client.close()


def test_the_first_sync_reads_every_mapped_groups_members_by_group_delta(runtime, graph_settings, graph):
    """With two-item pages and two groups per filtered query, the first sync reads the three mapped groups in two
    group delta queries over several pages (the six warehouse managers split across group objects): every member
    holds their role, and a delta link per query is kept for the next sync."""
    graph.page_size = 2
    report = _sync_with(runtime, graph_settings, 2)
    assert report.groups_initial and report.group_pages >= 3 and report.members_added == 9
    firsts = [p for p in _group_requests(graph) if "$filter=" in p]
    assert len(firsts) == 2 and all("$select=members" in p for p in firsts)
    assert not any("/members" in p.split("?")[0] for p in _group_requests(graph))
    directory = runtime.directory
    for pid, site in (("maria.lopez", "DAL"), ("frank.novak", "CHI"), ("hannah.berg", "SEA"), ("paul.russo", "NJ")):
        assert directory.person(pid).has_role("warehouse_manager", site)
    assert directory.person("grace.kim").has_role("buyer")
    assert directory.person("sofia.alvarez").has_role("procurement_director")
    state = _state(runtime)
    assert state is not None
    kept = state.users["@groups"]
    assert len(kept["links"]) == 2 and all("$deltatoken=" in link for link in kept["links"])
    assert "groups: initial (every member): " in report.lines()[1]


def test_a_second_sync_reads_only_the_membership_changes_and_roles_follow(runtime, graph_settings, graph):
    """After the first sync, Eric is added to the buyers' group and Grace taken out of it in Entra ID: the next sync
    asks Graph's group delta link, gets only those two changes, and Eric is a buyer and Grace is not; a --full sync
    then reads every member again and agrees."""
    _sync(runtime, graph_settings)
    graph.add_member("buyer", "eric.larsen")
    graph.remove_member("buyer", "grace.kim")
    graph.requests.clear()
    report = _sync(runtime, graph_settings)
    assert not report.groups_initial and (report.members_added, report.members_removed) == (1, 1)
    groups = _group_requests(graph)
    assert groups and all("$deltatoken=" in p or "$skiptoken=" in p for p in groups)
    assert "groups: delta: 1 page(s), 1 membership(s) added, 1 removed" in report.lines()
    directory = runtime.directory
    assert directory.person("eric.larsen").has_role("buyer")
    assert not directory.person("grace.kim").has_role("buyer")
    assert directory.person("ben.turner").has_role("buyer")  # kept from the first sync
    full = _sync(runtime, graph_settings, full=True)
    assert full.groups_initial and full.members_added == 9
    assert runtime.directory.person("eric.larsen").has_role("buyer")
    assert not runtime.directory.person("grace.kim").has_role("buyer")


def test_expired_delta_links_start_the_sync_over_and_say_so(runtime, graph_settings, graph):
    """The sync did not run for over a week: Graph answers the kept delta links 400 syncStateNotFound, as Entra ID
    does after seven days; the sync reads every user and group again by itself, says why, and Eric's new role and
    Grace's lost one are both there."""
    _sync(runtime, graph_settings)
    graph.expire_delta_tokens()
    graph.add_member("buyer", "eric.larsen")
    graph.remove_member("buyer", "grace.kim")
    report = _sync(runtime, graph_settings)
    assert report.initial and report.groups_initial
    assert "syncStateNotFound" in report.notes[0] and "read again" in report.notes[0]
    assert runtime.directory.person("eric.larsen").has_role("buyer")
    assert not runtime.directory.person("grace.kim").has_role("buyer")
    again = _sync(runtime, graph_settings)  # the new links work: the next sync is a delta again
    assert not again.initial and not again.groups_initial
    assert not any("expired" in note for note in again.notes)


def test_a_deleted_group_takes_its_role_away(runtime, graph_settings, graph):
    """The buyers' group is deleted in Entra ID: the group delta returns it removed, and nobody is a buyer any
    more."""
    _sync(runtime, graph_settings)
    graph.delete_group("buyer")
    report = _sync(runtime, graph_settings)
    assert report.members_removed == 2
    assert not runtime.directory.person("ben.turner").has_role("buyer")


def test_a_throttled_group_page_is_waited_for_and_retried(runtime, graph_settings, graph):
    """Graph answers the group delta 429 with Retry-After: 5: the sync waits 5 s as asked, asks again, and the
    membership change arrives."""
    _sync(runtime, graph_settings)
    graph.add_member("buyer", "eric.larsen")
    graph.throttle_next, graph.retry_after, graph.throttle_only = 1, "5", "/groups/delta"
    waits = Waits()
    report = _sync(runtime, graph_settings, waits)
    assert waits.seconds == [5.0] and report.members_added == 1
    assert runtime.directory.person("eric.larsen").has_role("buyer")


def test_a_group_delta_link_pointing_elsewhere_is_refused(runtime, graph_settings, graph):
    """A kept group delta link that points outside GRAPH_BASE_URL is not followed: the sync fails, and neither the
    directory nor the kept state changes."""
    _sync(runtime, graph_settings)
    graph.add_member("buyer", "eric.larsen")
    with Session(runtime.engine) as session:
        row = session.get(DirectorySync, "graph")
        assert row is not None
        users = dict(row.users)
        users["@groups"] = {**users["@groups"], "links": ["https://elsewhere.example/v1.0/groups/delta?$deltatoken=1"]}
        row.users = users
        session.add(row)
        session.commit()
    before = [v.id for v in _versions(runtime)]
    with pytest.raises(GraphError, match="outside GRAPH_BASE_URL"):
        _sync(runtime, graph_settings)
    assert [v.id for v in _versions(runtime)] == before
    state = _state(runtime)
    assert state is not None and state.users["@groups"]["links"][0].startswith("https://elsewhere.example/")
    assert not runtime.directory.person("eric.larsen").has_role("buyer")


def test_more_mapped_groups_than_graph_filters_on_are_read_in_chunks(runtime, graph_settings, graph, mapping_file):
    """A mapping naming 53 groups (50 of them unknown to Entra ID) is read in two group delta queries, since Graph
    filters a delta on at most 50 ids; each unknown group is reported, and the known ones still give their roles."""
    data = yaml.safe_load(mapping_file.read_text())
    data["roles"].update({f"00000000-0000-0000-0000-{n:012d}": "auditor" for n in range(50)})
    mapping_file.write_text(yaml.safe_dump(data))
    report = _sync(runtime, graph_settings)
    assert len([p for p in _group_requests(graph) if "$filter=" in p]) == 2
    assert sum("is not in Entra ID: nobody holds the role from it" in n for n in report.notes) == 50
    assert runtime.directory.person("ben.turner").has_role("buyer")


def test_a_mapping_naming_other_groups_reads_their_members_in_full(runtime, graph_settings, graph, mapping_file):
    """After a sync, the mapping drops the directors' group: the next sync says so and reads the remaining groups'
    members in full rather than following links kept for other groups."""
    _sync(runtime, graph_settings)
    data = yaml.safe_load(mapping_file.read_text())
    del data["roles"][group_id("procurement_director")]
    mapping_file.write_text(yaml.safe_dump(data))
    graph.requests.clear()
    report = _sync(runtime, graph_settings)
    assert report.groups_initial and report.members_added == 8
    assert "the mapping names other groups than the last sync read: their members are read in full" in report.notes
    assert len([p for p in _group_requests(graph) if "$filter=" in p]) == 1
