"""What a 12-hour long wait costs: state transitions and signaller invocations, observed.

A stack with one task starter and ``long_wait=LongWait(maximum=Duration.hours(12))`` is
deployed through the emulated CloudFormation (``tests.support.cloud``) against the DMS double,
whose task's full load never finishes: the wait lasts its whole maximum, then the signaller
signals FAILURE and the stack rolls back. The state machine's execution runs in the emulated
Step Functions in virtual time, its signaller in-process with its own role's grants. The
figures are what that run counted: the state transitions of the execution (every state
entered: Step Functions Standard bills each), the signaller's invocations, and their
duration as measured here (in-process, against a local DMS double: a lower bound of what a
Lambda function spends, whose DMS call crosses the network), billed per started millisecond
at the function's memory size.

The cost is computed from those counts with the published prices below (us-east-1, no free
tier, no Savings Plans); the prices are inputs, the counts are observed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aws_cdk import CfnResource, Duration, Stack
from dms_task_starter import LongWait, ReplicationTaskStarter, WaitFor

from bench._common import Row, emit, module_command
from tests.support.cdk import make_task, shape_template
from tests.support.cloud import Cloud, PolicedDouble
from tests.support.served import ServedAws

if TYPE_CHECKING:
    from tests.support.cloud import Deployed

COMMAND: Final = module_command("bench.long_wait_cost")
MAXIMUM_HOURS: Final = 12
STEP_FUNCTIONS_PRICING: Final = "https://aws.amazon.com/step-functions/pricing/"
USD_PER_STATE_TRANSITION: Final = 0.025 / 1000
"""Step Functions Standard workflows: $0.025 per 1,000 state transitions (us-east-1)."""
LAMBDA_PRICING: Final = "https://aws.amazon.com/lambda/pricing/"
USD_PER_REQUEST: Final = 0.20 / 1_000_000
"""Lambda requests: $0.20 per 1M (us-east-1, x86 and Arm alike)."""
USD_PER_ARM_GB_SECOND: Final = 0.0000133334
"""Lambda duration on Arm (arm64): $0.0000133334 per GB-second (us-east-1, first tier)."""
NEVER: Final = 10**9
"""Full-load steps of a load that never finishes within the wait."""


@dataclass(frozen=True)
class TwelveHourWait:
    """The README's pattern: a task, its starter with a 12-hour long wait, a later resource."""

    def build(self, stack: Stack) -> None:
        task = make_task(
            stack, "OrdersTask", resource_identifier="orders", migration_type="full-load"
        )
        starter = ReplicationTaskStarter(
            stack,
            "StartOrdersTask",
            task=task,
            long_wait=LongWait(
                until=WaitFor.FULL_LOAD_FINISHED, maximum=Duration.hours(MAXIMUM_HOURS)
            ),
        )
        later = CfnResource(
            stack, "Later", type="AWS::SSM::Parameter", properties={"Type": "String", "Value": "1"}
        )
        later.node.add_dependency(starter)


@dataclass(frozen=True)
class Observed:
    status: str
    waited_seconds: float
    transitions: int
    invocations: int
    billed_gb_seconds: float
    wall_seconds: float


def deploy() -> Observed:
    """Deploy the stack; the full load never ends, so the wait lasts its maximum."""
    double = PolicedDouble()
    cloud = Cloud(double)

    def never_loads(task: Deployed) -> None:
        item = double.item(task.physical_id)
        assert item is not None
        item.full_load_steps = NEVER

    cloud.after_create["OrdersTask"] = never_loads
    with ServedAws(double, cloud, stepfunctions=cloud.stepfunctions, signals=cloud.waits):
        status = cloud.deploy(shape_template(TwelveHourWait()))
    (execution,) = cloud.stepfunctions.executions.values()
    (condition,) = [
        s
        for s in cloud.steps
        if (s.type, s.action) == ("AWS::CloudFormation::WaitCondition", "Create")
    ]
    signallers = cloud.invocations  # only state machines invoke functions here
    assert len(signallers) == execution.invocations
    billed = sum(math.ceil(i.wall_seconds * 1000) / 1000 * i.memory_mb / 1024 for i in signallers)
    return Observed(
        status=status,
        waited_seconds=condition.at - execution.start_date,
        transitions=execution.transitions,
        invocations=execution.invocations,
        billed_gb_seconds=billed,
        wall_seconds=sum(i.wall_seconds for i in signallers),
    )


def main() -> None:
    observed = deploy()
    transitions_usd = observed.transitions * USD_PER_STATE_TRANSITION
    requests_usd = observed.invocations * USD_PER_REQUEST
    duration_usd = observed.billed_gb_seconds * USD_PER_ARM_GB_SECOND
    total = transitions_usd + requests_usd + duration_usd
    hours = observed.waited_seconds / 3600
    emit(
        Row(
            "long wait (12 h maximum, target never reached): counts",
            f"waited {hours:.2f} h (stack {observed.status}); {observed.transitions} state "
            f"transitions; {observed.invocations} signaller invocations, "
            f"{observed.billed_gb_seconds:.3f} GB-s billed ({observed.wall_seconds:.2f} s "
            "in-process)",
            "n/a (O(1) resources per stack, none per check)",
            None,
            COMMAND,
        )
    )
    emit(
        Row(
            "long wait (12 h maximum): cost per wait",
            f"${total:.4f} = ${transitions_usd:.4f} transitions + ${requests_usd:.5f} requests "
            f"+ ${duration_usd:.6f} duration (prices: {STEP_FUNCTIONS_PRICING} "
            f"${USD_PER_STATE_TRANSITION * 1000:g}/1000 transitions; {LAMBDA_PRICING} "
            f"${USD_PER_REQUEST * 1_000_000:g}/1M requests, "
            f"${USD_PER_ARM_GB_SECOND:.10f}/GB-s arm64)",
            "n/a",
            None,
            COMMAND,
        )
    )


if __name__ == "__main__":
    main()
