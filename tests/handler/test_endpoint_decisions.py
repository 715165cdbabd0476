"""The starter's Update when only its update guard's id changed: an endpoint changed.

Expected values come from docs/endpoints.md: resume only the run the update guard stopped in
this update, at its checkpoint (``resume-processing``, never a CDC start, whatever
``start_type`` and ``cdc_start`` say), and leave anything else as it is.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from dms_task_starter_runtime.contract import Kind, MigrationType, StartType
from dms_task_starter_runtime.decisions import StackOperation
from dms_task_starter_runtime.guards import (
    decide_starter_update_behind_guard,
    guard_only_change,
    guard_physical_id,
)
from dms_task_starter_runtime.state import RunMarks, snapshot

from tests.handler.test_decisions import ARN, SETTINGS, context, summary, task

D3 = "2026-03-01T10:05:00+00:00"
PLAIN_ID = guard_physical_id(ARN)
STOPPED_ID = guard_physical_id(ARN, snapshot(task("running")))
BEFORE = replace(SETTINGS, update_guard=PLAIN_ID, cdc_start_position="0/5120E10")
AFTER = replace(BEFORE, update_guard=STOPPED_ID)
RESTARTED = RunMarks(D3, D3, "2026-03-01T09:00:00+00:00", "2026-03-01T10:00:00+00:00")

FORWARD = {
    # (status, the guard stopped a run in this update): what on_event does
    ("stopped", True): "start resume-processing; await running",
    ("failed", True): "start resume-processing; await running",
    ("modifying", True): "then start; await running",
    ("testing", True): "then start; await running",
    ("stopped", False): "nothing",
    ("ready", False): "nothing",
    ("running", False): "await running",
    ("starting", False): "await running",
}


@pytest.mark.parametrize(("status", "stopped"), list(FORWARD))
def test_an_endpoint_change_resumes_only_the_run_the_guard_stopped(
    status: str, stopped: bool
) -> None:
    # Without a stop in this update, the guard's id goes back from the previous update's.
    old, new = (BEFORE, AFTER) if stopped else (AFTER, BEFORE)
    assert guard_only_change(old, new)
    decision = decide_starter_update_behind_guard(old, new, task(status), None, context())
    assert summary(decision) == FORWARD[status, stopped]
    assert decision.plan.resume_only


def test_a_run_started_since_the_guard_stopped_it_is_not_started_again() -> None:
    restarted = task("stopped", marks=RESTARTED)
    decision = decide_starter_update_behind_guard(BEFORE, AFTER, restarted, None, context())
    assert summary(decision) == "nothing"


def test_a_reload_target_start_type_still_resumes() -> None:
    """Reloading the target for an endpoint change would throw away what it holds."""
    reloads = replace(AFTER, start_type=StartType.RELOAD_TARGET)
    before = replace(BEFORE, start_type=StartType.RELOAD_TARGET)
    decision = decide_starter_update_behind_guard(before, reloads, task("stopped"), None, context())
    assert summary(decision) == "start resume-processing; await running"


def test_a_full_load_serverless_replication_is_reloaded() -> None:
    """DMS cannot resume a full-load Serverless replication: the restoring type is reload."""
    arn = "arn:aws:dms:eu-west-1:123456789012:replication-config:R1"
    before = replace(BEFORE, arn=arn, kind=Kind.REPLICATION, cdc_start_position=None)
    after = replace(before, update_guard=guard_physical_id(arn, snapshot(task("running", arn))))
    replication = task(
        "stopped", arn, kind=Kind.REPLICATION, migration_type=MigrationType.FULL_LOAD
    )
    decision = decide_starter_update_behind_guard(before, after, replication, None, context())
    assert summary(decision) == "start reload-target; await running"


ROLLBACK = {
    # (status, the forward update's guard stopped a run): what the rollback Update does
    ("stopped", True): "start resume-processing; await running",
    ("running", True): "await running",
    ("stopped", False): "nothing",
    ("running", False): "await running",
}


@pytest.mark.parametrize(("status", "stopped"), list(ROLLBACK))
def test_the_rollback_of_an_endpoint_change_resumes_only_what_the_update_stopped(
    status: str, stopped: bool
) -> None:
    forward, restored = (AFTER, BEFORE) if stopped else (BEFORE, AFTER)
    rollback = context(StackOperation.UPDATE_ROLLBACK)
    decision = decide_starter_update_behind_guard(forward, restored, task(status), None, rollback)
    assert summary(decision) == ROLLBACK[status, stopped]
    assert decision.plan.best_effort


def test_a_definition_change_keeps_its_own_rule() -> None:
    """With the task's digest changed too, a stopped task is started with the new definition."""
    changed = replace(AFTER, task_definition_digest="new")
    assert not guard_only_change(BEFORE, changed)
    decision = decide_starter_update_behind_guard(BEFORE, changed, task("stopped"), None, context())
    assert summary(decision) == "start resume-processing; await running"
    # Its guard stopped the task in this update: CloudFormation may have modified an
    # endpoint since, so a start refused during the endpoint's test is made again later.
    assert decision.plan.waits_out_refusals


def test_only_a_start_after_this_updates_guard_stop_waits_out_refusals() -> None:
    unguarded = replace(BEFORE, task_definition_digest="new")
    plain = decide_starter_update_behind_guard(BEFORE, unguarded, task("stopped"), None, context())
    assert not plain.plan.waits_out_refusals
    rollback = context(StackOperation.UPDATE_ROLLBACK)
    changed = replace(AFTER, task_definition_digest="new")
    restore = decide_starter_update_behind_guard(changed, BEFORE, task("stopped"), None, rollback)
    assert summary(restore) == "start resume-processing; await running"
    assert restore.plan.resume_only  # a restoring start waits out refusals anyway
    assert not restore.plan.waits_out_refusals
