"""ReplicationStarter (DMS Serverless): properties, identifiers that follow the definition,
grants, and the settings refused at synth time."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, Aws, CfnParameter, Stack, Tags
from aws_cdk.assertions import Template
from aws_cdk.aws_dms import CfnReplicationConfig
from dms_task_starter import (
    CdcStart,
    CdcStop,
    ReplicationStarter,
    StartType,
    WaitFor,
    replication_definition_digest,
)
from dms_task_starter_runtime import settings
from dms_task_starter_runtime.contract import Kind

from tests.support.cdk import (
    ACCOUNT_ARN,
    HANDLER_ROLE_PREFIX,
    REPLICATION_STARTER_TYPE,
    STACK_TAG,
    Synthesized,
    arn_grants,
    as_list,
    depends_on,
    make_config,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_cdk import aws_dms as dms

CONFIG_ARN: Final = f"{ACCOUNT_ARN}:replication-config:EXISTINGCONFIG"
START_TYPE: Final = "start_type: StartReplicationType"
STOP: Final = "server_time:2030-01-01T00:00:00"


def _props(template: Template, prefix: str = "") -> dict[str, Any]:
    (starter,) = (
        r
        for name, r in template.find_resources(REPLICATION_STARTER_TYPE).items()
        if name.startswith(prefix)
    )
    props = dict(starter["Properties"])
    props.pop("ServiceToken")
    return props


def _synth(
    configure: Callable[[dms.CfnReplicationConfig], None] | None = None, **options: Any
) -> tuple[Template, dms.CfnReplicationConfig]:
    stack = Stack(App(), "Serverless")
    config = make_config(stack, "Config", replication_config_identifier="orders")
    ReplicationStarter(stack, "Starter", replication_config=config, **options)
    if configure is not None:
        configure(config)  # after the starter: the identifiers are computed at synthesis
    return Template.from_stack(stack), config


def _identifier(template: Template) -> str:
    (config,) = template.find_resources("AWS::DMS::ReplicationConfig").values()
    identifier = config["Properties"]["ReplicationConfigIdentifier"]
    assert config["Properties"]["ResourceIdentifier"] == identifier
    return str(identifier)


def test_properties_of_a_config_in_the_template(mixed: Synthesized) -> None:
    props = _props(mixed.template, "Serverless")
    assert props == {
        "ReplicationConfigArn": {"Ref": "Config"},
        "MigrationType": "full-load-and-cdc",
        "WaitFor": "running",
        "OnDelete": "stop",
        "TimeoutSeconds": "1800",
        "CdcHandover": "true",
        # The identifier before replace_on_change's suffix: its replication is taken over.
        "BaseConfigIdentifier": "config",
    }
    deployed = {**props, "ReplicationConfigArn": f"{ACCOUNT_ARN}:replication-config:CONFIG"}
    parsed = settings.parse_starter_settings(deployed, Kind.REPLICATION)
    assert parsed.kind is Kind.REPLICATION
    assert parsed.base_config_identifier == "config"
    assert parsed.start_type is None  # the handler picks resume or reload per migration type
    assert parsed.migration_type == "full-load-and-cdc"


def test_the_config_is_granted_by_the_stacks_tags(mixed: Synthesized) -> None:
    (config,) = mixed.resources("AWS::DMS::ReplicationConfig").values()
    # Kept from 0.2.0 on a replace_on_change configuration (never added to an existing one).
    assert config["Properties"]["Tags"] == [STACK_TAG]
    statements = [s for _, s in mixed.handler_role_statements()]
    starting = [s for s in statements if "dms:StartReplication" in as_list(s["Action"])]
    # CloudFormation's system tag (what the stack created) and the handler's tag.
    assert len(starting) == 2
    assert all("Condition" in s for s in starting)


def test_the_starter_depends_on_the_role(mixed: Synthesized) -> None:
    (starter,) = mixed.resources(REPLICATION_STARTER_TYPE).values()
    role = mixed.handler_role()
    assert role in depends_on(starter)
    assert any(d.startswith(f"{HANDLER_ROLE_PREFIX}DefaultPolicy") for d in depends_on(starter))


def test_identifiers_end_in_the_definition_digest() -> None:
    template, config = _synth()
    digest = replication_definition_digest(config)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert _identifier(template) == f"orders-{digest[:8]}"
    assert len(_identifier(template)) <= 31


def test_a_definition_change_is_a_new_configuration() -> None:
    base = _identifier(_synth()[0])

    def mappings(config: dms.CfnReplicationConfig) -> None:
        config.table_mappings = {"rules": [{"rule-type": "selection"}]}

    def capacity(config: dms.CfnReplicationConfig) -> None:
        config.compute_config = CfnReplicationConfig.ComputeConfigProperty(max_capacity_units=4)

    assert _identifier(_synth(mappings)[0]) != base
    assert _identifier(_synth(capacity)[0]) != base
    # Starter settings are no part of the definition.
    assert _identifier(_synth(wait_for=WaitFor.NOTHING)[0]) == base
    assert _identifier(_synth(cdc_start=CdcStart.at_position("0/5120E10"))[0]) == base


def test_a_tag_change_is_a_new_configuration_but_not_0_2_0s_stack_tag() -> None:
    """DMS may refuse a tag-only modify after the first run: tags count in the digest."""
    base = _identifier(_synth()[0])
    assert _identifier(_synth(lambda c: Tags.of(c).add("cost-center", "42"))[0]) != base
    # The tag 0.2.0 put on every configuration does not count: its identifiers stay.
    kept = _synth(lambda c: Tags.of(c).add("dms-task-starter:stack", Aws.STACK_ID))[0]
    assert _identifier(kept) == base  # the construct puts it there anyway


def test_without_replace_on_change_the_config_gets_no_tag() -> None:
    template = _synth(replace_on_change=False)[0]
    (config,) = template.find_resources("AWS::DMS::ReplicationConfig").values()
    assert "Tags" not in config["Properties"]


def test_the_starter_names_the_base_identifier_it_takes_over_from() -> None:
    assert _props(_synth()[0])["BaseConfigIdentifier"] == "orders"
    assert "BaseConfigIdentifier" not in _props(_synth(replace_on_change=False)[0])


def test_without_replace_on_change_the_identifier_is_kept() -> None:
    template, _ = _synth(replace_on_change=False)
    (config,) = template.find_resources("AWS::DMS::ReplicationConfig").values()
    assert config["Properties"]["ReplicationConfigIdentifier"] == "orders"
    assert "ResourceIdentifier" not in config["Properties"]


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ("x" * 23, "longer than 22 characters"),
        ("1orders", "needs a literal replication_config_identifier"),
        ("orders--cdc", "needs a literal replication_config_identifier"),
        ("orders-", "needs a literal replication_config_identifier"),
    ],
)
def test_replace_on_change_needs_a_usable_identifier(identifier: str, problem: str) -> None:
    stack = Stack()
    config = make_config(stack, "Config", replication_config_identifier=identifier)
    with pytest.raises(ValueError, match=rf"^replace_on_change: .*{problem}"):
        ReplicationStarter(stack, "S", replication_config=config)


def test_replace_on_change_needs_a_literal_identifier() -> None:
    stack = Stack()
    identifier = CfnParameter(stack, "Identifier").value_as_string
    config = make_config(stack, "Config", replication_config_identifier=identifier)
    with pytest.raises(ValueError, match=r"^replace_on_change: .*literal"):
        ReplicationStarter(stack, "S", replication_config=config)
    ReplicationStarter(stack, "T", replication_config=config, replace_on_change=False)


@pytest.mark.parametrize(
    ("replication_type", "options", "message"),
    [
        ("full-load", {"start_type": StartType.RESUME_PROCESSING}, START_TYPE),
        ("full-load", {"cdc_start": CdcStart.at_position("0/1")}, "cdc_start: CdcStartPosition"),
        ("full-load", {"cdc_stop": CdcStop.at_position(STOP)}, "cdc_stop: CdcStopPosition"),
        ("cdc", {"wait_for": WaitFor.FULL_LOAD_FINISHED}, "wait_for: WaitFor"),
        ("cdc", {"start_type": StartType.RELOAD_TARGET}, START_TYPE),
    ],
)
def test_impossible_settings_are_refused_at_synth_time(
    replication_type: str, options: dict[str, Any], message: str
) -> None:
    stack = Stack()
    config = make_config(stack, "Config", replication_type=replication_type)
    expected = rf"^{re.escape(message)}: .*a {replication_type} replication"
    with pytest.raises(ValueError, match=expected):
        ReplicationStarter(stack, "S", replication_config=config, **options)


def test_bad_config_arn() -> None:
    with pytest.raises(
        ValueError, match=r"^replication_config: ReplicationConfigArn: not a DMS replication config"
    ):
        ReplicationStarter(Stack(), "S", replication_config=f"{ACCOUNT_ARN}:task:TASK")


def test_a_config_given_by_arn_is_granted_or_refused() -> None:
    """A configuration given by ARN is not in the template: the stack cannot tag it. Like a
    task given by ARN, it needs a grant by ARN (and the handler's tag), or a synth-time
    refusal; otherwise StartReplication is denied at deploy time."""
    stack = Stack(App(), "ByArn")
    try:
        ReplicationStarter(stack, "S", replication_config=CONFIG_ARN)
    except ValueError as error:
        refusal: str | None = str(error)
    else:
        refusal = None
    if refusal is not None:
        assert refusal.startswith("replication_config: ")
        return
    template = Template.from_stack(stack)
    granted = arn_grants(template, "dms:StartReplication", CONFIG_ARN)
    props = _props(template)
    assert granted, f"no grant of dms:StartReplication on {CONFIG_ARN}; properties: {props}"
