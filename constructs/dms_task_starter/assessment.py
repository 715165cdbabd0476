"""The premigration assessment that gates a first start: typed, validated at synth time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from dms_task_starter_runtime import settings
from dms_task_starter_runtime.contract import Kind, OnAssessmentFailure, Prop

from dms_task_starter import _checks

if TYPE_CHECKING:
    from constructs import Construct

CLASS: Final = "PremigrationAssessment"
DMS_PRINCIPAL: Final = "dms.amazonaws.com"
RESULT_OBJECT_ACTIONS: Final = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:PutObjectTagging",
)
"""What DMS does with the result objects of a run (the DMS user guide's assessment role)."""
RESULT_BUCKET_ACTIONS: Final = ("s3:ListBucket", "s3:GetBucketLocation")
NAMES_FORMS: Final = (
    "a list of individual assessment names (str), e.g. "
    "['all-check-source-data-types', 'mysql-check-binlog-format']"
)


class PremigrationAssessment:
    """A premigration assessment that must pass before the first start.

    For a task (:class:`ReplicationTaskStarter`) the starter runs it
    (``StartReplicationTaskAssessmentRun``), waits for it within ``timeout`` and starts only
    if it passed; for a Serverless replication (:class:`ReplicationStarter`) DMS runs it as
    part of the start (``PremigrationAssessmentSettings``), and DMS keeps the results in a
    bucket it manages: ``bucket`` and ``role`` apply to tasks only.
    """

    def __init__(
        self,
        *,
        include_only: Sequence[str] = (),
        exclude: Sequence[str] = (),
        on_failure: OnAssessmentFailure = OnAssessmentFailure.FAIL,
        bucket: s3.IBucket | None = None,
        folder: str = "premigration-assessments",
        role: iam.IRole | None = None,
    ) -> None:
        """Choose the assessments, what a failure does and where the results go.

        :param include_only: The individual assessments to run (their API names, e.g.
            ``mysql-check-binlog-format``). Default: DMS's default set for the task.
        :param exclude: Individual assessments to leave out of DMS's default set (not with
            ``include_only``). Default: none.
        :param on_failure: What an assessment that fails (or errs) does:
            ``OnAssessmentFailure.FAIL`` fails the deployment with nothing started,
            ``OnAssessmentFailure.WARN`` logs a warning and starts. Default: ``FAIL``.
        :param bucket: Task only: the S3 bucket DMS writes the results to. Default: one the
            construct creates (S3-managed encryption, SSL only, no public access, retained
            when the stack is deleted so the results stay readable).
        :param folder: The folder in the bucket for the results (no leading or trailing
            ``/``). Default: ``premigration-assessments``.
        :param role: Task only: the IAM role DMS assumes to write the results (trusted by
            ``dms.amazonaws.com``). Default: one the construct creates, allowed to write to
            ``folder`` in ``bucket`` only.
        """
        self.include_only: Final = _names(f"{CLASS}.include_only", include_only)
        """The individual assessments to run (empty: DMS's default set)."""
        self.exclude: Final = _names(f"{CLASS}.exclude", exclude)
        """The individual assessments left out of DMS's default set."""
        if self.include_only and self.exclude:
            raise ValueError(
                f"{CLASS}: include_only and exclude are both set; DMS accepts one of them: the "
                "assessments to run, or those to leave out of its default set"
            )
        self.on_failure: Final = _checks.member(
            f"{CLASS}.on_failure", OnAssessmentFailure, on_failure
        )
        """What an assessment that fails does to the deployment."""
        if bucket is not None and not hasattr(bucket, "bucket_name"):
            _checks.check_type(f"{CLASS}.bucket", bucket, s3.Bucket, "an aws_s3.IBucket or None")
        if role is not None and not hasattr(role, "role_arn"):
            _checks.check_type(f"{CLASS}.role", role, iam.Role, "an aws_iam.IRole or None")
        self.bucket: Final = bucket
        """The results bucket given (None: the construct creates one for a task)."""
        self.folder: Final = _folder(folder)
        """The folder of the results in the bucket."""
        self.role: Final = role
        """The role DMS assumes given (None: the construct creates one for a task)."""

    def _properties(self, scope: Construct, kind: Kind) -> tuple[dict[str, str], list[object]]:
        """The resource properties, creating the task's bucket and role when not given; and
        what the starter depends on (DMS's role with its grants)."""
        properties = {
            Prop.ASSESSMENT_ON_FAILURE: self.on_failure.value,
            Prop.ASSESSMENT_FOLDER: self.folder,
            Prop.ASSESSMENT_INCLUDE_ONLY: ",".join(self.include_only),
            Prop.ASSESSMENT_EXCLUDE: ",".join(self.exclude),
        }
        dependencies: list[object] = []
        if kind is Kind.REPLICATION:
            if self.bucket is not None or self.role is not None:
                raise ValueError(
                    "premigration_assessment: DMS Serverless keeps assessment results in a "
                    "bucket it manages; bucket and role apply to a ReplicationTaskStarter "
                    "only. Pass PremigrationAssessment without them"
                )
        else:
            bucket = self.bucket or _results_bucket(scope)
            role = self.role or _results_role(scope)
            if self.bucket is None or self.role is None:
                _grant_results(role, bucket, self.folder)
            properties[Prop.ASSESSMENT_BUCKET] = bucket.bucket_name
            properties[Prop.ASSESSMENT_ROLE_ARN] = role.role_arn
            # Its grants (the role itself is referenced): in place before the first run.
            grants = role.node.try_find_child("DefaultPolicy")
            dependencies.extend([grants] if grants is not None else [])
        return {prop: value for prop, value in properties.items() if value}, dependencies


def _names(prop: str, names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        _checks.check_type(prop, names, (list, tuple), NAMES_FORMS)
    for name in names:
        _checks.check_type(prop, name, str, NAMES_FORMS)
        literal = not Token.is_unresolved(name)
        if literal and not settings.ASSESSMENT_NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"{prop}: {name!r} is not an individual assessment name; expected {NAMES_FORMS}"
            )
    return tuple(names)


def _folder(folder: str) -> str:
    prop = f"{CLASS}.folder"
    _checks.check_type(prop, folder, str, settings.FOLDER_FORMS)
    literal = folder and not Token.is_unresolved(folder)
    if literal and not settings.FOLDER_PATTERN.fullmatch(folder):
        raise ValueError(f"{prop}: {folder!r} is not {settings.FOLDER_FORMS}")
    return folder


def check_assessment(value: object) -> None:
    """The starters' ``premigration_assessment``: a ``PremigrationAssessment`` or None."""
    _checks.check_optional(
        "premigration_assessment",
        value,
        PremigrationAssessment,
        "a PremigrationAssessment (e.g. PremigrationAssessment())",
    )


def _results_bucket(scope: Construct) -> s3.IBucket:
    bucket = s3.Bucket(
        scope,
        "AssessmentResults",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        # The results explain a failed deployment: its rollback must not delete them.
        removal_policy=RemovalPolicy.RETAIN,
    )
    Validations.of(bucket).acknowledge(
        Acknowledgment(
            id="AwsSolutions-S1",
            reason=(
                "Only DMS writes to this bucket: the results of premigration assessment runs. "
                "Its writes are in CloudTrail; server access logs would need a second bucket "
                "for every starter."
            ),
        )
    )
    return bucket


def _results_role(scope: Construct) -> iam.IRole:
    return iam.Role(
        scope,
        "AssessmentRole",
        assumed_by=iam.ServicePrincipal(DMS_PRINCIPAL),
        description="DMS writes the starter's premigration assessment results with this role.",
    )


def _grant_results(role: iam.IRole, bucket: s3.IBucket, folder: str) -> None:
    """Let ``role`` write the results in ``folder`` of ``bucket``, and nothing else."""
    objects = bucket.arn_for_objects(f"{folder}/*" if folder else "*")
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(RESULT_OBJECT_ACTIONS), resources=[objects])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(RESULT_BUCKET_ACTIONS), resources=[bucket.bucket_arn])
    )
    resolved = Stack.of(role).resolve(objects)
    Validations.of(role).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{_nag_resource(resolved)}]",
            reason=(
                "DMS names each result object after the assessment run; the grant covers the "
                "objects of the results folder of the results bucket only."
            ),
        )
    )


def _nag_resource(resolved: object) -> str:
    """How cdk-nag writes a resource in its finding ids (``<Logical.Arn>/folder/*``)."""
    if isinstance(resolved, str):
        return resolved
    assert isinstance(resolved, dict), resolved
    parts = []
    for part in resolved["Fn::Join"][1]:
        if isinstance(part, str):
            parts.append(part)
        elif "Fn::GetAtt" in part:
            parts.append(f"<{part['Fn::GetAtt'][0]}.{part['Fn::GetAtt'][1]}>")
        else:
            parts.append(f"<{part['Ref']}>")
    return "".join(parts)
