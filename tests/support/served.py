"""The DMS double (JSON protocol) and a stack status (CloudFormation query protocol) on HTTP.

While served, boto3's DMS, CloudFormation and Step Functions endpoints point at it, so
clients built meanwhile (the handler's, the tests') call it over the wire like the real
services. With the emulated CloudFormation, it also answers Step Functions (JSON 1.0
protocol) and takes the signals PUT to wait condition handles' presigned URLs.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .dms_double import ACCOUNT, REGION, TARGET_PREFIX, ServedError
from .tls import self_signed

if TYPE_CHECKING:
    from .dms_double import DmsDouble

DMS_ENDPOINT_VARIABLE: Final = "AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE"
CLOUDFORMATION_ENDPOINT_VARIABLE: Final = "AWS_ENDPOINT_URL_CLOUDFORMATION"
SFN_ENDPOINT_VARIABLE: Final = "AWS_ENDPOINT_URL_SFN"
ENDPOINT_VARIABLES: Final = (
    DMS_ENDPOINT_VARIABLE,
    CLOUDFORMATION_ENDPOINT_VARIABLE,
    SFN_ENDPOINT_VARIABLE,
)
SFN_TARGET_PREFIX: Final = "AWSStepFunctions."
CERTIFICATES_VARIABLE: Final = "SSL_CERT_FILE"
"""OpenSSL's trusted certificates: the emulated handles' server's, while served."""
STACK_ID: Final = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/OrdersReplication/"
    "5b8c2e10-0000-4000-8000-000000000001"
)
ROOT_STACK_ID: Final = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/OrdersRoot/"
    "0a1b2c3d-0000-4000-8000-000000000002"
)
"""The root stack when ``FixedStack`` plays a nested stack."""
CFN_NAMESPACE: Final = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


class StackSource(Protocol):
    """What answers ``DescribeStacks``: the emulated CloudFormation, or a fixed status."""

    def describe_stack(self, stack_name: str) -> dict[str, str]:
        """StackId, StackName, StackStatus; raise ``StackError`` to answer with an error."""
        ...


@runtime_checkable
class ResourceSource(Protocol):
    """What answers ``DescribeStackResource``: the emulated CloudFormation."""

    def describe_stack_resource(self, stack_name: str, logical_id: str) -> dict[str, str]:
        """StackId, StackName, LogicalResourceId, PhysicalResourceId, ResourceType,
        ResourceStatus; raise ``StackError`` to answer with an error."""
        ...


class JsonService(Protocol):
    """A service answering a JSON protocol: operation and body in, HTTP status and body out."""

    def answer(self, operation: str, body: bytes) -> tuple[int, dict[str, Any]]: ...


class SignalSink(Protocol):
    """What takes the PUTs to wait condition handles (``tests.support.wait_conditions``)."""

    base_url: str

    def receive(
        self, path: str, signature: str, content_type: str | None, body: bytes, now: float
    ) -> tuple[int, str]: ...


class StackError(ServedError):
    """A CloudFormation error answer: the code goes in the query protocol's ``Error``."""


@dataclass
class FixedStack:
    """A stack whose status a test sets; ``denied`` answers AccessDenied."""

    status: str = "CREATE_IN_PROGRESS"
    stack_id: str = STACK_ID
    denied: bool = False
    calls: list[str] = field(default_factory=list)
    root_status: str | None = None
    """Set: the stack is nested (directly) in ``ROOT_STACK_ID``, whose status this is."""

    def describe_stack(self, stack_name: str) -> dict[str, str]:
        self.calls.append(stack_name)
        if self.denied:
            raise StackError(
                "AccessDenied",
                f"User is not authorized to perform: cloudformation:DescribeStacks on {stack_name}",
                403,
            )
        if self.root_status is not None and stack_name == ROOT_STACK_ID:
            return {
                "StackId": ROOT_STACK_ID,
                "StackName": "OrdersRoot",
                "StackStatus": self.root_status,
            }
        if stack_name != self.stack_id:
            raise StackError("ValidationError", f"Stack with id {stack_name} does not exist")
        name = self.stack_id.split("/")[1]
        own = {"StackId": self.stack_id, "StackName": name, "StackStatus": self.status}
        if self.root_status is None:
            return own
        return {**own, "ParentId": ROOT_STACK_ID, "RootId": ROOT_STACK_ID}


def _query_xml(
    action: str, fields: dict[str, str], *, element: str, dated: str, wrapper: str = ""
) -> str:
    """A query-protocol answer: ``fields`` and the date ``dated`` in ``element`` (itself in
    ``wrapper``, if any)."""
    date = datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    members = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in fields.items())
    body = f"<{element}>{members}<{dated}>{date}</{dated}></{element}>"
    if wrapper:
        body = f"<{wrapper}>{body}</{wrapper}>"
    return (
        f'<{action}Response xmlns="{CFN_NAMESPACE}"><{action}Result>{body}</{action}Result>'
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        f"</ResponseMetadata></{action}Response>"
    )


def _describe_stacks_xml(stack: dict[str, str]) -> str:
    return _query_xml(
        "DescribeStacks", stack, element="member", dated="CreationTime", wrapper="Stacks"
    )


def _describe_stack_resource_xml(detail: dict[str, str]) -> str:
    return _query_xml(
        "DescribeStackResource",
        detail,
        element="StackResourceDetail",
        dated="LastUpdatedTimestamp",
    )


def _error_xml(error: StackError) -> str:
    kind = "Sender" if error.status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{CFN_NAMESPACE}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )


class ServedAws:
    """The double (and a stack source) on a random port of 127.0.0.1, in a daemon thread."""

    def __init__(
        self,
        dms: DmsDouble,
        stack: StackSource | None = None,
        *,
        stepfunctions: JsonService | None = None,
        signals: SignalSink | None = None,
    ) -> None:
        self.dms = dms
        self.stack: StackSource = stack or FixedStack()
        self.stepfunctions = stepfunctions
        self.signals = signals
        self._previous: dict[str, str | None] = {}
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._servers = [self._server]
        self._certificates = tempfile.TemporaryDirectory()
        self._certificate = Path(self._certificates.name) / "cert.pem"
        if signals is not None:
            # Handles' URLs are https: a second server, with a certificate trusted meanwhile.
            certificate, key = self_signed(Path(self._certificates.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate, key)
            self._servers.append(
                make_server("127.0.0.1", 0, self._wsgi, threaded=True, ssl_context=context)
            )
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
            )
            for server in self._servers
        ]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        target = request.headers.get("X-Amz-Target", "")
        if target.startswith(TARGET_PREFIX):
            status, body = self.dms.answer(target.removeprefix(TARGET_PREFIX), request.get_data())
            response = Response(
                json.dumps(body), status=status, content_type="application/x-amz-json-1.1"
            )
        elif target.startswith(SFN_TARGET_PREFIX) and self.stepfunctions is not None:
            operation = target.removeprefix(SFN_TARGET_PREFIX)
            status, body = self.stepfunctions.answer(operation, request.get_data())
            response = Response(
                json.dumps(body), status=status, content_type="application/x-amz-json-1.0"
            )
        elif request.method == "PUT" and self.signals is not None:
            response = self._signal(request)
        else:
            response = self._cloudformation(request)
        return response(environ, start_response)

    def _signal(self, request: Request) -> Response:
        """A PUT to a wait condition handle's presigned URL, answered as S3 would."""
        assert self.signals is not None
        status, body = self.signals.receive(
            urlsplit(request.environ.get("RAW_URI") or request.environ["REQUEST_URI"]).path,
            request.args.get("X-Amz-Signature", ""),
            request.headers.get("Content-Type"),
            request.get_data(),
            self.dms.clock,
        )
        return Response(body, status=status, content_type="application/xml")

    def _cloudformation(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
        try:
            action = form.get("Action")
            if action == "DescribeStacks":
                body = _describe_stacks_xml(self.stack.describe_stack(form["StackName"]))
            elif action == "DescribeStackResource" and isinstance(self.stack, ResourceSource):
                detail = self.stack.describe_stack_resource(
                    form["StackName"], form["LogicalResourceId"]
                )
                body = _describe_stack_resource_xml(detail)
            else:
                raise StackError("InvalidAction", f"{action} is not modelled")
            status = 200
        except StackError as error:
            body, status = _error_xml(error), error.status
        return Response(body, status=status, content_type="text/xml")

    def __enter__(self) -> ServedAws:
        for thread in self._threads:
            thread.start()
        variables = dict.fromkeys(ENDPOINT_VARIABLES, self.url)
        if self.signals is not None:
            host, port = self._servers[1].server_address[:2]
            self.signals.base_url = f"https://{host!s}:{port}"
            variables[CERTIFICATES_VARIABLE] = str(self._certificate)
        for variable, value in variables.items():
            self._previous[variable] = os.environ.get(variable)
            os.environ[variable] = value
        return self

    def __exit__(self, *exc_info: object) -> None:
        for variable, previous in self._previous.items():
            if previous is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = previous
        for server, thread in zip(self._servers, self._threads, strict=True):
            server.shutdown()
            thread.join()
        self._certificates.cleanup()
