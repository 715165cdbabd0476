"""Waits beyond CloudFormation's custom-resource hour: a wait condition, signalled by the
stack's long-wait state machine once DMS reaches the target (``LongWait``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aws_cdk import CfnElement, CustomResource, Duration, Stack
from aws_cdk import aws_cloudformation as cfn
from dms_task_starter_runtime import contract
from dms_task_starter_runtime.contract import Kind, MigrationType, Prop, WaitFor

from dms_task_starter import _checks
from dms_task_starter._base import definition_digest
from dms_task_starter._lazy import lazy_string

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dms_task_starter._base import StarterBase

MAXIMUM_FORMS: Final = (
    "an aws_cdk.Duration of whole minutes from 1 minute to 12 hours (e.g. Duration.hours(6))"
)
LONG_WAIT_FORMS: Final = "a LongWait (e.g. LongWait(until=WaitFor.FULL_LOAD_FINISHED))"
UNTIL_FORMS: Final = "WaitFor.RUNNING or WaitFor.FULL_LOAD_FINISHED"
DIGEST_CHARS: Final = 8
"""The digest that ends the logical ids of a wait's resources: a new start, a new wait."""
WAIT_DIGEST_PROPS: Final = (
    Prop.TASK_ARN,
    Prop.CONFIG_ARN,
    Prop.START_TYPE,
    Prop.REPLICATION_START_TYPE,
    Prop.CDC_START_TIME,
    Prop.CDC_START_POSITION,
    Prop.CDC_STOP_POSITION,
    Prop.TASK_DEFINITION_DIGEST,
    Prop.UPDATE_GUARD,
)
"""The starter properties whose change makes the starter start again (``start_inputs``, the
target itself, the run an update guard stopped)."""


@dataclass(frozen=True, init=False)
class LongWait:
    """Keep the deployment waiting, up to 12 hours, until DMS reaches ``until``.

    The starter starts the task (or replication) and answers at once; a CloudFormation wait
    condition (``starter.wait_condition``) then waits until the stack's long-wait state
    machine signals it: SUCCESS when ``until`` is reached, FAILURE with DMS's status, stop
    reason and last failure message when it cannot be (failed, stopped by someone) or when
    ``maximum`` has passed. Make later resources wait with
    ``consumer.node.add_dependency(starter)``.
    """

    until: WaitFor
    maximum: Duration

    def __init__(
        self,
        *,
        until: WaitFor = WaitFor.FULL_LOAD_FINISHED,
        maximum: Duration = Duration.hours(12),  # noqa: B008 - immutable, shown as written
    ) -> None:
        """Describe a long wait (the starter's ``long_wait``).

        :param until: What to wait for: ``WaitFor.FULL_LOAD_FINISHED`` (default) or
            ``WaitFor.RUNNING`` (a Serverless replication's capacity provisioning included).
        :param maximum: How long to wait at most, whole minutes from 1 minute to 12 hours.
            Default: 12 hours (of which the signaller waits 11 h 56 min: it signals FAILURE
            4 minutes before CloudFormation's 12-hour limit of a wait condition, so that the
            failure names the task's status).
        """
        checked_until = _checks.member("long_wait.until", WaitFor, until)
        if checked_until is WaitFor.NOTHING:
            raise ValueError(
                f"long_wait.until: WaitFor.NOTHING gives a wait condition nothing to wait "
                f"for; expected {UNTIL_FORMS} (or no long_wait)"
            )
        _checks.check_type("long_wait.maximum", maximum, Duration, MAXIMUM_FORMS)
        seconds = maximum.to_seconds(integral=False)
        low, high = contract.MIN_LONG_WAIT_SECONDS, contract.MAX_LONG_WAIT_SECONDS
        if not (seconds % 60 == 0 and low <= seconds <= high):
            raise ValueError(
                f"long_wait.maximum: got {seconds:g} seconds; expected {MAXIMUM_FORMS}"
            )
        object.__setattr__(self, "until", checked_until)
        object.__setattr__(self, "maximum", maximum)

    @property
    def maximum_seconds(self) -> int:
        """The maximum in seconds."""
        return int(self.maximum.to_seconds())


def add_long_wait(
    starter: StarterBase,
    long_wait: LongWait,
    *,
    kind: Kind,
    properties: Mapping[str, str],
    definition: Callable[[], str] | None,
) -> cfn.CfnWaitCondition:
    """Add the wait condition of ``starter``, its handle and the ``Custom::DmsLongWait``
    resource that starts the state machine which signals it. Return the wait condition.

    CloudFormation cannot update a wait condition and needs a new handle for each new wait:
    the three logical ids end in a digest of what makes the starter start again and of the
    long wait's settings, so that such an update creates a new trio (and CloudFormation's
    cleanup deletes the old one, whose Delete stops its execution).

    :param properties: The starter's resource properties.
    :param definition: The digest of the target's definition (None for an ARN).
    """
    _check_full_load(long_wait, properties.get(Prop.MIGRATION_TYPE))
    provider = starter.provider
    grants = provider.enable_long_waits()
    handle = cfn.CfnWaitConditionHandle(starter, "WaitHandle")
    resource = CustomResource(
        starter,
        "LongWait",
        service_token=provider.service_token,
        resource_type=contract.LONG_WAIT_RESOURCE_TYPE,
        properties={
            kind.arn_prop: properties[kind.arn_prop],
            Prop.UNTIL: long_wait.until.value,
            Prop.MAXIMUM_SECONDS: str(long_wait.maximum_seconds),
            # The logical id, not the URL (Ref): the Provider framework logs the properties.
            Prop.WAIT_HANDLE: handle.logical_id,
        },
    )
    # Created after the start, the handle and the grants; deleted (its execution stopped)
    # before the grants.
    resource.node.add_dependency(starter.resource, handle, grants, provider.role)
    condition = cfn.CfnWaitCondition(
        starter,
        "WaitCondition",
        handle=handle.ref,
        count=1,
        timeout=str(contract.wait_condition_timeout_seconds(long_wait.maximum_seconds)),
    )
    condition.node.add_dependency(resource)

    def digest() -> str:
        waited = {prop: properties[prop] for prop in WAIT_DIGEST_PROPS if prop in properties}
        return definition_digest(
            starter,
            {
                **waited,
                "Definition": "" if definition is None else definition(),
                Prop.UNTIL: long_wait.until.value,
                Prop.MAXIMUM_SECONDS: long_wait.maximum_seconds,
            },
        )[:DIGEST_CHARS]

    cfn_resource = resource.node.default_child
    assert isinstance(cfn_resource, CfnElement)
    for element in (handle, cfn_resource, condition):
        _end_logical_id_in(element, digest)
    return condition


def _check_full_load(long_wait: LongWait, migration_type: str | None) -> None:
    """A cdc task (replication) has no full load: waiting for its end could only fail."""
    if long_wait.until is WaitFor.FULL_LOAD_FINISHED and migration_type == MigrationType.CDC:
        raise ValueError(
            "long_wait.until: a cdc task (replication) has no full load, so the wait could only "
            "fail at its maximum; expected WaitFor.RUNNING for it"
        )


def _end_logical_id_in(element: CfnElement, digest: Callable[[], str]) -> None:
    """The element's logical id, followed by ``digest()`` (computed when the template is
    rendered, once every construct of the app is in place)."""
    stack = Stack.of(element)
    element.override_logical_id(lazy_string(lambda: stack.get_logical_id(element) + digest()))
