"""DMS Serverless replications under the emulated CloudFormation, both DMS readings.

The double provisions capacity through DMS's documented statuses before a replication
runs, refuses to modify a configuration once a replication using it started, and lists an
unstarted replication or not (``BEHAVIOURS``). The scenarios assert the DMS writes of each
phase, the final replication statuses, the stack's status and that no call was denied.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_dms as dms
from dms_task_starter import CdcStart, CdcStop, ReplicationStarter
from dms_task_starter_runtime.contract import REPLICATION_STARTER_RESOURCE_TYPE

from tests.support.cdk import selection_rules, shape_template
from tests.support.cloud import (
    CONFIG_TYPE,
    Cloud,
    Failure,
)
from tests.support.dms_double import (
    DEPROVISION_AFTER_SECONDS,
    endpoint_arn,
    start_replication,
    stop_replication,
)

POSITION = "mysql-bin-changelog.000024:373"
FIRST_POSITION = "mysql-bin-changelog.000001:4"
LATER_STOP = "server_time:2026-06-01T00:00:00"


@dataclass(frozen=True)
class Orders:
    """A Serverless replication configuration, its starter and a resource after them."""

    replication_type: str = "cdc"
    tables: tuple[str, ...] = ("orders",)
    cdc_position: str | None = None
    cdc_stop: str | None = None
    later: str = "1"
    replace_on_change: bool = True
    with_customers: bool = False
    timeout_minutes: int = 30

    def build(self, stack: Stack) -> None:
        config = self._config(stack, "OrdersConfig", "orders", self.tables)
        at = None if self.cdc_position is None else CdcStart.at_position(self.cdc_position)
        starter = ReplicationStarter(
            stack,
            "StartOrders",
            replication_config=config,
            cdc_start=at,
            cdc_stop=None if self.cdc_stop is None else CdcStop.at_position(self.cdc_stop),
            replace_on_change=self.replace_on_change,
            timeout=Duration.minutes(self.timeout_minutes),
        )
        later = CfnResource(
            stack,
            "Later",
            type="AWS::SSM::Parameter",
            properties={"Type": "String", "Value": self.later},
        )
        later.node.add_dependency(starter)
        if self.with_customers:
            customers = self._config(stack, "CustomersConfig", "customers", ("customers",))
            ReplicationStarter(stack, "StartCustomers", replication_config=customers)

    def _config(
        self, stack: Stack, id: str, identifier: str, tables: tuple[str, ...]
    ) -> dms.CfnReplicationConfig:
        return dms.CfnReplicationConfig(
            stack,
            id,
            replication_config_identifier=identifier,
            replication_type=self.replication_type,
            source_endpoint_arn=endpoint_arn("SOURCE"),
            target_endpoint_arn=endpoint_arn("TARGET"),
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(max_capacity_units=16),
            table_mappings=selection_rules(*tables),
            resource_identifier=None if self.replace_on_change else identifier,
        )


def configs(cloud: Cloud) -> dict[str, str]:
    """Configuration identifier -> status of its replication."""
    return {arn.rsplit(":", 1)[1]: item.status for arn, item in cloud.double.replications.items()}


def config_arn(cloud: Cloud, prefix: str = "Orders") -> str:
    (logical_id,) = [name for name in cloud.logical_ids(CONFIG_TYPE) if name.startswith(prefix)]
    return cloud.physical_id(logical_id)


def assert_clean(cloud: Cloud) -> None:
    assert cloud.double.denials == []
    assert cloud.cleanup_failures == []


def test_create_starts_the_replication_and_waits_through_provisioning(cloud: Cloud) -> None:
    assert cloud.deploy(shape_template(Orders())) == "CREATE_COMPLETE"
    arn = config_arn(cloud)
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [start_replication(arn, "start-replication")]
    starter = cloud.deployed[cloud.logical_ids(REPLICATION_STARTER_RESOURCE_TYPE)[0]]
    assert starter.data["Status"] == "running"
    assert starter.data["ProvisionState"] == "provisioned"
    assert starter.data["ReplicationConfigArn"] == arn
    assert_clean(cloud)


def test_a_definition_change_replaces_the_configuration_with_cdc_handed_over(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders()))
    old = config_arn(cloud)
    assert (
        cloud.deploy(shape_template(Orders(tables=("orders", "customers"), later="2")))
        == "UPDATE_COMPLETE"
    )
    new = config_arn(cloud)
    assert new != old
    forward = cloud.writes_of("UPDATE_IN_PROGRESS")
    assert forward[0] == stop_replication(old)
    assert forward[1][1]["CdcStartPosition"].startswith("checkpoint:")
    assert forward[1] == start_replication(
        new, "start-replication", CdcStartPosition=forward[1][1]["CdcStartPosition"]
    )
    # The old configuration was stopped, so CloudFormation could delete it in the cleanup.
    assert configs(cloud) == {new.rsplit(":", 1)[1]: "running"}
    assert_clean(cloud)


def test_an_unchanged_update_leaves_the_replication_alone(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders()))
    assert cloud.deploy(shape_template(Orders(later="2"))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    assert_clean(cloud)


def test_a_new_cdc_start_restarts_a_cdc_replication_from_it(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders()))
    arn = config_arn(cloud)
    assert (
        cloud.deploy(shape_template(Orders(cdc_position=POSITION, later="2"))) == "UPDATE_COMPLETE"
    )
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [
        stop_replication(arn),
        start_replication(arn, "start-replication", CdcStartPosition=POSITION),
    ]
    assert_clean(cloud)


def test_delete_stops_the_replication_before_its_configuration_goes(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders()))
    arn = config_arn(cloud)
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.writes_of("DELETE_IN_PROGRESS") == [stop_replication(arn)]
    assert cloud.double.replications == {}
    assert_clean(cloud)


def test_a_rolled_back_definition_change_resumes_the_old_replication(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders()))
    old = config_arn(cloud)
    final = cloud.deploy(
        shape_template(Orders(tables=("orders", "customers"), later="2")),
        fail=Failure("Later", "Update"),
    )
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    rollback = cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS")
    assert rollback[1] == start_replication(old, "resume-processing")
    assert rollback[0][0] == "StopReplication"
    assert configs(cloud) == {old.rsplit(":", 1)[1]: "running"}
    assert_clean(cloud)


def test_a_rolled_back_cdc_change_does_not_replay_the_old_start(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(cdc_position="mysql-bin-changelog.000001:4")))
    final = cloud.deploy(
        shape_template(Orders(cdc_position=POSITION, later="2")), fail=Failure("Later", "Update")
    )
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
    assert list(configs(cloud).values()) == ["running"]
    assert_clean(cloud)


def test_removing_one_starter_and_its_configuration(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(with_customers=True)))
    customers = config_arn(cloud, "Customers")
    assert cloud.deploy(shape_template(Orders(later="2"))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == [stop_replication(customers)]
    assert customers not in cloud.double.replications
    assert_clean(cloud)


def test_without_replacement_dms_refuses_the_modify_even_to_roll_back(cloud: Cloud) -> None:
    """The wall Terraform's users meet, and the reason ``replace_on_change`` is the default:
    once a replication ran, DMS refuses the modify and then the modify back."""
    cloud.deploy(shape_template(Orders(replace_on_change=False)))
    changed = Orders(replace_on_change=False, tables=("orders", "customers"), later="2")
    assert cloud.deploy(shape_template(changed)) == "UPDATE_ROLLBACK_FAILED"
    refused = [step.error for step in cloud.steps if step.error]
    assert len(refused) == 2
    assert all("You can only modify a replication configuration before any" in e for e in refused)
    assert list(configs(cloud).values()) == ["running"]
    assert cloud.double.denials == []


def test_full_load_replication_restarts_reload_by_default(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(replication_type="full-load")))
    arn = config_arn(cloud)
    while cloud.double.replications[arn].status == "running":
        cloud.double.advance()
    assert cloud.double.replications[arn].stop_reason == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    # Finished: an update that changes nothing about starting leaves it so.
    shorter = Orders(replication_type="full-load", timeout_minutes=20)
    assert cloud.deploy(shape_template(shorter)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    interrupted = cloud.double.replications[arn]  # as if someone had stopped it mid-load
    interrupted.stop_reason = "Stop Reason NORMAL"
    interrupted.run.full_load_finish_date = None
    longer = Orders(replication_type="full-load", timeout_minutes=25)
    assert cloud.deploy(shape_template(longer)) == "UPDATE_COMPLETE"
    # A stopped replication is started again; DMS cannot resume a full-load one: it reloads.
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [start_replication(arn, "reload-target")]
    assert_clean(cloud)


def stopped_by_hand_and_deprovisioned(cloud: Cloud, arn: str) -> None:
    """Someone stops the replication; two days later DMS has deprovisioned it."""
    cloud.double.handle("StopReplication", {"ReplicationConfigArn": arn})
    while cloud.double.replications[arn].status != "stopped":
        cloud.double.advance()
    cloud.double.advance(DEPROVISION_AFTER_SECONDS)
    assert cloud.double.replications[arn].provision_state == "deprovisioned"


def test_a_deprovisioned_replication_is_never_started_again_from_its_first_cdc_start(
    cloud: Cloud,
) -> None:
    """Whether or not DescribeReplications still lists it, a replication that ran is never
    sent ``start-replication`` with the position of its first run: that would replay every
    change since. Listed, DMS says it was stopped (not finished): it is resumed. Unlisted,
    DMS cannot say whether it finished: an update that changes no start setting leaves it."""
    cloud.deploy(shape_template(Orders(cdc_position=FIRST_POSITION)))
    arn = config_arn(cloud)
    stopped_by_hand_and_deprovisioned(cloud, arn)
    slower = Orders(cdc_position=FIRST_POSITION, timeout_minutes=20, later="2")
    assert cloud.deploy(shape_template(slower)) == "UPDATE_COMPLETE"
    if cloud.double.behaviour.lists_deprovisioned_replications:
        resumed = start_replication(arn, "resume-processing")
        assert cloud.writes_of("UPDATE_IN_PROGRESS") == [resumed]
        assert list(configs(cloud).values()) == ["running"]
    else:
        assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
        assert list(configs(cloud).values()) == ["stopped"]
    assert_clean(cloud)


def test_a_changed_start_setting_resumes_a_deprovisioned_replication(cloud: Cloud) -> None:
    """A new cdc_stop is a start setting: the replication is started again with it, as one
    that ran (resume-processing at its own checkpoint), never as a first run."""
    cloud.deploy(shape_template(Orders(cdc_position=FIRST_POSITION)))
    arn = config_arn(cloud)
    stopped_by_hand_and_deprovisioned(cloud, arn)
    stopping = Orders(cdc_position=FIRST_POSITION, cdc_stop=LATER_STOP, later="2")
    assert cloud.deploy(shape_template(stopping)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [
        start_replication(arn, "resume-processing", CdcStopPosition=LATER_STOP)
    ]
    assert list(configs(cloud).values()) == ["running"]
    assert cloud.double.replications[arn].cdc_stop_position == LATER_STOP
    assert_clean(cloud)


def test_a_rollback_never_starts_a_deprovisioned_replication_as_a_first_run(
    cloud: Cloud,
) -> None:
    cloud.deploy(shape_template(Orders(cdc_position=FIRST_POSITION)))
    arn = config_arn(cloud)
    stopped_by_hand_and_deprovisioned(cloud, arn)
    slower = Orders(cdc_position=FIRST_POSITION, timeout_minutes=20, later="2")
    final = cloud.deploy(shape_template(slower), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
    starts = [params for name, params in cloud.double.writes() if name == "StartReplication"]
    # Listed as stopped, the forward update resumed it; unlisted, it was left at rest.
    listed = cloud.double.behaviour.lists_deprovisioned_replications
    resumed = ["resume-processing"] if listed else []
    assert [start["StartReplicationType"] for start in starts[1:]] == resumed
    assert_clean(cloud)
