"""The ``AWS::DMS::Endpoint`` resources a guarded task (or configuration) reads and writes.

DMS refuses ``ModifyEndpoint`` while a task using the endpoint runs, and CloudFormation
modifies an endpoint in place for every property but ``KmsKeyId`` and
``ResourceIdentifier`` (same ARN). So a change of an endpoint of the stack must reach
the guards first: the endpoint's definition is part of the digest of each task (or
configuration) that refers to it (``Ref``), and the endpoint depends on the guards, so
that CloudFormation updates them, and they stop what runs, before it modifies the endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Reference, Stack, Token, Tokenization
from aws_cdk import aws_dms as dms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from constructs import IConstruct


def stack_endpoint(scope: IConstruct, arn: str | None) -> dms.CfnEndpoint | None:
    """The ``CfnEndpoint`` of ``scope``'s stack whose ``Ref`` ``arn`` is, or None.

    An endpoint given by ARN, or one of another stack (an import), cannot be ordered
    after the guards: it is not seen.
    """
    if arn is None or not Token.is_unresolved(arn):
        return None
    reference = Tokenization.reverse(arn, fail_concat=False)
    if not isinstance(reference, Reference):
        return None
    endpoint = reference.target
    if not isinstance(endpoint, dms.CfnEndpoint) or Stack.of(endpoint) is not Stack.of(scope):
        return None
    if Stack.of(scope).resolve(arn) != Stack.of(scope).resolve(endpoint.ref):
        return None  # an attribute of the endpoint (ExternalId), not its ARN
    return endpoint


def endpoint_definitions(scope: IConstruct, **arns: str | None) -> dict[str, dict[str, Any]]:
    """The definition of each endpoint of the stack that ``arns`` name, by role.

    Only endpoints of the stack appear: adding no key for an endpoint given by ARN keeps
    the digest of a task that uses none as it was.
    """
    found = {role: stack_endpoint(scope, arn) for role, arn in arns.items()}
    return {
        role: dict(endpoint._cfn_properties)
        for role, endpoint in found.items()
        if endpoint is not None
    }


def stack_endpoints(scope: IConstruct, *arns: str | None) -> Sequence[dms.CfnEndpoint]:
    """The distinct endpoints of ``scope``'s stack that ``arns`` refer to."""
    endpoints: list[dms.CfnEndpoint] = []
    for arn in arns:
        endpoint = stack_endpoint(scope, arn)
        if endpoint is not None and all(endpoint is not seen for seen in endpoints):
            endpoints.append(endpoint)
    return endpoints
