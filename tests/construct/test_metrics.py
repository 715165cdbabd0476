"""ReplicationTaskMetrics: namespace, metric names, dimensions, statistics and periods."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Match, Template
from dms_task_starter import ReplicationTaskStarter
from dms_task_starter.metrics import (
    DEFAULT_PERIOD_MINUTES,
    DEFAULT_STATISTIC,
    NAMESPACE,
    ReplicationTaskMetrics,
    task_resource_id,
)

from tests.support.cdk import TASK_ARN, make_task

NAMED_METRICS = {
    "metric_cdc_latency_source": "CDCLatencySource",
    "metric_cdc_latency_target": "CDCLatencyTarget",
    "metric_cdc_incoming_changes": "CDCIncomingChanges",
    "metric_cdc_changes_memory_source": "CDCChangesMemorySource",
    "metric_cdc_changes_memory_target": "CDCChangesMemoryTarget",
    "metric_cdc_changes_disk_source": "CDCChangesDiskSource",
    "metric_cdc_changes_disk_target": "CDCChangesDiskTarget",
    "metric_cdc_throughput_rows_source": "CDCThroughputRowsSource",
    "metric_cdc_throughput_rows_target": "CDCThroughputRowsTarget",
    "metric_cdc_throughput_bandwidth_source": "CDCThroughputBandwidthSource",
    "metric_cdc_throughput_bandwidth_target": "CDCThroughputBandwidthTarget",
    "metric_full_load_throughput_rows_source": "FullLoadThroughputRowsSource",
    "metric_full_load_throughput_rows_target": "FullLoadThroughputRowsTarget",
    "metric_full_load_throughput_bandwidth_source": "FullLoadThroughputBandwidthSource",
    "metric_full_load_throughput_bandwidth_target": "FullLoadThroughputBandwidthTarget",
}


@pytest.fixture
def stack() -> Stack:
    return Stack(App(), "MetricsStack")


def _literal() -> ReplicationTaskMetrics:
    return ReplicationTaskMetrics(
        replication_instance_identifier="orders-instance",
        replication_task_identifier="ABCDEFGHIJKLMNOP",
    )


def test_constants_are_the_cloudwatch_ones() -> None:
    assert NAMESPACE == "AWS/DMS"
    assert DEFAULT_STATISTIC == "Average"
    assert DEFAULT_PERIOD_MINUTES == 5


@pytest.mark.parametrize(("method", "metric_name"), sorted(NAMED_METRICS.items()))
def test_named_metric(stack: Stack, method: str, metric_name: str) -> None:
    metric: cloudwatch.Metric = getattr(_literal(), method)()
    assert metric.namespace == "AWS/DMS"
    assert metric.metric_name == metric_name
    assert stack.resolve(metric.dimensions) == {
        "ReplicationInstanceIdentifier": "orders-instance",
        "ReplicationTaskIdentifier": "ABCDEFGHIJKLMNOP",
    }
    assert metric.statistic == "Average"
    assert metric.period.to_seconds() == 300


def test_every_public_metric_method_is_covered() -> None:
    methods = {name for name in dir(ReplicationTaskMetrics) if name.startswith("metric_")}
    assert methods == set(NAMED_METRICS)


def test_named_metric_takes_statistic_and_period() -> None:
    metric = _literal().metric_cdc_latency_target(statistic="Maximum", period=Duration.minutes(1))
    assert metric.statistic == "Maximum"
    assert metric.period.to_seconds() == 60


def test_generic_metric_passes_options(stack: Stack) -> None:
    metric = _literal().metric(
        "CPUUtilization",
        statistic="p90",
        period=Duration.minutes(15),
        label="task CPU",
        unit=cloudwatch.Unit.PERCENT,
        color="#ff0000",
        account="123456789012",
        region="eu-west-1",
    )
    assert (metric.namespace, metric.metric_name) == ("AWS/DMS", "CPUUtilization")
    assert metric.statistic == "p90"
    assert metric.period.to_seconds() == 900
    assert metric.label == "task CPU"
    assert metric.unit == cloudwatch.Unit.PERCENT
    assert metric.color == "#ff0000"
    assert (metric.account, metric.region) == ("123456789012", "eu-west-1")


def _alarm_metric_properties(stack: Stack) -> dict[str, Any]:
    (alarm,) = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()
    return dict(alarm["Properties"])


def test_for_task_derives_dimensions_from_the_constructs(stack: Stack) -> None:
    instance = dms.CfnReplicationInstance(
        stack,
        "Instance",
        replication_instance_class="dms.t3.micro",
        replication_instance_identifier="Orders-Instance",
    )
    task = make_task(stack, "Task", replication_instance_arn=instance.ref)
    metrics = ReplicationTaskMetrics.for_task(task, replication_instance=instance)
    metrics.metric_cdc_latency_target().create_alarm(
        stack,
        "Latency",
        threshold=600,
        evaluation_periods=3,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    )
    task_id = stack.resolve(stack.get_logical_id(task))
    properties = _alarm_metric_properties(stack)
    assert properties["Namespace"] == "AWS/DMS"
    assert properties["MetricName"] == "CDCLatencyTarget"
    assert properties["Statistic"] == "Average"
    assert properties["Period"] == 300
    assert properties["Threshold"] == 600
    assert properties["EvaluationPeriods"] == 3
    assert sorted(properties["Dimensions"], key=lambda d: d["Name"]) == [
        # DMS stores instance identifiers in lower case.
        {"Name": "ReplicationInstanceIdentifier", "Value": "orders-instance"},
        # The task's resource id: the 7th ':'-separated part of its ARN (its Ref).
        {
            "Name": "ReplicationTaskIdentifier",
            "Value": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": task_id}]}]},
        },
    ]


def test_for_task_with_literal_arn_and_identifier(stack: Stack) -> None:
    metrics = ReplicationTaskMetrics.for_task(TASK_ARN, replication_instance="orders-instance")
    assert stack.resolve(metrics.dimensions) == {
        "ReplicationInstanceIdentifier": "orders-instance",
        "ReplicationTaskIdentifier": "EXISTINGTASK",
    }


def test_tokens_pass_through(stack: Stack) -> None:
    instance_id = CfnParameter(stack, "InstanceId").value_as_string
    task_arn = CfnParameter(stack, "TaskArn").value_as_string
    metrics = ReplicationTaskMetrics.for_task(task_arn, replication_instance=instance_id)
    metrics.metric_full_load_throughput_rows_target().create_alarm(
        stack, "Stalled", threshold=1, evaluation_periods=1
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "FullLoadThroughputRowsTarget",
            "Dimensions": Match.array_with(
                [
                    {"Name": "ReplicationInstanceIdentifier", "Value": {"Ref": "InstanceId"}},
                    {
                        "Name": "ReplicationTaskIdentifier",
                        "Value": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "TaskArn"}]}]},
                    },
                ]
            ),
        },
    )


def test_instance_without_identifier_is_an_error(stack: Stack) -> None:
    instance = dms.CfnReplicationInstance(
        stack, "Instance", replication_instance_class="dms.t3.micro"
    )
    with pytest.raises(ValueError, match=r"has no replication_instance_identifier"):
        ReplicationTaskMetrics.for_task(TASK_ARN, replication_instance=instance)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"replication_instance": "arn:aws:dms:eu-west-1:123456789012:rep:ABC"},
            r"is an ARN; pass the instance's identifier",
        ),
        ({"replication_instance": "bad_identifier!"}, r"not a replication instance identifier"),
    ],
)
def test_instance_identifier_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReplicationTaskMetrics.for_task(TASK_ARN, **kwargs)


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("arn:aws:dms:eu-west-1:123456789012:rep:INSTANCE", r"not a DMS task ARN"),
        ("arn:aws:s3:eu-west-1:123456789012:task:X", r"not a DMS task ARN"),
        ("arn:aws:dms:eu-west-1:123456789012:task:", r"has no resource id"),
    ],
)
def test_task_arn_errors(arn: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        task_resource_id(arn)


def test_constructor_rejects_arns_and_empty_values() -> None:
    with pytest.raises(ValueError, match=r"replication_task_identifier: .* is an ARN"):
        ReplicationTaskMetrics(
            replication_instance_identifier="orders-instance", replication_task_identifier=TASK_ARN
        )
    with pytest.raises(ValueError, match=r"must not be empty"):
        ReplicationTaskMetrics(
            replication_instance_identifier="", replication_task_identifier="ABC"
        )


# -- the starter's metric methods -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "metric_name"),
    [
        ("metric_cdc_latency_source", "CDCLatencySource"),
        ("metric_cdc_latency_target", "CDCLatencyTarget"),
        ("metric_cdc_incoming_changes", "CDCIncomingChanges"),
        ("metric_full_load_throughput_rows_target", "FullLoadThroughputRowsTarget"),
    ],
)
def test_the_starter_offers_the_task_s_metrics(stack: Stack, method: str, metric_name: str) -> None:
    instance = dms.CfnReplicationInstance(
        stack,
        "Instance",
        replication_instance_class="dms.t3.micro",
        replication_instance_identifier="orders-instance",
    )
    task = make_task(stack, "Task", replication_instance_arn=instance.ref, resource_identifier="t")
    starter = ReplicationTaskStarter(stack, "Starter", task=task, replication_instance=instance)
    metric = getattr(starter, method)()
    task_id = stack.resolve(stack.get_logical_id(task))
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "AWS/DMS",
        metric_name,
        "Average",
    )
    assert metric.period.to_minutes() == 5
    assert stack.resolve(metric.dimensions) == {
        "ReplicationInstanceIdentifier": "orders-instance",
        "ReplicationTaskIdentifier": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": task_id}]}]},
    }
    generic = starter.metric(metric_name, statistic="Maximum", period=Duration.minutes(1))
    assert (generic.statistic, generic.period.to_minutes()) == ("Maximum", 1)


def test_the_starter_s_metrics_need_the_replication_instance(stack: Stack) -> None:
    starter = ReplicationTaskStarter(stack, "Starter", task=TASK_ARN)
    with pytest.raises(ValueError, match=r"^replication_instance: the metrics of a task are named"):
        starter.metric_cdc_latency_target()
