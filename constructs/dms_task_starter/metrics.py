"""CloudWatch metrics of an AWS DMS replication task (namespace ``AWS/DMS``).

DMS publishes its replication task metrics with two dimensions:

- ``ReplicationInstanceIdentifier``: the replication instance's *identifier*, the name given
  to it (``ReplicationInstanceIdentifier``, stored in lower case, e.g. ``orders-instance``).
  It is **not** part of the instance's ARN (``arn:...:rep:<resource id>``), and CloudFormation
  returns no attribute holding it: a ``CfnReplicationInstance`` must set
  ``replication_instance_identifier`` for it to be known at synth time.
- ``ReplicationTaskIdentifier``: the task's *resource id*, the last part of its ARN
  (``arn:...:task:<resource id>``), not the task's friendly ``ReplicationTaskIdentifier``.
  It is derived from the task's ``Ref`` (its ARN) with ``Fn::Select``/``Fn::Split``.

The host metrics of the replication instance itself (``CPUUtilization``, ``FreeableMemory``
...) use a different dimension, ``ReplicationInstanceExternalResourceId``, and are not
covered here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from aws_cdk import Arn, ArnFormat, Duration, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dms as dms

if TYPE_CHECKING:
    from collections.abc import Mapping

NAMESPACE: Final = "AWS/DMS"
"""The CloudWatch namespace of every DMS metric."""

INSTANCE_DIMENSION: Final = "ReplicationInstanceIdentifier"
"""Dimension holding the replication instance's identifier (its name, lower case)."""

TASK_DIMENSION: Final = "ReplicationTaskIdentifier"
"""Dimension holding the replication task's resource id (the last part of its ARN)."""

DEFAULT_STATISTIC: Final = "Average"
"""Statistic of every metric unless another is asked for: all task metrics are gauges."""

DEFAULT_PERIOD_MINUTES: Final = 5
"""Period of every metric unless another is asked for (DMS publishes one value a minute)."""

_ARN_PREFIX: Final = "arn:"
_TASK_RESOURCE: Final = "task"
_INSTANCE_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class ReplicationTaskMetrics:
    """Factory of ``cloudwatch.Metric`` objects for one replication task.

    Every metric has the namespace ``AWS/DMS``, the dimensions ``ReplicationInstanceIdentifier``
    and ``ReplicationTaskIdentifier``, the statistic ``Average`` and a period of 5 minutes,
    unless another statistic or period is passed. Use :meth:`for_task` to derive the
    dimension values from a ``CfnReplicationTask`` and its replication instance.
    """

    def __init__(
        self, *, replication_instance_identifier: str, replication_task_identifier: str
    ) -> None:
        """Metrics of the task with the given dimension values (literal strings or tokens).

        :param replication_instance_identifier: The replication instance's identifier (its
            name, e.g. ``orders-instance``), not its ARN.
        :param replication_task_identifier: The task's resource id: the last part of its ARN
            (``arn:aws:dms:<region>:<account>:task:<resource id>``).
        """
        if not replication_instance_identifier or not replication_task_identifier:
            raise ValueError(
                "replication_instance_identifier and replication_task_identifier must not be empty"
            )
        for name, value in (
            ("replication_instance_identifier", replication_instance_identifier),
            ("replication_task_identifier", replication_task_identifier),
        ):
            if not Token.is_unresolved(value) and value.startswith(_ARN_PREFIX):
                raise ValueError(
                    f"{name}: {value!r} is an ARN; the dimension is an identifier (for a task "
                    "the last part of its ARN, for an instance its name). Use "
                    "ReplicationTaskMetrics.for_task to derive both."
                )
        self.replication_instance_identifier: Final[str] = replication_instance_identifier
        """Value of the ``ReplicationInstanceIdentifier`` dimension."""
        self.replication_task_identifier: Final[str] = replication_task_identifier
        """Value of the ``ReplicationTaskIdentifier`` dimension."""

    @classmethod
    def for_task(
        cls,
        task: dms.CfnReplicationTask | str,
        *,
        replication_instance: dms.CfnReplicationInstance | str,
    ) -> ReplicationTaskMetrics:
        """Derive the dimension values from a task and its replication instance.

        :param task: A ``CfnReplicationTask`` (the resource id is taken from its ``Ref``,
            the task ARN, with ``Fn::Select``/``Fn::Split``) or a task ARN (literal or token).
        :param replication_instance: A ``CfnReplicationInstance`` with a
            ``replication_instance_identifier`` (CloudFormation exposes no attribute for the
            identifier, and the instance ARN does not contain it), or the identifier itself.
            Literal identifiers are lower-cased, as DMS stores them.
        """
        task_arn = task.ref if isinstance(task, dms.CfnReplicationTask) else task
        return cls(
            replication_instance_identifier=_instance_identifier(replication_instance),
            replication_task_identifier=task_resource_id(task_arn),
        )

    @property
    def dimensions(self) -> Mapping[str, str]:
        """The two dimensions of every task metric."""
        return {
            INSTANCE_DIMENSION: self.replication_instance_identifier,
            TASK_DIMENSION: self.replication_task_identifier,
        }

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = DEFAULT_STATISTIC,
        period: Duration | None = None,
        label: str | None = None,
        unit: cloudwatch.Unit | None = None,
        color: str | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> cloudwatch.Metric:
        """Return the task metric ``metric_name`` of the namespace ``AWS/DMS``.

        :param metric_name: A DMS replication task metric, e.g. ``CDCLatencyTarget``.
        :param statistic: Default: ``Average``.
        :param period: Default: 5 minutes.
        :param label: Default: none (CloudWatch shows the metric name).
        :param unit: Only datapoints of this unit. Default: all units.
        :param color: Graph colour (``#rrggbb``). Default: automatic.
        :param account: Account of the task. Default: the stack's account.
        :param region: Region of the task. Default: the stack's region.
        """
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_name,
            dimensions_map=dict(self.dimensions),
            statistic=statistic,
            period=period or Duration.minutes(DEFAULT_PERIOD_MINUTES),
            label=label,
            unit=unit,
            color=color,
            account=account,
            region=region,
        )

    def metric_cdc_latency_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCLatencySource``: seconds between the last event captured from the source and
        the replication instance's clock.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCLatencySource", statistic=statistic, period=period)

    def metric_cdc_latency_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCLatencyTarget``: seconds between the first event waiting to be committed on
        the target and the replication instance's clock (never below the source latency).

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCLatencyTarget", statistic=statistic, period=period)

    def metric_cdc_incoming_changes(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCIncomingChanges``: change events waiting to be applied to the target at a
        point in time.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCIncomingChanges", statistic=statistic, period=period)

    def metric_cdc_changes_memory_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCChangesMemorySource``: rows in memory waiting to be committed from the source.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCChangesMemorySource", statistic=statistic, period=period)

    def metric_cdc_changes_memory_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCChangesMemoryTarget``: rows in memory waiting to be committed to the target.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCChangesMemoryTarget", statistic=statistic, period=period)

    def metric_cdc_changes_disk_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCChangesDiskSource``: rows on disk waiting to be committed from the source.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCChangesDiskSource", statistic=statistic, period=period)

    def metric_cdc_changes_disk_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCChangesDiskTarget``: rows on disk waiting to be committed to the target.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCChangesDiskTarget", statistic=statistic, period=period)

    def metric_cdc_throughput_rows_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCThroughputRowsSource``: changes read from the source, rows per second.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCThroughputRowsSource", statistic=statistic, period=period)

    def metric_cdc_throughput_rows_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCThroughputRowsTarget``: changes written to the target, rows per second.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCThroughputRowsTarget", statistic=statistic, period=period)

    def metric_cdc_throughput_bandwidth_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCThroughputBandwidthSource``: CDC network bandwidth at the source, KB per
        second (sampled; zero without traffic).

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCThroughputBandwidthSource", statistic=statistic, period=period)

    def metric_cdc_throughput_bandwidth_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``CDCThroughputBandwidthTarget``: CDC network bandwidth at the target, KB per
        second (sampled; zero without traffic).

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("CDCThroughputBandwidthTarget", statistic=statistic, period=period)

    def metric_full_load_throughput_rows_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``FullLoadThroughputRowsSource``: full-load rows read from the source per second.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("FullLoadThroughputRowsSource", statistic=statistic, period=period)

    def metric_full_load_throughput_rows_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``FullLoadThroughputRowsTarget``: full-load rows written to the target per second.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("FullLoadThroughputRowsTarget", statistic=statistic, period=period)

    def metric_full_load_throughput_bandwidth_source(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``FullLoadThroughputBandwidthSource``: full-load network bandwidth from the
        source, KB per second.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("FullLoadThroughputBandwidthSource", statistic=statistic, period=period)

    def metric_full_load_throughput_bandwidth_target(
        self, *, statistic: str = DEFAULT_STATISTIC, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """``FullLoadThroughputBandwidthTarget``: full-load network bandwidth to the target,
        KB per second.

        :param statistic: The statistic. Default: ``Average``.
        :param period: The period. Default: 5 minutes.
        """
        return self.metric("FullLoadThroughputBandwidthTarget", statistic=statistic, period=period)


def task_resource_id(task_arn: str) -> str:
    """Return the resource id of a task ARN, the value of ``ReplicationTaskIdentifier``.

    A literal ARN is split in Python (and must be a DMS task ARN); a token (e.g. a
    ``CfnReplicationTask``'s ``Ref``) becomes ``Fn::Select [6, Fn::Split [":", arn]]``.
    """
    components = Arn.split(task_arn, ArnFormat.COLON_RESOURCE_NAME)
    if Token.is_unresolved(task_arn):
        resource_name = components.resource_name
        assert resource_name is not None
        return resource_name
    if components.service != "dms" or components.resource != _TASK_RESOURCE:
        raise ValueError(
            f"task: {task_arn!r} is not a DMS task ARN (arn:<partition>:dms:<region>:<account>:"
            "task:<resource id>)"
        )
    if not components.resource_name:
        raise ValueError(f"task: {task_arn!r} has no resource id after ':task:'")
    return components.resource_name


def _instance_identifier(instance: dms.CfnReplicationInstance | str) -> str:
    """The ``ReplicationInstanceIdentifier`` dimension of a replication instance."""
    if isinstance(instance, dms.CfnReplicationInstance):
        identifier = instance.replication_instance_identifier
        if identifier is None:
            raise ValueError(
                f"replication_instance: {instance.node.path} has no "
                "replication_instance_identifier. DMS names the metrics' "
                "ReplicationInstanceIdentifier dimension after it, and CloudFormation neither "
                "returns the generated identifier nor puts it in the instance ARN. Set "
                "replication_instance_identifier on the CfnReplicationInstance, or pass the "
                "identifier as a string."
            )
    else:
        identifier = instance
    if Token.is_unresolved(identifier):
        return identifier
    if identifier.startswith(_ARN_PREFIX):
        raise ValueError(
            f"replication_instance: {identifier!r} is an ARN; pass the instance's identifier "
            "(its name), which the ARN does not contain"
        )
    lowered = identifier.lower()
    if not _INSTANCE_IDENTIFIER.match(lowered):
        raise ValueError(
            f"replication_instance: {identifier!r} is not a replication instance identifier "
            "(letters, digits and single hyphens, starting with a letter)"
        )
    return lowered
