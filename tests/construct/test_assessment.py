"""``premigration_assessment`` at synth time: the properties, the results bucket and role
(created or given), the grants added only with it, cdk-nag, and the synth-time errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from dms_task_starter import (
    OnAssessmentFailure,
    PremigrationAssessment,
    ReplicationStarter,
    ReplicationTaskStarter,
)

from tests.support.cdk import (
    REPLICATION_STARTER_TYPE,
    STARTER_TYPE,
    TASK_ARN,
    Synthesized,
    as_list,
    dependency_closure,
    make_config,
    make_task,
    rendered_dms_arn,
    synthesize,
)

if TYPE_CHECKING:
    from pathlib import Path

PASS_ROLE = "iam:PassRole"
START_RUN = "dms:StartReplicationTaskAssessmentRun"
DESCRIBES = [
    "dms:DescribeReplicationTaskAssessmentRuns",
    "dms:DescribeReplicationTaskIndividualAssessments",
]
GIVEN_ROLE = "arn:aws:iam::123456789012:role/dms-assessments"


def _grants(synth: Synthesized, action: str) -> list[dict[str, Any]]:
    return [
        statement
        for _, statement in synth.handler_role_statements()
        if action in as_list(statement["Action"])
    ]


def _properties(synth: Synthesized, resource_type: str = STARTER_TYPE) -> dict[str, Any]:
    (starter,) = synth.resources(resource_type).values()
    return dict(starter["Properties"])


def _task_starter(assessment: PremigrationAssessment | None, task: str | None = None) -> Any:
    def build(stack: Stack) -> None:
        target = task if task is not None else make_task(stack, "Task", resource_identifier="o")
        ReplicationTaskStarter(stack, "Start", task=target, premigration_assessment=assessment)

    return build


def test_created_bucket_and_role_and_the_grants(tmp_path: Path) -> None:
    synth = synthesize(_task_starter(PremigrationAssessment()), tmp_path, nag=True)
    bucket_id, bucket = synth.only("AWS::S3::Bucket")
    role_id = next(name for name in synth.resources("AWS::IAM::Role") if "AssessmentRole" in name)
    properties = _properties(synth)
    assert {key: value for key, value in properties.items() if key.startswith("Assessment")} == {
        "AssessmentOnFailure": "fail",
        "AssessmentFolder": "premigration-assessments",
        "AssessmentBucket": {"Ref": bucket_id},
        "AssessmentRoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
    }
    # The bucket: encrypted, SSL only, no public access, kept for its results.
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = synth.resources("AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The role: trusted by DMS, writes only to the folder of that bucket.
    role = synth.resources("AWS::IAM::Role")[role_id]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "dms.amazonaws.com"}
    role_statements = [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [(s["Action"], s["Resource"]) for s in role_statements] == [
        (
            ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:PutObjectTagging"],
            {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/premigration-assessments/*"]]},
        ),
        (["s3:ListBucket", "s3:GetBucketLocation"], {"Fn::GetAtt": [bucket_id, "Arn"]}),
    ]
    # The handler role: PassRole on that role only, for DMS only.
    (passing,) = _grants(synth, PASS_ROLE)
    assert passing["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "dms.amazonaws.com"}}
    # The run may be started on the stack's tasks only (by CloudFormation's tag or the
    # handler's), and read.
    starts = _grants(synth, START_RUN)
    assert {statement["Sid"] for statement in starts} == {"AssessStackTasks", "AssessTaggedTasks"}
    assert all(statement["Resource"] == rendered_dms_arn("task:*") for statement in starts)
    assert all("aws:ResourceTag/" in str(statement["Condition"]) for statement in starts)
    (describe,) = _grants(synth, DESCRIBES[0])
    assert (describe["Action"], describe["Resource"]) == (DESCRIBES, "*")


def test_the_grants_and_dms_role_are_in_place_before_the_starter_and_outlive_it(
    tmp_path: Path,
) -> None:
    synth = synthesize(_task_starter(PremigrationAssessment()), tmp_path)
    resources = synth.template_json()["Resources"]
    starter_id, _ = synth.only(STARTER_TYPE)
    closure = dependency_closure(resources, starter_id)
    role_policy = next(
        name
        for name, policy in synth.resources("AWS::IAM::Policy").items()
        if "AssessmentRole" in name
    )
    handler_policy = next(name for name in synth.handler_role_policies() if "DefaultPolicy" in name)
    assert {role_policy, handler_policy} <= closure
    assert synth.only("AWS::S3::Bucket")[0] in closure


def test_a_given_bucket_and_role_are_used_as_they_are(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        bucket = s3.Bucket.from_bucket_name(stack, "Results", "orders-assessments")
        role = iam.Role.from_role_arn(stack, "DmsRole", GIVEN_ROLE)
        assessment = PremigrationAssessment(
            bucket=bucket,
            role=role,
            folder="orders/runs",
            include_only=["unsupported-data-types-in-source"],
            on_failure=OnAssessmentFailure.WARN,
        )
        _task_starter(assessment)(stack)

    synth = synthesize(build, tmp_path, nag=True)
    assert synth.resources("AWS::S3::Bucket") == {}
    assert not any("Assessment" in name for name in synth.resources("AWS::IAM::Role"))
    properties = _properties(synth)
    assert properties["AssessmentBucket"] == "orders-assessments"
    assert properties["AssessmentRoleArn"] == GIVEN_ROLE
    assert properties["AssessmentFolder"] == "orders/runs"
    assert properties["AssessmentIncludeOnly"] == "unsupported-data-types-in-source"
    assert properties["AssessmentOnFailure"] == "warn"
    (passing,) = _grants(synth, PASS_ROLE)
    assert passing["Resource"] == GIVEN_ROLE


def test_a_given_bucket_with_a_created_role(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        bucket = s3.Bucket.from_bucket_name(stack, "Results", "orders-assessments")
        _task_starter(PremigrationAssessment(bucket=bucket, folder=""))(stack)

    synth = synthesize(build, tmp_path, nag=True)
    role_policy = next(
        policy
        for name, policy in synth.resources("AWS::IAM::Policy").items()
        if "AssessmentRole" in name
    )
    resources = [s["Resource"] for s in role_policy["Properties"]["PolicyDocument"]["Statement"]]
    rendered = str(resources)
    assert "orders-assessments/*" in rendered
    assert "AssessmentFolder" not in _properties(synth)


def test_a_task_given_by_arn(tmp_path: Path) -> None:
    synth = synthesize(_task_starter(PremigrationAssessment(), TASK_ARN), tmp_path, nag=True)
    assert _properties(synth)["ReplicationTaskArn"] == TASK_ARN
    assert len(_grants(synth, START_RUN)) == 2  # granted by the tag the handler puts on it


def test_without_the_option_nothing_is_added(tmp_path: Path) -> None:
    synth = synthesize(_task_starter(None), tmp_path)
    assert not any(key.startswith("Assessment") for key in _properties(synth))
    assert synth.resources("AWS::S3::Bucket") == {}
    for action in (PASS_ROLE, START_RUN, *DESCRIBES):
        assert _grants(synth, action) == []


def test_two_starters_share_the_grants_and_pass_their_own_roles(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        for name in ("One", "Two"):
            task = make_task(stack, f"{name}Task", resource_identifier=name.lower())
            ReplicationTaskStarter(
                stack, name, task=task, premigration_assessment=PremigrationAssessment()
            )

    synth = synthesize(build, tmp_path, nag=True)
    assert len(_grants(synth, START_RUN)) == 2
    passed = [statement["Resource"] for statement in _grants(synth, PASS_ROLE)]
    assert len(passed) == 2
    assert len(synth.resources("AWS::S3::Bucket")) == 2


def test_serverless_carries_the_choice_without_bucket_or_role(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        ReplicationStarter(
            stack,
            "Start",
            replication_config=make_config(stack, "Orders"),
            premigration_assessment=PremigrationAssessment(exclude=["x-check"]),
        )

    synth = synthesize(build, tmp_path, nag=True)
    properties = _properties(synth, REPLICATION_STARTER_TYPE)
    assert {key: value for key, value in properties.items() if key.startswith("Assessment")} == {
        "AssessmentOnFailure": "fail",
        "AssessmentFolder": "premigration-assessments",
        "AssessmentExclude": "x-check",
    }
    assert synth.resources("AWS::S3::Bucket") == {}
    assert _grants(synth, PASS_ROLE) == []
    assert _grants(synth, START_RUN) == []
    (describe,) = _grants(synth, DESCRIBES[0])
    assert describe["Resource"] == "*"


def test_the_attributes() -> None:
    stack = Stack(App(), "Attributes")
    assessed = ReplicationTaskStarter(
        stack, "Start", task=TASK_ARN, premigration_assessment=PremigrationAssessment()
    )
    plain = ReplicationTaskStarter(stack, "Plain", task=TASK_ARN)
    (logical_id,) = [
        name
        for name, resource in Template.from_stack(stack).find_resources(STARTER_TYPE).items()
        if "AssessmentOnFailure" in resource["Properties"]
    ]
    assert stack.resolve(assessed.assessment_run_arn) == {
        "Fn::GetAtt": [logical_id, "AssessmentRunArn"]
    }
    assert stack.resolve(assessed.assessment_run_status) == {
        "Fn::GetAtt": [logical_id, "AssessmentRunStatus"]
    }
    with pytest.raises(ValueError, match="AssessmentRunArn: the starter has no premigration_"):
        _ = plain.assessment_run_arn


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"include_only": ["a"], "exclude": ["b"]},
            ValueError,
            "PremigrationAssessment: include_only and exclude are both set; DMS accepts one",
        ),
        (
            {"include_only": "unsupported-data-types-in-source"},
            TypeError,
            "PremigrationAssessment.include_only: got str 'unsupported-data-types-in-source'; "
            "expected a list of individual assessment names (str)",
        ),
        (
            {"exclude": ["two words"]},
            ValueError,
            "PremigrationAssessment.exclude: 'two words' is not an individual assessment name",
        ),
        (
            {"on_failure": "rollback"},
            ValueError,
            "PremigrationAssessment.on_failure: got str 'rollback'; expected one of "
            "OnAssessmentFailure.FAIL, OnAssessmentFailure.WARN (or its value: 'fail', 'warn')",
        ),
        (
            {"folder": "/results/"},
            ValueError,
            "PremigrationAssessment.folder: '/results/' is not a folder such as "
            "premigration-assessments (no leading or trailing /)",
        ),
        (
            {"bucket": "orders-assessments"},
            TypeError,
            "PremigrationAssessment.bucket: got str 'orders-assessments'; expected an "
            "aws_s3.IBucket or None",
        ),
        (
            {"role": GIVEN_ROLE},
            TypeError,
            "PremigrationAssessment.role: got str",
        ),
    ],
)
def test_bad_values_fail_at_synth(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        PremigrationAssessment(**kwargs)
    assert str(caught.value).startswith(message), str(caught.value)


def test_serverless_refuses_a_bucket_or_role() -> None:
    stack = Stack(App(), "Serverless")
    bucket = s3.Bucket.from_bucket_name(stack, "Results", "orders-assessments")
    with pytest.raises(ValueError, match="DMS Serverless keeps assessment results in a bucket"):
        ReplicationStarter(
            stack,
            "Start",
            replication_config=make_config(stack, "Orders"),
            premigration_assessment=PremigrationAssessment(bucket=bucket),
        )
