"""The template as CloudFormation receives it: through the SAM transform, then deployed.

cfn-lint validates resource schemas but does not run the SAM transform, so a template the
transform rejects (a route naming an authorizer its API does not define, say) passes it and
fails only at `sam deploy`. These tests run the transform the way CloudFormation does
(aws-sam-translator, pinned in scripts/test) on the template as `sam package` leaves it, with
every local CodeUri replaced by an S3 URI, and then create the transformed stack in moto's
CloudFormation.

moto's CloudFormation does not model every resource type the template uses. Those types are
listed in MOTO_UNMODELLED with the reason, stripped from the stack in `deployable()`, and each
is pinned by a static assertion in test_template.py (docs/aws-deployment.md has the table).
"""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode_str
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
REGION = "us-east-1"
ARTIFACTS = "passage-artifacts"
STACK = "passage-test"
# Parameters without a default; a deployment names its own.
PARAMETERS = {"KeyAdminArn": "arn:aws:iam::123456789012:role/passage-break-glass"}

# Resource types of the transformed template that moto's CloudFormation (5.2.5) does not create
# (it skips them with a warning). Each is removed before the deploy and checked statically.
MOTO_UNMODELLED = {
    "AWS::ApiGatewayV2::Api": "HTTP API (routes, IAM authorizer): test_http_routes, test_operator_api_*",
    "AWS::ApiGatewayV2::Stage": "HTTP API stage (access logs, throttling): test_http_api_stage_*",
    "AWS::CloudWatch::Alarm": "alarms: test_alarms, test_alarm_*",
    "AWS::S3::BucketPolicy": "TLS-only and log-delivery bucket policies: test_bucket_policy_*",
    "AWS::SNS::Subscription": "optional alarm e-mail: test_alarms",
    "AWS::SNS::TopicPolicy": "who may publish alarms: test_alarm_topic_policy_*",
    "AWS::Scheduler::Schedule": "sweep and reconcile schedules: test_periodic_sweep, test_hr_reconcile_*",
    "AWS::Scheduler::ScheduleGroup": "schedule groups: test_scheduler_role_*",
    "AWS::SecretsManager::Secret": "secrets (placeholder, generated keys, CMK): test_secrets_*",
}


# ------------------------------------------------------------------------------------------------
# the transform
# ------------------------------------------------------------------------------------------------


def source() -> dict:
    tpl, matches = decode_str(TEMPLATE.read_text())
    assert not matches, f"template does not parse: {matches}"
    # decode_str returns its own node types; the transform wants plain dicts and strings.
    return json.loads(json.dumps(tpl))


def packaged(tpl: dict) -> dict:
    """What `sam package` uploads: every function's CodeUri points at an S3 object."""
    tpl = copy.deepcopy(tpl)
    for name, res in tpl["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://{ARTIFACTS}/{name}.zip"
    return tpl


def transform(tpl: dict) -> dict:
    """The AWS::Serverless-2016-10-31 transform, as CloudFormation runs it."""
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name=REGION))
    # No function uses a SAM policy template or a managed policy by name, so the transform
    # never needs IAM's list of managed policies.
    return translator.translate(
        copy.deepcopy(tpl), parameter_values=dict(PARAMETERS), get_managed_policy_map=lambda: {}
    )


def transform_errors(tpl: dict) -> list[str]:
    try:
        transform(tpl)
    except InvalidDocumentException as e:
        return [c.message for c in e.causes]
    return []


@lru_cache(maxsize=1)
def transformed() -> dict:
    return transform(packaged(source()))


def test_template_passes_the_sam_transform():
    assert transform_errors(packaged(source())) == []
    out = transformed()
    assert "Transform" not in out
    types = {r["Type"] for r in out["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::Serverless::")}


def test_transform_fails_without_the_iam_authorizer():
    """The defect that kept the stack from deploying: the operator route names AWS_IAM, and an
    HTTP API defines that authorizer only with EnableIamAuthorizer."""
    tpl = packaged(source())
    auth = tpl["Resources"]["HttpApi"]["Properties"]["Auth"]
    assert auth["EnableIamAuthorizer"] is True
    del auth["EnableIamAuthorizer"]
    if not auth:
        del tpl["Resources"]["HttpApi"]["Properties"]["Auth"]
    errors = transform_errors(tpl)
    assert len(errors) == 1, errors
    # The transform reports the first IAM route it meets: the operator API's or /metrics'.
    assert "OperatorApi" in errors[0] or "Metrics" in errors[0]
    assert "Unable to set Authorizer [AWS_IAM]" in errors[0]
    assert "does not define any Authorizers" in errors[0]


def test_only_the_operator_routes_and_metrics_require_sigv4():
    apis = [r for r in transformed()["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert len(apis) == 1
    body = apis[0]["Properties"]["Body"]
    schemes = body["components"]["securitySchemes"]
    assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    secured = {}
    for path, operations in body["paths"].items():
        for method, op in operations.items():
            secured[(method, path)] = op.get("security")
    assert secured.pop(("x-amazon-apigateway-any-method", "/v1/operator/{proxy+}")) == [
        {"AWS_IAM": []}
    ]
    assert secured.pop(("get", "/metrics")) == [{"AWS_IAM": []}]
    assert secured and all(v is None for v in secured.values()), secured


def test_functions_take_code_from_the_packaged_artifacts():
    functions = {
        k: r for k, r in transformed()["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
    }
    assert len(functions) == 5
    for name, fn in functions.items():
        assert fn["Properties"]["Code"] == {"S3Bucket": ARTIFACTS, "S3Key": f"{name}.zip"}


def test_sqs_event_sources_keep_partial_batch_responses():
    """The transform's output, not the SAM shorthand: the mappings CloudFormation creates."""
    mappings = [
        r["Properties"]
        for r in transformed()["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == 3  # steps, finalizations, tenant jobs
    for m in mappings:
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# ------------------------------------------------------------------------------------------------
# the deploy, on moto's CloudFormation
# ------------------------------------------------------------------------------------------------


# What Ref returns for a removed type when that is not a plain name, so that the resources that
# refer to it (an IAM policy naming a secret's ARN, say) still get a value of the right shape.
REF_SHAPES = {
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:123456789012:secret:{name}-AbCdEf",
    "AWS::SNS::Subscription": "arn:aws:sns:{region}:123456789012:{name}:0b4c2f1e",
}


def _scrub(value, gone: dict[str, str]):
    """Replaces references to removed resources (logical id -> type) by placeholders."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in gone:
            name = value["Ref"]
            return REF_SHAPES.get(gone[name], "{name}").format(region=REGION, name=f"{STACK}-{name}")
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in gone:
            return f"arn:aws:placeholder:{REGION}:123456789012:{value['Fn::GetAtt'][0]}"
        if set(value) == {"Fn::Sub"}:
            sub = value["Fn::Sub"]
            text, variables = (sub, None) if isinstance(sub, str) else (sub[0], sub[1])
            for name in gone:
                text = re.sub(r"\$\{%s(\.[A-Za-z]+)?\}" % re.escape(name), f"{STACK}-{name}", text)
            return {"Fn::Sub": text if variables is None else [text, _scrub(variables, gone)]}
        return {k: _scrub(v, gone) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, gone) for v in value]
    return value


def deployable(tpl: dict) -> tuple[dict, dict[str, str]]:
    """The transformed template without the resource types moto does not model."""
    from moto.cloudformation.parsing import get_model_map

    modelled = set(get_model_map())
    types = {r["Type"] for r in tpl["Resources"].values()}
    unknown = types - modelled - set(MOTO_UNMODELLED)
    assert not unknown, f"moto cannot create {sorted(unknown)}: add them to MOTO_UNMODELLED with a static check"
    gone = {k: r["Type"] for k, r in tpl["Resources"].items() if r["Type"] in MOTO_UNMODELLED}
    out = copy.deepcopy(tpl)
    out["Resources"] = {k: _scrub(r, gone) for k, r in tpl["Resources"].items() if k not in gone}
    for res in out["Resources"].values():
        if "DependsOn" in res:
            deps = [d for d in as_list(res["DependsOn"]) if d not in gone]
            if deps:
                res["DependsOn"] = deps
            else:
                del res["DependsOn"]
    out["Outputs"] = _scrub(tpl.get("Outputs", {}), gone)
    return out, gone


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_moto_models_everything_it_is_not_excused_from():
    from moto.cloudformation.parsing import get_model_map

    modelled = set(get_model_map())
    for t in MOTO_UNMODELLED:
        # If moto learns a type, deploy it instead of excusing it.
        assert t not in modelled, f"moto now models {t}: remove it from MOTO_UNMODELLED"


@contextmanager
def deployed():
    """The transformed template, created in moto's CloudFormation, with boto3 clients on it."""
    from moto import mock_aws

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with mock_aws():
            template, gone = deployable(transformed())
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket=ARTIFACTS)
            for name, res in template["Resources"].items():
                if res["Type"] == "AWS::Lambda::Function":
                    # An empty zip: moto stores the code, it never runs it here.
                    s3.put_object(Bucket=ARTIFACTS, Key=f"{name}.zip", Body=b"PK\x05\x06" + bytes(18))
            cf = boto3.client("cloudformation", region_name=REGION)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cf.create_stack(
                    StackName=STACK,
                    TemplateBody=json.dumps(template),
                    Capabilities=["CAPABILITY_IAM"],
                    Parameters=[
                        {"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()
                    ],
                )
            skipped = [str(w.message) for w in caught if "not supported by moto" in str(w.message)]
            yield {
                "cf": cf,
                "template": template,
                "gone": gone,
                "skipped": skipped,
                "client": lambda service: boto3.client(service, region_name=REGION),
            }
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def stack():
    with deployed() as s:
        yield s


def physical(stack, logical: str) -> str:
    res = stack["cf"].describe_stack_resource(StackName=STACK, LogicalResourceId=logical)
    return res["StackResourceDetail"]["PhysicalResourceId"]


def test_stack_reaches_create_complete(stack):
    status = stack["cf"].describe_stacks(StackName=STACK)["Stacks"][0]
    assert status["StackStatus"] == "CREATE_COMPLETE", status.get("StackStatusReason")
    assert stack["skipped"] == [], "moto skipped resources silently"
    created = {
        r["LogicalResourceId"]
        for r in stack["cf"].list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    }
    expected = {
        k for k, r in stack["template"]["Resources"].items() if "Condition" not in r
    }
    assert expected <= created, sorted(expected - created)


# moto creates the resources below but applies only some of their properties (it ignores, for
# example, Lambda architectures, DynamoDB TTL and S3 Object Lock set through CloudFormation).
# These tests read back what it does apply; test_template.py pins the rest statically and
# docs/aws-deployment.md lists the split.


def test_deployed_functions(stack):
    lam = stack["client"]("lambda")
    table = physical(stack, "StateTable")
    for logical in ("IntakeFunction", "CutoffFunction", "StepFunction", "FinalizerFunction", "EvidenceFunction"):
        cfg = lam.get_function_configuration(FunctionName=physical(stack, logical))
        assert cfg["Runtime"] == "provided.al2023", logical
        assert cfg["Handler"] == "bootstrap", logical
        assert cfg["Role"].endswith("/" + physical(stack, logical.replace("Function", "Role")))
        assert cfg["Environment"]["Variables"]["TABLE_NAME"] == table
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 3
    for m in mappings:
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_deployed_table(stack):
    ddb = stack["client"]("dynamodb")
    table = ddb.describe_table(TableName=physical(stack, "StateTable"))["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {
        "gsi_open",
        "gsi_tenant",
        "gsi_employee",
    }


def test_deployed_queues(stack):
    sqs = stack["client"]("sqs")
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=physical(stack, "DeadLetterQueue"), AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    for logical in ("StepQueue", "FinalizeQueue"):
        attrs = sqs.get_queue_attributes(QueueUrl=physical(stack, logical), AttributeNames=["All"])[
            "Attributes"
        ]
        assert attrs["VisibilityTimeout"] == "360", logical
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn
        assert int(redrive["maxReceiveCount"]) == 100


def key_policy(stack, logical: str) -> dict:
    # moto keeps a key policy given to CloudFormation as the object it was, not as JSON text.
    policy = stack["client"]("kms").get_key_policy(KeyId=physical(stack, logical), PolicyName="default")
    return policy["Policy"] if isinstance(policy["Policy"], dict) else json.loads(policy["Policy"])


def test_deployed_signing_key_policy_names_the_finalizer_role(stack):
    # moto creates every KMS key from CloudFormation as a symmetric ENCRYPT_DECRYPT key whatever
    # KeySpec says; the spec and usage are pinned in test_signing_key_spec_and_usage.
    signers = [s for s in key_policy(stack, "SigningKey")["Statement"] if "kms:Sign" in as_list(s["Action"])]
    assert len(signers) == 1
    assert signers[0]["Principal"]["AWS"].endswith(":role/" + physical(stack, "FinalizerRole"))


def test_deployed_table_hygiene(stack):
    ddb = stack["client"]("dynamodb")
    table = ddb.describe_table(TableName=physical(stack, "StateTable"))["Table"]
    assert table["DeletionProtectionEnabled"] is True
    projections = {g["IndexName"]: g["Projection"] for g in table["GlobalSecondaryIndexes"]}
    assert projections == {
        "gsi_open": {"ProjectionType": "KEYS_ONLY"},
        "gsi_tenant": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc", "state"]},
        "gsi_employee": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc", "state"]},
    }


def test_deployed_reserved_concurrency(stack):
    lam = stack["client"]("lambda")
    expected = {
        "IntakeFunction": 20,
        "CutoffFunction": 10,
        "StepFunction": 10,
        "FinalizerFunction": 5,
        "EvidenceFunction": 5,
    }
    for logical, n in expected.items():
        got = lam.get_function_concurrency(FunctionName=physical(stack, logical))
        assert got["ReservedConcurrentExecutions"] == n, logical
    by_queue = {
        m["EventSourceArn"].rsplit(":", 1)[1]: m["ScalingConfig"]["MaximumConcurrency"]
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
    }
    name = lambda logical: physical(stack, logical).rsplit("/", 1)[1]
    assert by_queue == {name("StepQueue"): 10, name("FinalizeQueue"): 5, name("TenantJobsQueue"): 5}


def test_deployed_function_roles_carry_their_policies(stack):
    iam = stack["client"]("iam")
    for fn in ("Intake", "Cutoff", "Step", "Finalizer", "Evidence"):
        role = physical(stack, f"{fn}Role")
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [f"passage-{fn.lower()}"]


def test_deployed_data_key_rotates_and_names_the_function_roles(stack):
    kms = stack["client"]("kms")
    assert kms.get_key_rotation_status(KeyId=physical(stack, "DataKey"))["KeyRotationEnabled"] is True
    statements = {s["Sid"]: s for s in key_policy(stack, "DataKey")["Statement"]}
    roles = sorted(statements["FunctionsReadSecrets"]["Principal"]["AWS"])
    assert roles == sorted(
        f"arn:aws:iam::123456789012:role/{physical(stack, f'{fn}Role')}"
        for fn in ("Intake", "Cutoff", "Step", "Finalizer", "Evidence")
    )
    deny = statements["OnlyBreakGlassChangesPolicy"]
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == PARAMETERS["KeyAdminArn"]


def cloudtrail_event(name: str, key_id: str) -> dict:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.kms",
        "account": "123456789012",
        "time": "2026-12-01T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventSource": "kms.amazonaws.com",
            "eventName": name,
            "userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/admin/alice"},
            "requestParameters": {"keyId": key_id},
        },
    }


def test_deployed_rule_matches_key_administration(stack):
    events = stack["client"]("events")
    rule = events.describe_rule(Name=physical(stack, "KeyAdministrationRule"))
    pattern = rule["EventPattern"]
    kms = stack["client"]("kms")
    signing = physical(stack, "SigningKey")
    signing_arn = f"arn:aws:kms:{REGION}:123456789012:key/{signing}"
    other = kms.create_key()["KeyMetadata"]["KeyId"]

    # moto does not serve TestEventPattern; its rule matcher, which routes moto's own events, is
    # the same code path a rule goes through there.
    from moto.events.models import EventPattern

    def matches(name: str, key: str) -> bool:
        return EventPattern.load(pattern).matches_event(cloudtrail_event(name, key))

    assert matches("PutKeyPolicy", signing)
    assert matches("CreateGrant", signing_arn)
    assert matches("PutKeyPolicy", physical(stack, "DataKey"))
    assert not matches("Sign", signing)
    assert not matches("PutKeyPolicy", other)
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == physical(stack, "AlarmTopic")


def test_deployed_dashboard_is_valid(stack):
    cw = stack["client"]("cloudwatch")
    body = json.loads(cw.get_dashboard(DashboardName=physical(stack, "Dashboard"))["DashboardBody"])
    functions = {physical(stack, f"{fn}Function") for fn in ("Intake", "Cutoff", "Step", "Finalizer", "Evidence")}
    graphed = {
        m[3]
        for w in body["widgets"]
        for m in w["properties"].get("metrics", [])
        if m[:3] == ["AWS/Lambda", "Errors", "FunctionName"]
    }
    assert graphed == functions
