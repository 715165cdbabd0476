"""The connection gate under the emulated CloudFormation, under each reading of DMS.

A starter with ``test_connections`` tests its task's endpoints from the task's replication
instance before the first start and starts only once both connections succeed; a failed
test fails the Create with DMS's message, nothing started, and the stack rolls back
cleanly. Each scenario asserts the DMS calls with their parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aws_cdk import Duration, Stack
from dms_task_starter import ReplicationTaskStarter

from tests.support.cdk import orders_task, shape_template
from tests.support.cloud import PolicedDouble
from tests.support.dms_double import (
    INSTANCE_ARN,
    WRITE_OPERATIONS,
    endpoint_arn,
    start_task,
    task_arn,
)
from tests.support.provider import cfn_event, run_provider
from tests.support.served import ServedAws

if TYPE_CHECKING:
    from tests.support.cloud import Cloud
    from tests.support.dms_double import Call
    from tests.support.served import FixedStack

ORDERS = task_arn("orders")
SOURCE = endpoint_arn("orders-source")
TARGET = endpoint_arn("orders-target")
FIRST_START = start_task(ORDERS, "start-replication")
REFUSAL = "Test connection failed for endpoint 'orders-target': could not connect to the server"


@dataclass(frozen=True)
class Gated:
    """A stack-owned task on two endpoints given by ARN, started with ``test_connections``."""

    test_connections: bool = True
    timeout_minutes: int = 30

    def build(self, stack: Stack, **options: Any) -> None:
        """The stack, with ``options`` for the starter (the other gate)."""
        task = orders_task(stack, instance=INSTANCE_ARN, source=SOURCE, target=TARGET)
        ReplicationTaskStarter(
            stack,
            "StartOrders",
            task=task,
            test_connections=self.test_connections,
            timeout=Duration.minutes(self.timeout_minutes),
            **options,
        )


def connection_test(endpoint: str) -> Call:
    return ("TestConnection", {"ReplicationInstanceArn": INSTANCE_ARN, "EndpointArn": endpoint})


READS: Final = {"Effect": "Allow", "Action": "dms:Describe*", "Resource": "*"}
STARTS: Final = {"Effect": "Allow", "Action": "dms:StartReplicationTask", "Resource": "*"}
TESTS: Final = {"Effect": "Allow", "Action": "dms:TestConnection", "Resource": "*"}

DESCRIBE_CONNECTIONS: Call = (
    "DescribeConnections",
    {
        "Filters": [
            {"Name": "endpoint-arn", "Values": [SOURCE, TARGET]},
            {"Name": "replication-instance-arn", "Values": [INSTANCE_ARN]},
        ]
    },
)


def endpoints(cloud: Cloud, *, tested: tuple[str, ...] = (), failure: str = "") -> None:
    """The two endpoints, outside the stack; only ``tested`` connected from the instance
    before; the target's test fails with ``failure`` when set."""
    for arn in (SOURCE, TARGET):
        endpoint = cloud.double.create_endpoint(arn.rsplit(":", 1)[1], {})
        if arn not in tested:
            endpoint.connections.clear()
    cloud.double.endpoints[TARGET].test_failure = failure


def connection_calls(cloud: Cloud) -> list[Call]:
    return [call for call in cloud.double.calls if "Connection" in call[0]]


def clean(cloud: Cloud) -> None:
    assert cloud.double.denials == []
    assert cloud.cleanup_failures == []
    # DMS refused no write (a rollback's Delete may look for the task CloudFormation deleted).
    assert [call for call in cloud.double.rejected if call[0] in WRITE_OPERATIONS] == []


def test_untested_endpoints_are_tested_and_the_task_starts_once_both_connect(
    cloud: Cloud,
) -> None:
    endpoints(cloud)
    assert cloud.deploy(shape_template(Gated())) == "CREATE_COMPLETE"
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [
        connection_test(SOURCE),
        connection_test(TARGET),
        FIRST_START,
    ]
    calls = connection_calls(cloud)
    assert calls[:3] == [DESCRIBE_CONNECTIONS, connection_test(SOURCE), connection_test(TARGET)]
    # is_complete read the connections until both succeeded, then no more.
    assert set(map(_operation, calls[3:])) == {"DescribeConnections"}
    assert all(call == DESCRIBE_CONNECTIONS for call in calls[3:])
    assert cloud.double.tasks[ORDERS].status == "running"
    assert {
        arn: cloud.double.endpoints[arn].connections[INSTANCE_ARN].status
        for arn in (SOURCE, TARGET)
    } == {SOURCE: "successful", TARGET: "successful"}
    clean(cloud)


def test_a_failed_connection_test_fails_the_create_with_nothing_started(cloud: Cloud) -> None:
    endpoints(cloud, failure=REFUSAL)
    assert cloud.deploy(shape_template(Gated())) == "ROLLBACK_COMPLETE"
    (failed,) = [step for step in cloud.steps if step.error]
    assert failed.action == "Create"
    assert (
        f"Replication task {ORDERS} was not started: from replication instance {INSTANCE_ARN}, "
        f"the target endpoint orders-target ({TARGET}) failed its connection test: {REFUSAL}."
    ) in failed.error
    assert "Nothing was started." in failed.error
    writes = [write for step in cloud.steps for write in step.writes]
    assert writes == [connection_test(SOURCE), connection_test(TARGET)]
    assert "StartReplicationTask" not in map(_operation, cloud.double.calls)
    assert cloud.double.tasks == {}  # the rollback deleted the task: nothing ran
    clean(cloud)


def test_connections_that_succeeded_before_are_not_tested_again(cloud: Cloud) -> None:
    endpoints(cloud, tested=(SOURCE, TARGET))
    assert cloud.deploy(shape_template(Gated())) == "CREATE_COMPLETE"
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [FIRST_START]
    assert "TestConnection" not in map(_operation, cloud.double.calls)
    assert connection_calls(cloud)[0] == DESCRIBE_CONNECTIONS
    assert cloud.double.tasks[ORDERS].status == "running"
    clean(cloud)


def test_only_the_endpoint_not_yet_connected_is_tested(cloud: Cloud) -> None:
    endpoints(cloud, tested=(SOURCE,))
    assert cloud.deploy(shape_template(Gated())) == "CREATE_COMPLETE"
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [connection_test(TARGET), FIRST_START]
    clean(cloud)


def test_later_starts_are_not_gated(cloud: Cloud) -> None:
    endpoints(cloud)
    cloud.deploy(shape_template(Gated()))
    cloud.double.stop_by_hand(ORDERS)
    cloud.double.endpoints[TARGET].test_failure = REFUSAL  # a test now would fail
    cloud.double.calls.clear()
    # Any change of the starter's properties starts a stopped task again: resumed, untested.
    assert cloud.deploy(shape_template(Gated(timeout_minutes=20))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [start_task(ORDERS, "resume-processing")]
    assert connection_calls(cloud) == []
    assert cloud.double.tasks[ORDERS].status == "running"


def test_without_the_option_nothing_is_tested(cloud: Cloud) -> None:
    endpoints(cloud)
    assert cloud.deploy(shape_template(Gated(test_connections=False))) == "CREATE_COMPLETE"
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [FIRST_START]
    assert connection_calls(cloud) == []
    clean(cloud)


def _operation(call: tuple[str, Any]) -> str:
    return call[0]


def test_tests_denied_while_the_new_grant_propagates_are_begun_by_a_later_poll(
    stack_status: FixedStack,
) -> None:
    """On real AWS a just-created grant may deny for a while: on_event's tests are left to
    is_complete, which begins them once IAM allows it, then starts."""
    double = PolicedDouble(propagation_seconds=60)
    double.grant("Long ago", [READS, STARTS])
    double.granted_at["Long ago"] -= 3600
    double.grant("Just now", [TESTS])
    double.add_task("orders", source_endpoint_arn=SOURCE, target_endpoint_arn=TARGET)
    for arn in (SOURCE, TARGET):
        double.create_endpoint(arn.rsplit(":", 1)[1], {}).connections.clear()
    with ServedAws(double, stack_status):
        props = {"ReplicationTaskArn": ORDERS, "TestConnections": "true"}
        result = run_provider(cfn_event("Create", props), double)
    assert result.data["Status"] == "running"
    assert double.writes() == [connection_test(SOURCE), connection_test(TARGET), FIRST_START]
    denied = [operation for operation, _ in double.denials]
    assert set(denied) == {"TestConnection"}
    # Both tests denied in on_event, then one per poll while the grant propagates.
    assert 2 < len(denied) <= 2 + 60 // 10
