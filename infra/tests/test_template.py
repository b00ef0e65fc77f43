"""Checks on infra/template.yaml and events/*.json that cfn-lint cannot make.

cfn-lint validates CloudFormation resource schemas but does not run the SAM transform, so a typo
inside a SAM event (say `ReportBatchItemFailure`) or an IAM action that does not exist passes it
silently, and it has no opinion on least privilege or on secrets in environment variables. These
tests pin the settings Passage depends on; test_transform.py runs the transform and deploys its
output to moto. Run from the repository root: `python3 -m pytest infra/tests`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import cfnlint
import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
EVENTS = ROOT / "events"

FUNCTIONS = {
    "IntakeFunction": "intake",
    "CutoffFunction": "cutoff",
    "StepFunction": "step",
    "FinalizerFunction": "finalizer",
    "EvidenceFunction": "evidence",
}
ROLES = {
    "IntakeFunction": "IntakeRole",
    "CutoffFunction": "CutoffRole",
    "StepFunction": "StepRole",
    "FinalizerFunction": "FinalizerRole",
    "EvidenceFunction": "EvidenceRole",
}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def template() -> dict:
    tpl, matches = decode_str(TEMPLATE.read_text())
    assert not matches, f"template does not parse: {matches}"
    return tpl


def resources() -> dict:
    return template()["Resources"]


def props(name: str) -> dict:
    return resources()[name]["Properties"]


def of_type(type_name: str) -> dict:
    return {k: v for k, v in resources().items() if v["Type"] == type_name}


def getatt(name: str, attr: str = "Arn") -> dict:
    return {"Fn::GetAtt": [name, attr]}


def ref(name: str) -> dict:
    return {"Ref": name}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def globals_function() -> dict:
    return template().get("Globals", {}).get("Function", {})


def function_setting(fn: str, key: str):
    """A function property, falling back to Globals.Function as SAM does."""
    return props(fn).get(key, globals_function().get(key))


def function_env(fn: str) -> dict:
    merged = dict(globals_function().get("Environment", {}).get("Variables", {}))
    merged.update(props(fn).get("Environment", {}).get("Variables", {}))
    return merged


def function_events(fn: str, kind: str) -> dict:
    return {k: v for k, v in props(fn).get("Events", {}).items() if v["Type"] == kind}


def strings_in(value):
    """Every literal string inside a value, including inside intrinsic functions."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def role_policies(role: str) -> dict:
    """The AWS::IAM::Policy resources attached to a role (its permissions live there)."""
    return {
        name: p["Properties"]
        for name, p in of_type("AWS::IAM::Policy").items()
        if ref(role) in p["Properties"].get("Roles", [])
    }


def role_statements(role: str) -> list[dict]:
    out = []
    for policy in props(role).get("Policies", []):
        out.extend(as_list(policy["PolicyDocument"]["Statement"]))
    for policy in role_policies(role).values():
        out.extend(as_list(policy["PolicyDocument"]["Statement"]))
    return out


def allowed(role: str, action: str) -> list[dict]:
    """The Allow statements of a role that grant `action`."""
    return [
        s
        for s in role_statements(role)
        if s["Effect"] == "Allow" and action in as_list(s["Action"])
    ]


def resources_of(statements: list[dict]) -> list:
    out = []
    for s in statements:
        out.extend(as_list(s["Resource"]))
    return out


def all_policy_statements():
    """(where, statement, kind) for every policy document in the template."""
    for name, res in resources().items():
        p = res.get("Properties", {})
        t = res["Type"]
        if t == "AWS::IAM::Role":
            for s in as_list(p["AssumeRolePolicyDocument"]["Statement"]):
                yield f"{name}.AssumeRolePolicyDocument", s, "trust"
            for policy in p.get("Policies", []):
                for s in as_list(policy["PolicyDocument"]["Statement"]):
                    yield f"{name}.{policy['PolicyName']}", s, "identity"
        elif t in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            for s in as_list(p["PolicyDocument"]["Statement"]):
                yield name, s, "identity"
        elif t == "AWS::Serverless::Function":
            for policy in as_list(p.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    for s in as_list(policy["Statement"]):
                        yield f"{name}.Policies", s, "identity"
        elif t == "AWS::KMS::Key":
            for s in as_list(p["KeyPolicy"]["Statement"]):
                yield f"{name}.KeyPolicy", s, "key"
        elif t in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            for s in as_list(p["PolicyDocument"]["Statement"]):
                yield name, s, "resource"


@lru_cache(maxsize=1)
def iam_catalogue() -> dict:
    """cfn-lint's copy of the IAM service authorization reference: service -> action -> info."""
    path = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
    return json.loads(path.read_text())


def iam_action(action: str) -> dict | None:
    service, _, name = action.partition(":")
    return iam_catalogue().get(service.lower(), {}).get("Actions", {}).get(name.lower())


# ------------------------------------------------------------------------------------------------
# cfn-lint itself
# ------------------------------------------------------------------------------------------------


def test_cfn_lint_reports_nothing():
    from cfnlint.api import ManualArgs, lint

    matches = lint(
        TEMPLATE.read_text(),
        config=ManualArgs(include_checks=["I"], regions=["us-east-1"]),
    )
    assert [str(m) for m in matches] == []


# ------------------------------------------------------------------------------------------------
# functions: runtime, build, layout
# ------------------------------------------------------------------------------------------------


def test_globals_arm64_al2023_bootstrap():
    g = globals_function()
    assert g["Architectures"] == ["arm64"]
    assert g["Runtime"] == "provided.al2023"
    assert g["Handler"] == "bootstrap"
    assert g["MemorySize"] == 128
    assert g["Timeout"] == 30
    assert g["Tracing"] == "Active"
    assert g["LoggingConfig"]["LogFormat"] == "JSON"


def test_exactly_the_five_functions():
    assert set(of_type("AWS::Serverless::Function")) == set(FUNCTIONS)
    assert not of_type("AWS::Lambda::Function")


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_builds_with_cargo_lambda_on_arm64(fn):
    name = FUNCTIONS[fn]
    res = resources()[fn]
    assert res["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert res["Metadata"]["BuildProperties"]["Binary"] == f"passage-{name}"
    assert res["Properties"]["CodeUri"] == f"../functions/{name}"
    assert function_setting(fn, "Architectures") == ["arm64"]
    assert function_setting(fn, "Runtime") == "provided.al2023"
    assert function_setting(fn, "Handler") == "bootstrap"
    assert function_setting(fn, "Tracing") == "Active"


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_package_name_matches_binary(fn):
    manifest = ROOT / "functions" / FUNCTIONS[fn] / "Cargo.toml"
    if not manifest.exists():
        pytest.skip(f"{manifest.relative_to(ROOT)} not written yet")
    package = tomllib.loads(manifest.read_text())["package"]["name"]
    assert package == f"passage-{FUNCTIONS[fn]}"


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_has_own_role_and_log_group(fn):
    p = props(fn)
    # An explicit role: SAM-generated roles attach AWS managed policies with `*` resources.
    assert p["Role"] == getatt(ROLES[fn])
    assert "Policies" not in p
    log_group = p["LoggingConfig"]["LogGroup"]
    assert log_group == ref(fn.replace("Function", "LogGroup"))
    logs = allowed(ROLES[fn], "logs:PutLogEvents")
    assert resources_of(logs) == [getatt(log_group["Ref"])]


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_permissions_are_its_own_policy_and_come_first(fn):
    role = ROLES[fn]
    assert "Policies" not in props(role), "permissions belong in the role's AWS::IAM::Policy"
    policies = role_policies(role)
    assert list(policies) == [role.replace("Role", "Policy")], policies
    assert policies[role.replace("Role", "Policy")]["Roles"] == [ref(role)]
    assert policies[role.replace("Role", "Policy")]["PolicyName"] == f"passage-{FUNCTIONS[fn]}"
    # An SQS event source mapping is refused if the role cannot yet read the queue, and a
    # function should never start without its permissions.
    assert resources()[fn]["DependsOn"] == role.replace("Role", "Policy")


RESERVED = {
    "IntakeFunction": "IntakeReservedConcurrency",
    "CutoffFunction": "CutoffReservedConcurrency",
    "StepFunction": "StepMaxConcurrency",
    "FinalizerFunction": "FinalizerMaxConcurrency",
    "EvidenceFunction": "EvidenceReservedConcurrency",
}


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_reserves_concurrency(fn):
    assert props(fn)["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesConcurrency", ref(RESERVED[fn]), ref("AWS::NoValue")]
    }
    param = template()["Parameters"][RESERVED[fn]]
    assert param["Type"] == "Number"
    assert 1 <= param["MinValue"] <= param["Default"] <= param["MaxValue"]


def test_reserved_concurrency_defaults_are_sane():
    params = template()["Parameters"]
    assert params["ReserveConcurrency"]["Default"] == "true"
    assert template()["Conditions"]["ReservesConcurrency"] == {
        "Fn::Equals": [ref("ReserveConcurrency"), "true"]
    }
    # Lambda keeps 100 of an account's (default 1,000) concurrency unreserved; stay far below.
    total = sum(params[p]["Default"] for p in RESERVED.values())
    assert total <= 100, total
    # Queue mappings never start more invocations than the function may run: a throttled batch
    # counts as a delivery and ends in the dead-letter queue.
    for fn in ("StepFunction", "FinalizerFunction"):
        (ev,) = function_events(fn, "SQS").values()
        assert ev["Properties"]["ScalingConfig"]["MaximumConcurrency"] == ref(RESERVED[fn]), fn
        assert params[RESERVED[fn]]["MinValue"] >= 2  # the mappings' own minimum


def test_timeouts_and_memory():
    assert props("StepFunction")["Timeout"] == 60
    assert props("FinalizerFunction")["Timeout"] == 60
    assert props("FinalizerFunction")["MemorySize"] == 256


# ------------------------------------------------------------------------------------------------
# queues and event sources
# ------------------------------------------------------------------------------------------------


def test_every_sqs_event_reports_batch_item_failures():
    seen = {}
    for fn in FUNCTIONS:
        for name, ev in function_events(fn, "SQS").items():
            assert ev["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], (
                fn,
                name,
            )
            seen[fn] = ev["Properties"]
    assert set(seen) == {"StepFunction", "FinalizerFunction", "CutoffFunction"}
    assert seen["CutoffFunction"]["Queue"] == getatt("TenantJobsQueue")
    # The tenant jobs never take all of the cutoff function: per-run cutoffs keep the rest.
    assert seen["CutoffFunction"]["ScalingConfig"]["MaximumConcurrency"] < template()[
        "Parameters"
    ]["CutoffReservedConcurrency"]["MinValue"]
    assert seen["StepFunction"]["Queue"] == getatt("StepQueue")
    assert seen["StepFunction"]["BatchSize"] == 10
    assert seen["StepFunction"]["ScalingConfig"]["MaximumConcurrency"] == ref("StepMaxConcurrency")
    assert seen["FinalizerFunction"]["Queue"] == getatt("FinalizeQueue")


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout():
    for fn in FUNCTIONS:
        for ev in function_events(fn, "SQS").values():
            queue = ev["Properties"]["Queue"]["Fn::GetAtt"][0]
            visibility = props(queue)["VisibilityTimeout"]
            timeout = function_setting(fn, "Timeout")
            assert visibility >= 6 * timeout, (queue, visibility, fn, timeout)
    assert props("StepQueue")["VisibilityTimeout"] >= 6 * props("StepFunction")["Timeout"]


@pytest.mark.parametrize("queue", ["StepQueue", "FinalizeQueue"])
def test_work_queues_redrive_to_the_dlq(queue):
    redrive = props(queue)["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == getatt("DeadLetterQueue")
    assert redrive["maxReceiveCount"] == ref("MaxReceiveCount")
    param = template()["Parameters"]["MaxReceiveCount"]
    # High: a step merely waiting is received again without an attempt, and the engine blocks
    # the run on its own limit (95 receives, shared/lambda/src/host.rs) before SQS moves it.
    assert param["Default"] == 100
    assert param["MinValue"] >= 50
    host = ROOT / "shared" / "lambda" / "src" / "host.rs"
    if host.exists():
        (engine_limit,) = re.findall(r"max_receives: (\d+)", host.read_text())
        assert int(engine_limit) < param["MinValue"] * 2 and int(engine_limit) < param["Default"]


def test_tenant_jobs_queue_redrives_and_expires_stale_jobs():
    q = props("TenantJobsQueue")
    assert q["RedrivePolicy"]["deadLetterTargetArn"] == getatt("DeadLetterQueue")
    assert q["MessageRetentionPeriod"] <= 3600
    assert q["VisibilityTimeout"] >= 6 * function_setting("CutoffFunction", "Timeout")


def test_queues_are_encrypted_and_dlq_keeps_14_days():
    for name, q in of_type("AWS::SQS::Queue").items():
        assert q["Properties"]["SqsManagedSseEnabled"] is True, name
    assert props("DeadLetterQueue")["MessageRetentionPeriod"] == 1209600
    assert "RedrivePolicy" not in props("DeadLetterQueue")


# ------------------------------------------------------------------------------------------------
# signing key
# ------------------------------------------------------------------------------------------------


def test_signing_key_spec_and_usage():
    key = props("SigningKey")
    assert key["KeySpec"] == "ECC_NIST_P256"
    assert key["KeyUsage"] == "SIGN_VERIFY"
    assert resources()["SigningKey"]["DeletionPolicy"] == "Retain"
    assert props("SigningKeyAlias")["TargetKeyId"] == ref("SigningKey")
    assert function_env("FinalizerFunction")["KMS_KEY_ID"] == getatt("SigningKey")


def test_every_function_can_read_the_public_key():
    # KmsSigner::connect calls GetPublicKey at every cold start.
    for fn, role in ROLES.items():
        if role == "FinalizerRole":
            continue  # granted in the key policy (an IAM statement would form a cycle)
        assert resources_of(allowed(role, "kms:GetPublicKey")) == [getatt("SigningKey")], role
        assert not allowed(role, "kms:Sign"), role


def test_only_the_finalizer_can_sign():
    statements = as_list(props("SigningKey")["KeyPolicy"]["Statement"])
    signers = [s for s in statements if "kms:Sign" in as_list(s["Action"])]
    assert len(signers) == 1
    assert signers[0]["Principal"] == {"AWS": getatt("FinalizerRole")}
    assert as_list(signers[0]["Action"]) == ["kms:Sign"]
    readers = [s for s in statements if "kms:GetPublicKey" in as_list(s["Action"])]
    assert any(s["Principal"] == {"AWS": getatt("FinalizerRole")} for s in readers)
    admin = [s for s in statements if s["Sid"] == "AccountAdministersKey"]
    assert len(admin) == 1
    assert "kms:PutKeyPolicy" in admin[0]["Action"]  # never lock the account out of the key
    for s in statements:
        if s["Principal"] != {"AWS": getatt("FinalizerRole")}:
            assert not {"kms:Sign", "kms:Decrypt", "kms:Encrypt"} & set(as_list(s["Action"]))


def key_statements(key: str) -> list[dict]:
    return as_list(props(key)["KeyPolicy"]["Statement"])


def test_key_admin_is_a_required_parameter():
    param = template()["Parameters"]["KeyAdminArn"]
    assert "Default" not in param, "each deployment names its own break-glass administrator"
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.match("arn:aws:iam::123456789012:role/passage-break-glass")
    assert pattern.match("arn:aws:iam::123456789012:user/alice")
    assert not pattern.match("arn:aws:iam::123456789012:root")
    assert not pattern.match("*")


def test_only_break_glass_changes_the_signing_key_policy_or_grants():
    """Administering the key must not let anyone give themselves Sign: the key policy and grants
    are the only ways, and both are denied to everyone but KeyAdminArn."""
    denies = [s for s in key_statements("SigningKey") if s["Effect"] == "Deny"]
    assert len(denies) == 1
    deny = denies[0]
    assert deny["Principal"] == {"AWS": "*"}
    assert sorted(as_list(deny["Action"])) == ["kms:CreateGrant", "kms:PutKeyPolicy"]
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": ref("KeyAdminArn")}}
    # The account statement grants no use of the key, so IAM policies cannot grant Sign either.
    admin = [s for s in key_statements("SigningKey") if s.get("Sid") == "AccountAdministersKey"]
    assert not {"kms:Sign", "kms:Decrypt", "kms:Encrypt"} & set(as_list(admin[0]["Action"]))


# ------------------------------------------------------------------------------------------------
# data key (table, secrets, log groups)
# ------------------------------------------------------------------------------------------------

ROOT_PRINCIPAL = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
FUNCTION_ROLES = [getatt(r) for r in ROLES.values()]


def via(service: str) -> dict:
    return {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"}


def test_data_key_is_a_rotating_customer_managed_key():
    key = props("DataKey")
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert key["EnableKeyRotation"] is True
    assert key["RotationPeriodInDays"] <= 365
    assert key["PendingWindowInDays"] == 30
    assert resources()["DataKey"]["DeletionPolicy"] == "Retain"
    assert resources()["DataKey"]["UpdateReplacePolicy"] == "Retain"
    assert props("DataKeyAlias")["TargetKeyId"] == ref("DataKey")


def test_table_secrets_and_log_groups_use_the_data_key():
    sse = props("StateTable")["SSESpecification"]
    assert sse == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": getatt("DataKey")}
    secrets = of_type("AWS::SecretsManager::Secret")
    assert set(secrets) == {"SettingsSecret", "LinkKeySecret", "ConfirmKeySecret"}
    for name, secret in secrets.items():
        assert secret["Properties"]["KmsKeyId"] == getatt("DataKey"), name
    groups = of_type("AWS::Logs::LogGroup")
    assert len(groups) == 6
    for name, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == getatt("DataKey"), name


def test_data_key_is_used_only_through_dynamodb_and_secrets_manager():
    allows = [s for s in key_statements("DataKey") if s["Effect"] == "Allow"]
    crypto = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"}
    for s in allows:
        if not crypto & set(as_list(s["Action"])):
            continue
        if s["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}:
            # CloudWatch Logs, for this stack's log groups only.
            arn = s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
            assert arn.endswith(":log-group:${AWS::StackName}-*"), arn
            continue
        service = s["Condition"]["StringEquals"]["kms:ViaService"]
        assert service in (via("dynamodb"), via("secretsmanager")), s["Sid"]


def test_only_the_functions_and_break_glass_decrypt_secrets():
    decrypt_secrets = [
        s
        for s in key_statements("DataKey")
        if s["Effect"] == "Allow"
        and "kms:Decrypt" in as_list(s["Action"])
        and s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService") == via("secretsmanager")
    ]
    by_sid = {s["Sid"]: s for s in decrypt_secrets}
    assert set(by_sid) == {"FunctionsReadSecrets", "BreakGlassReadsSecrets", "AccountCreatesSecretsWithKey"}
    # Creating a secret under the key makes Secrets Manager check the caller may decrypt with
    # it, on a throwaway data key of this encryption context, never a secret value.
    check = by_sid.pop("AccountCreatesSecretsWithKey")
    assert check["Condition"]["StringEquals"]["kms:EncryptionContext:SecretVersionId"] == "RequestToValidateKeyAccess"
    assert by_sid["FunctionsReadSecrets"]["Principal"] == {"AWS": FUNCTION_ROLES}
    assert as_list(by_sid["FunctionsReadSecrets"]["Action"]) == ["kms:Decrypt"]
    glass = by_sid["BreakGlassReadsSecrets"]
    assert glass["Principal"] == ROOT_PRINCIPAL
    assert glass["Condition"]["ArnEquals"] == {"aws:PrincipalArn": ref("KeyAdminArn")}
    # The account may write secrets (deploys, put-secret-value) but not read them back.
    writes = [s for s in key_statements("DataKey") if s.get("Sid") == "AccountWritesSecrets"]
    assert sorted(as_list(writes[0]["Action"])) == ["kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]


def test_functions_use_the_table_through_dynamodb():
    (s,) = [s for s in key_statements("DataKey") if s.get("Sid") == "FunctionsUseTheTable"]
    assert s["Principal"] == {"AWS": FUNCTION_ROLES}
    assert s["Condition"] == {"StringEquals": {"kms:ViaService": via("dynamodb")}}
    grants = [s for s in key_statements("DataKey") if s["Effect"] == "Allow" and "kms:CreateGrant" in as_list(s["Action"])]
    assert len(grants) == 1
    assert grants[0]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grants[0]["Condition"]["StringEquals"]["kms:ViaService"] == via("dynamodb")


def test_only_break_glass_changes_the_data_key_policy_or_grants_for_people():
    denies = {s["Sid"]: s for s in key_statements("DataKey") if s["Effect"] == "Deny"}
    assert set(denies) == {"OnlyBreakGlassChangesPolicy", "OnlyServicesOrBreakGlassCreateGrants"}
    for s in denies.values():
        assert s["Principal"] == {"AWS": "*"}
        assert s["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": ref("KeyAdminArn")}
    assert as_list(denies["OnlyBreakGlassChangesPolicy"]["Action"]) == ["kms:PutKeyPolicy"]
    grants = denies["OnlyServicesOrBreakGlassCreateGrants"]
    assert as_list(grants["Action"]) == ["kms:CreateGrant"]
    # IfExists: a grant request that does not say it is for an AWS resource is denied too.
    assert grants["Condition"]["BoolIfExists"] == {"kms:GrantIsForAWSResource": "false"}


def test_key_administration_raises_the_alarm_topic():
    rule = props("KeyAdministrationRule")
    assert rule["State"] == "ENABLED"
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.kms"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    detail = pattern["detail"]
    assert detail["eventSource"] == ["kms.amazonaws.com"]
    assert {"PutKeyPolicy", "CreateGrant"} <= set(detail["eventName"])
    keys = detail["requestParameters"]["keyId"]
    for key in ("SigningKey", "DataKey"):
        assert ref(key) in keys and getatt(key) in keys, key
    (target,) = rule["Targets"]
    assert target["Arn"] == ref("AlarmTopic")


def test_alarm_topic_policy_lets_only_alarms_and_the_rule_publish():
    policy = props("AlarmTopicPolicy")
    assert policy["Topics"] == [ref("AlarmTopic")]
    statements = {s["Sid"]: s for s in as_list(policy["PolicyDocument"]["Statement"])}
    assert set(statements) == {"CloudWatchAlarmsPublish", "KeyAdministrationRulePublishes"}
    for s in statements.values():
        assert s["Effect"] == "Allow"
        assert as_list(s["Action"]) == ["sns:Publish"]
        assert s["Resource"] == ref("AlarmTopic")
    cw = statements["CloudWatchAlarmsPublish"]
    assert cw["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cw["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    ev = statements["KeyAdministrationRulePublishes"]
    assert ev["Principal"] == {"Service": "events.amazonaws.com"}
    assert ev["Condition"] == {"ArnEquals": {"aws:SourceArn": getatt("KeyAdministrationRule")}}


# ------------------------------------------------------------------------------------------------
# evidence bucket
# ------------------------------------------------------------------------------------------------


def test_bucket_object_lock_compliance():
    b = props("EvidenceBucket")
    assert b["ObjectLockEnabled"] is True
    assert b["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    retention = b["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert retention["Days"] == ref("ObjectLockDays")
    assert template()["Parameters"]["ObjectLockDays"]["Default"] == 2555
    assert b["VersioningConfiguration"]["Status"] == "Enabled"
    assert resources()["EvidenceBucket"]["DeletionPolicy"] == "Retain"
    assert resources()["EvidenceBucket"]["UpdateReplacePolicy"] == "Retain"


def test_bucket_is_private_and_encrypted():
    b = props("EvidenceBucket")
    pab = b["PublicAccessBlockConfiguration"]
    for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert pab[k] is True, k
    sse = b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert b["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


@pytest.mark.parametrize("bucket", ["EvidenceBucket", "AccessLogBucket"])
def test_bucket_policy_denies_plain_http(bucket):
    policy = props(f"{bucket}Policy")
    assert policy["Bucket"] == ref(bucket)
    deny = [
        s
        for s in as_list(policy["PolicyDocument"]["Statement"])
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(deny) == 1
    assert deny[0]["Principal"] == "*"
    assert as_list(deny[0]["Action"]) == ["s3:*"]
    assert getatt(bucket) in deny[0]["Resource"]
    assert {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in deny[0]["Resource"]


def test_evidence_bucket_logs_access_to_its_own_log_bucket():
    logging = props("EvidenceBucket")["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": ref("AccessLogBucket"), "LogFilePrefix": "evidence/"}


def test_access_log_bucket_is_private_encrypted_and_expires_logs():
    b = props("AccessLogBucket")
    pab = b["PublicAccessBlockConfiguration"]
    for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        assert pab[k] is True, k
    # S3 delivers server access logs only into SSE-S3 buckets.
    sse = b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert b["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert b["VersioningConfiguration"]["Status"] == "Enabled"
    rules = {r["Id"]: r for r in b["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireAccessLogs"]["ExpirationInDays"] == ref("AccessLogRetentionDays")
    assert "LoggingConfiguration" not in b, "a log bucket logging into itself never stops"
    assert resources()["AccessLogBucket"]["DeletionPolicy"] == "Retain"


def test_bucket_policy_lets_s3_deliver_only_the_evidence_buckets_logs():
    statements = as_list(props("AccessLogBucketPolicy")["PolicyDocument"]["Statement"])
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    s = allows[0]
    assert s["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert as_list(s["Action"]) == ["s3:PutObject"]
    assert s["Resource"] == {"Fn::Sub": "${AccessLogBucket.Arn}/evidence/*"}
    assert s["Condition"]["ArnLike"] == {"aws:SourceArn": getatt("EvidenceBucket")}
    assert s["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}


# ------------------------------------------------------------------------------------------------
# table
# ------------------------------------------------------------------------------------------------


def test_table_pitr_ttl_sse_and_indexes():
    t = props("StateTable")
    assert resources()["StateTable"]["DeletionPolicy"] == "Retain"
    assert resources()["StateTable"]["UpdateReplacePolicy"] == "Retain"
    assert t["DeletionProtectionEnabled"] is True
    assert t["BillingMode"] == "PAY_PER_REQUEST"
    assert t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert t["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert t["SSESpecification"]["SSEEnabled"] is True
    assert t["SSESpecification"]["SSEType"] == "KMS"
    types = {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}
    assert [(k["AttributeName"], k["KeyType"]) for k in t["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    expected = {
        "gsi_open": (("open_key", "S"), ("cutoff_ms", "N")),
        "gsi_tenant": (("tenant", "S"), ("created_ms", "N")),
        "gsi_employee": (("tenant_employee", "S"), ("created_ms", "N")),
    }
    got = {}
    for gsi in t["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        got[gsi["IndexName"]] = (
            (keys["HASH"], types[keys["HASH"]]),
            (keys["RANGE"], types[keys["RANGE"]]),
        )
    assert got == expected


# What the store reads from each index's items besides the keys (pk, sk and the index's own
# keys, which every index item carries).
INDEX_READS = {
    "gsi_open": [],  # a tenant's sweep: run id from pk, cutoff_ms (the range key)
    "gsi_tenant": ["doc", "state"],  # list_runs: the run from doc, filtered on state
    "gsi_employee": ["doc", "state"],
}


def test_indexes_project_only_what_the_store_reads():
    projections = {
        g["IndexName"]: g["Projection"] for g in props("StateTable")["GlobalSecondaryIndexes"]
    }
    for index, reads in INDEX_READS.items():
        want = (
            {"ProjectionType": "INCLUDE", "NonKeyAttributes": reads}
            if reads
            else {"ProjectionType": "KEYS_ONLY"}
        )
        assert projections[index] == want, index


def test_the_store_reads_nothing_else_from_the_indexes():
    """Reads the store's index queries so a new attribute read fails here, not in production
    (DynamoDB returns only projected attributes, silently)."""
    store = ROOT / "shared" / "aws" / "src" / "store.rs"
    if not store.exists():
        pytest.skip("shared/aws/src/store.rs not found")
    code = store.read_text()

    def body(fn: str) -> str:
        start = code.index(f"fn {fn}(")
        nxt = re.search(r"\n    (pub )?(async )?fn ", code[start + 1 :])
        return code[start : start + 1 + nxt.start()] if nxt else code[start:]

    attr = re.compile(r'(?:number::<\w+>|number|string)\(&?item, "(\w+)"\)')
    open_runs = ROOT / "shared" / "aws" / "src" / "open_runs.rs"
    page = open_runs.read_text()
    page = page[page.index("fn open_page(") : page.index("fn run_tenant(")]
    assert "GSI_OPEN" in page
    assert set(attr.findall(page)) <= set(INDEX_READS["gsi_open"]) | {"pk", "sk", "cutoff_ms"}
    assert "run_id_of(item)" in page  # the id comes from pk
    query = body("query_runs")
    names = set(re.findall(r'expression_attribute_names\("#\w+", "?(\w+)"?\)', query))
    assert names - {"key_attr"} <= {"state"}, names
    listing = body("list_runs")
    assert "from_doc" in listing
    assert re.search(r'fn from_doc<[^{]*\{\s*let doc = string\(item, "doc"\)', code)
    assert 'const IDEMPOTENCY_TTL_SECONDS' in code and '"expires_at".into()' in code


# ------------------------------------------------------------------------------------------------
# secrets
# ------------------------------------------------------------------------------------------------

SECRET_LOOKING = [
    re.compile(r"whsec_", re.I),
    re.compile(r"\bSSWS\b"),
    re.compile(r"\bBearer\s", re.I),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN"),
    re.compile(r"^[A-Za-z0-9+/_=-]{32,}$"),  # a long opaque token
]


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_no_secret_in_environment(fn):
    env = function_env(fn)
    assert env, fn
    for name, value in env.items():
        if name == "TENANT_SECRET_PREFIX":
            # A name prefix, not a secret: the tenants' secrets are read by name on demand.
            assert value == {"Fn::Sub": "passage/${AWS::StackName}/tenants/"}, fn
            continue
        if "SECRET" in name.upper():
            assert name.endswith("_ARN"), f"{fn}: {name} must carry an ARN, not a secret"
        for s in strings_in(value):
            for pattern in SECRET_LOOKING:
                assert not pattern.search(s), f"{fn}: {name} looks like a secret: {s!r}"


TENANT_SECRETS = {
    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:passage/${AWS::StackName}/tenants/*"
}


def test_secrets_live_in_secrets_manager():
    # The settings secret holds passage.toml text ([[operators]], [notify]); the placeholder is
    # a valid, empty one so the functions start until the operator replaces it.
    settings = props("SettingsSecret")
    assert tomllib.loads(settings["SecretString"]) == {}
    link = props("LinkKeySecret")
    assert "SecretString" not in link
    assert link["GenerateSecretString"]["PasswordLength"] >= 32
    # Each tenant has its own secret under the stack's prefix, read on demand by the functions
    # that act for tenants; the finalizer and the public evidence function read none of them.
    tenants_served = {"IntakeFunction", "CutoffFunction", "StepFunction"}
    for fn, role in ROLES.items():
        env = function_env(fn)
        grants = resources_of(allowed(role, "secretsmanager:GetSecretValue"))
        assert "TENANTS_SECRET_ARN" not in env, fn
        if fn in tenants_served:
            assert env["TENANT_SECRET_PREFIX"] == {"Fn::Sub": "passage/${AWS::StackName}/tenants/"}
            assert env["SETTINGS_SECRET_ARN"] == ref("SettingsSecret")
            assert TENANT_SECRETS in grants and ref("SettingsSecret") in grants, fn
        else:
            assert "TENANT_SECRET_PREFIX" not in env and "SETTINGS_SECRET_ARN" not in env, fn
            assert TENANT_SECRETS not in grants and ref("SettingsSecret") not in grants, fn
        if fn == "EvidenceFunction":
            # The auditor link key only: a compromise of the public endpoint exposes no
            # customer's credentials.
            assert env["LINK_KEY_SECRET_ARN"] == ref("LinkKeySecret")
            assert grants == [ref("LinkKeySecret")]
            assert "CONFIRM_KEY_SECRET_ARN" not in env
        elif fn in ("IntakeFunction", "CutoffFunction"):
            # The confirmation-link key: intake checks links, cutoff signs them into reminders.
            assert "LINK_KEY_SECRET_ARN" not in env, fn
            assert env["CONFIRM_KEY_SECRET_ARN"] == ref("ConfirmKeySecret")
            want = [TENANT_SECRETS, ref("SettingsSecret"), ref("ConfirmKeySecret")]
            assert sorted(map(str, grants)) == sorted(map(str, want)), fn
        elif fn == "StepFunction":
            assert "LINK_KEY_SECRET_ARN" not in env and "CONFIRM_KEY_SECRET_ARN" not in env
            assert sorted(map(str, grants)) == sorted(map(str, [TENANT_SECRETS, ref("SettingsSecret")]))
        else:
            assert grants == [], fn


def test_only_the_fan_out_lists_secrets_and_only_by_name():
    for fn, role in ROLES.items():
        listed = allowed(role, "secretsmanager:ListSecrets")
        if fn == "CutoffFunction":
            # ListSecrets has no resource-level permissions; it returns names, not values.
            assert resources_of(listed) == ["*"]
        else:
            assert not listed, fn


def required_env_names() -> set[str]:
    """The variables the shared Lambda host refuses to start without, read from its source."""
    names = set()
    config = ROOT / "shared" / "aws" / "src" / "config.rs"
    host = ROOT / "shared" / "lambda" / "src" / "host.rs"
    if config.exists():
        names |= set(re.findall(r'\bget\("([A-Z0-9_]+)"\)', config.read_text()))
    if host.exists():
        names |= set(
            re.findall(r'env::var\("([A-Z0-9_]+)"\)\s*\.context', host.read_text())
        )
    return names


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_has_every_variable_the_shared_host_requires(fn):
    required = required_env_names()
    if not required:
        pytest.skip("shared/aws/src/config.rs and shared/lambda/src/host.rs not found")
    missing = required - set(function_env(fn))
    assert not missing, f"{fn} would fail at cold start without {sorted(missing)}"


def test_whole_template_has_no_literal_secret():
    text = TEMPLATE.read_text()
    assert "whsec_" not in text
    assert not re.search(r"\bAKIA[0-9A-Z]{16}\b", text)
    assert "BEGIN PRIVATE KEY" not in text


# ------------------------------------------------------------------------------------------------
# IAM
# ------------------------------------------------------------------------------------------------


def test_no_wildcard_actions():
    for where, s, kind in all_policy_statements():
        for action in as_list(s["Action"]):
            assert action != "*", (where, s)
            if s["Effect"] == "Allow":
                assert "*" not in action, (where, action)
            else:
                # The one permitted wildcard: denying every S3 action over plain HTTP.
                assert "*" not in action or (
                    action == "s3:*"
                    and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
                    == "false"
                ), (where, action)


def test_every_action_exists():
    for where, s, kind in all_policy_statements():
        if kind == "trust":
            continue
        for action in as_list(s["Action"]):
            if action.endswith(":*"):
                continue
            assert iam_action(action) is not None, f"{where}: unknown IAM action {action}"


def test_star_resources_only_where_the_action_requires_it():
    for where, s, kind in all_policy_statements():
        if kind != "identity" or s["Effect"] != "Allow":
            continue
        if "*" in as_list(s["Resource"]):
            for action in as_list(s["Action"]):
                info = iam_action(action)
                assert info is not None and not info.get("Resources"), (
                    f"{where}: {action} supports resource-level permissions; scope it"
                )


def test_function_roles_are_assumable_by_lambda_only():
    for role in ROLES.values():
        trust = as_list(props(role)["AssumeRolePolicyDocument"]["Statement"])
        assert trust == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ], role
        assert "ManagedPolicyArns" not in props(role)


def test_intake_and_cutoff_manage_schedules_in_their_group_only():
    group_schedules = {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:"
        "schedule/${CutoffScheduleGroup}/*"
    }
    for role in ("IntakeRole", "CutoffRole"):
        for action in ("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"):
            assert resources_of(allowed(role, action)) == [group_schedules], (role, action)
        passes = allowed(role, "iam:PassRole")
        assert resources_of(passes) == [getatt("SchedulerRole")]
        assert passes[0]["Condition"] == {
            "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
        }
        queues = [getatt("StepQueue"), getatt("FinalizeQueue")]
        if role == "CutoffRole":
            queues.append(getatt("CutoffDeadLetterQueue"))  # its async-invocation DLQ
            queues.append(getatt("TenantJobsQueue"))  # the fan-out and each page's next
        got = resources_of(allowed(role, "sqs:SendMessage"))
        assert sorted(map(str, got)) == sorted(map(str, queues)), role
    for role in ("StepRole", "FinalizerRole", "EvidenceRole"):
        assert not allowed(role, "iam:PassRole")
        assert not allowed(role, "scheduler:CreateSchedule")


def test_step_worker_permissions():
    assert getatt("StepQueue") in resources_of(allowed("StepRole", "sqs:ChangeMessageVisibility"))
    sends = resources_of(allowed("StepRole", "sqs:SendMessage"))
    for q in ("StepQueue", "FinalizeQueue", "DeadLetterQueue"):
        assert getatt(q) in sends, q
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert resources_of(allowed("StepRole", action)) == [getatt("StepQueue")]


def test_finalizer_permissions():
    objects = {"Fn::Sub": "${EvidenceBucket.Arn}/*"}
    for action in ("s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"):
        assert resources_of(allowed("FinalizerRole", action)) == [objects], action
    assert resources_of(allowed("FinalizerRole", "s3:ListBucket")) == [getatt("EvidenceBucket")]
    for action in (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    ):
        assert resources_of(allowed("FinalizerRole", action)) == [getatt("FinalizeQueue")]
    # Its own queue (a finalization waiting for its tenant's one finalizer goes back for
    # later) and the dead-letter queue.
    sends = resources_of(allowed("FinalizerRole", "sqs:SendMessage"))
    assert sorted(map(str, sends)) == sorted(map(str, [getatt("FinalizeQueue"), getatt("DeadLetterQueue")]))
    assert not allowed("FinalizerRole", "s3:DeleteObject")
    assert not allowed("FinalizerRole", "s3:BypassGovernanceRetention")


def test_evidence_function_is_read_only():
    actions = {
        a
        for s in role_statements("EvidenceRole")
        if s["Effect"] == "Allow"
        for a in as_list(s["Action"])
    }
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "kms:GetPublicKey",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:ListBucket",
        "secretsmanager:GetSecretValue",
    }


def test_no_function_scans_the_table():
    # The sweep pages through each tenant's open runs on gsi_open; nothing reads the whole table.
    for role in ROLES.values():
        assert not allowed(role, "dynamodb:Scan"), role


@pytest.mark.parametrize("role", ["IntakeRole", "CutoffRole", "StepRole", "FinalizerRole"])
def test_dynamodb_is_scoped_to_the_table(role):
    table = [getatt("StateTable"), {"Fn::Sub": "${StateTable.Arn}/index/*"}]
    for action in (
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ):
        assert resources_of(allowed(role, action)) == table, (role, action)


# ------------------------------------------------------------------------------------------------
# scheduling
# ------------------------------------------------------------------------------------------------

CUTOFF_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
    "function:${AWS::StackName}-cutoff"
}


def test_cutoff_arn_is_deterministic():
    assert props("CutoffFunction")["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-cutoff"}
    for fn in ("IntakeFunction", "CutoffFunction"):
        env = function_env(fn)
        assert env["CUTOFF_FUNCTION_ARN"] == CUTOFF_ARN
        assert env["SCHEDULER_ROLE_ARN"] == getatt("SchedulerRole")
        assert env["SCHEDULE_GROUP"] == ref("CutoffScheduleGroup")


def test_scheduler_role_invokes_only_the_cutoff_function():
    trust = as_list(props("SchedulerRole")["AssumeRolePolicyDocument"]["Statement"])
    assert len(trust) == 1
    assert trust[0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    statements = role_statements("SchedulerRole")
    assert [as_list(s["Action"]) for s in statements] == [["lambda:InvokeFunction"], ["sqs:SendMessage"]]
    for r in as_list(statements[0]["Resource"]):
        assert r["Fn::Sub"].startswith(CUTOFF_ARN["Fn::Sub"]), r
    # What Scheduler could not deliver goes to the cutoff dead-letter queue, with this role.
    assert statements[1]["Resource"] == getatt("CutoffDeadLetterQueue")


def test_failed_cutoff_invocations_are_dead_lettered():
    dlq = getatt("CutoffDeadLetterQueue")
    assert props("CutoffFunction")["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": dlq}
    for schedule in of_type("AWS::Scheduler::Schedule").values():
        assert schedule["Properties"]["Target"]["DeadLetterConfig"] == {"Arn": dlq}
    for fn in ("IntakeFunction", "CutoffFunction"):
        assert function_env(fn)["CUTOFF_DLQ_ARN"] == dlq, fn
    q = props("CutoffDeadLetterQueue")
    assert q["MessageRetentionPeriod"] == 1209600
    assert "RedrivePolicy" not in q


def test_periodic_sweep():
    sweep = props("CutoffSweepSchedule")
    assert sweep["ScheduleExpression"] == "rate(5 minutes)"
    assert sweep["State"] == "ENABLED"
    assert sweep["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = sweep["Target"]
    assert target["Arn"] == getatt("CutoffFunction")
    assert target["RoleArn"] == getatt("SchedulerRole")
    assert json.loads(target["Input"]) == {"sweep": True}
    assert json.loads(target["Input"]) == json.loads((EVENTS / "cutoff-sweep.json").read_text())


# ------------------------------------------------------------------------------------------------
# HTTP API
# ------------------------------------------------------------------------------------------------


def test_http_routes():
    routes = {}
    for fn in FUNCTIONS:
        for ev in function_events(fn, "HttpApi").values():
            p = ev["Properties"]
            assert p["ApiId"] == ref("HttpApi")
            assert p["PayloadFormatVersion"] == "2.0"
            routes[(p["Method"], p["Path"])] = fn
    assert routes[("POST", "/v1/tenants/{tenant}/webhooks/leaver")] == "IntakeFunction"
    assert routes[("POST", "/v1/tenants/{tenant}/webhooks/{vendor}")] == "IntakeFunction"
    assert routes[("ANY", "/v1/operator/{proxy+}")] == "IntakeFunction"
    assert routes[("GET", "/metrics")] == "IntakeFunction"
    assert routes[("ANY", "/console")] == "IntakeFunction"
    assert routes[("ANY", "/console/{proxy+}")] == "IntakeFunction"
    assert routes[("GET", "/v1/confirm/{tenant}/{run}/{step}/{item}")] == "IntakeFunction"
    assert routes[("POST", "/v1/confirm/{tenant}/{run}/{step}/{item}")] == "IntakeFunction"
    assert routes[("GET", "/v1/bundles/{tenant}/{run}")] == "EvidenceFunction"
    assert routes[("GET", "/v1/bundles/{tenant}/{run}/{path+}")] == "EvidenceFunction"
    assert not function_events("StepFunction", "HttpApi")
    assert not function_events("FinalizerFunction", "HttpApi")
    assert not function_events("CutoffFunction", "HttpApi")
    assert resources()["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"


def test_http_api_enables_the_iam_authorizer_without_making_it_the_default():
    auth = props("HttpApi")["Auth"]
    assert auth == {"EnableIamAuthorizer": True}  # no DefaultAuthorizer: webhooks stay open


def test_http_api_stage_logs_and_throttles():
    api = props("HttpApi")
    assert api["FailOnWarnings"] is True
    logs = api["AccessLogSettings"]
    assert logs["DestinationArn"] == getatt("HttpApiAccessLogs")
    fields = json.loads(logs["Format"])
    assert {"requestId", "ip", "routeKey", "status", "integrationError"} <= set(fields)
    route = api["DefaultRouteSettings"]
    assert route["ThrottlingRateLimit"] > 0 and route["ThrottlingBurstLimit"] >= route["ThrottlingRateLimit"]


# ------------------------------------------------------------------------------------------------
# alarms and outputs
# ------------------------------------------------------------------------------------------------


def alarm_on(metric: str, **dimension) -> dict:
    found = []
    for name, a in of_type("AWS::CloudWatch::Alarm").items():
        p = a["Properties"]
        dims = {d["Name"]: d["Value"] for d in p.get("Dimensions", [])}
        if p.get("MetricName") == metric and all(dims.get(k) == v for k, v in dimension.items()):
            found.append(p)
    assert len(found) == 1, (metric, dimension, found)
    return found[0]


def test_alarms():
    dlq = alarm_on("ApproximateNumberOfMessagesVisible", QueueName=getatt("DeadLetterQueue", "QueueName"))
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    for q in ("StepQueue", "FinalizeQueue"):
        age = alarm_on("ApproximateAgeOfOldestMessage", QueueName=getatt(q, "QueueName"))
        assert (age["Threshold"], age["ComparisonOperator"]) == (900, "GreaterThanThreshold")
        assert age["Namespace"] == "AWS/SQS"
    sla = alarm_on("BlockedRunsPastSla")
    assert sla["Namespace"] == "Passage"
    # Must match the embedded-metric line of the sweep exactly: same namespace, same (no)
    # dimensions, or the alarm watches a metric nobody publishes.
    assert "Dimensions" not in sla
    assert sla["TreatMissingData"] == "breaching"
    emitter = ROOT / "shared" / "lambda" / "src" / "jobs.rs"
    if emitter.exists():
        code = emitter.read_text()
        assert '"Namespace": "Passage"' in code
        assert '"Dimensions": [[]]' in code
        assert '"BlockedRunsPastSla"' in code
    for name, a in of_type("AWS::CloudWatch::Alarm").items():
        assert a["Properties"]["AlarmActions"] == [ref("AlarmTopic")], name
    sub = resources()["AlarmEmailSubscription"]
    assert sub["Condition"] == "HasAlarmEmail"
    assert sub["Properties"]["Endpoint"] == ref("AlarmEmail")
    assert template()["Parameters"]["AlarmEmail"]["Default"] == ""


def alarm_props(name: str) -> dict:
    p = props(name)
    assert p["AlarmActions"] == [ref("AlarmTopic")], name
    assert p["OKActions"] == [ref("AlarmTopic")], name
    assert p["TreatMissingData"] == "notBreaching", name
    assert (p["Threshold"], p["ComparisonOperator"]) == (0, "GreaterThanThreshold"), name
    return p


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_alarm_per_function_errors_and_throttles(fn, metric):
    p = alarm_on(metric, FunctionName=ref(fn))
    assert p["Namespace"] == "AWS/Lambda"
    assert p["Statistic"] == "Sum"
    assert p is props(fn.replace("Function", f"{metric}Alarm"))
    alarm_props(fn.replace("Function", f"{metric}Alarm"))


def test_alarm_http_api_5xx():
    p = alarm_on("5xx", ApiId=ref("HttpApi"))
    assert p["Namespace"] == "AWS/ApiGateway"
    assert p["Statistic"] == "Sum"
    alarm_props("HttpApi5xxAlarm")


def math_alarm_metrics(name: str) -> list[dict]:
    p = alarm_props(name)
    (expr,) = [m for m in p["Metrics"] if "Expression" in m]
    assert expr["ReturnData"] is True
    assert expr["Expression"] == "SUM(FILL(METRICS(), 0))"  # a quiet metric is 0, not a gap
    stats = [m for m in p["Metrics"] if "MetricStat" in m]
    assert all(m["ReturnData"] is False for m in stats)
    assert len(p["Metrics"]) <= 10  # CloudWatch's limit per alarm
    return [m["MetricStat"] for m in stats]


def test_alarm_dynamodb_throttled_requests_for_every_operation_the_store_calls():
    stats = math_alarm_metrics("DynamoDbThrottlesAlarm")
    ops = set()
    for st in stats:
        metric = st["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == ("AWS/DynamoDB", "ThrottledRequests")
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dims["TableName"] == ref("StateTable")
        ops.add(dims["Operation"])
        assert st["Stat"] == "Sum"
    store = ROOT / "shared" / "aws" / "src"
    if store.exists():
        called = set()
        for f in store.glob("*.rs"):
            called |= set(re.findall(r"\.(get_item|put_item|update_item|delete_item|query|scan|transact_write_items|transact_get_items|batch_get_item|batch_write_item)\(\)", f.read_text()))
        names = {"".join(w.capitalize() for w in c.split("_")) for c in called}
        assert names <= ops, sorted(names - ops)
    else:
        assert ops >= {"GetItem", "PutItem", "Query", "TransactWriteItems"}


def test_alarm_scheduler_failures_in_both_groups():
    stats = math_alarm_metrics("SchedulerFailuresAlarm")
    seen = set()
    for st in stats:
        metric = st["Metric"]
        assert metric["Namespace"] == "AWS/Scheduler"
        (dim,) = metric["Dimensions"]
        assert dim["Name"] == "ScheduleGroup"
        seen.add((metric["MetricName"], dim["Value"]["Ref"]))
    assert seen == {
        (m, g)
        for m in ("TargetErrorCount", "InvocationDroppedCount")
        for g in ("CutoffScheduleGroup", "SweepScheduleGroup")
    }


def test_alarm_dead_letter_queues():
    for q in ("DeadLetterQueue", "CutoffDeadLetterQueue"):
        p = alarm_on("ApproximateNumberOfMessagesVisible", QueueName=getatt(q, "QueueName"))
        assert p["Namespace"] == "AWS/SQS"
        assert p["Statistic"] == "Maximum"


def dashboard() -> dict:
    body = props("Dashboard")["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([A-Za-z0-9:.]+)\}", body))
    for n in names:
        base = n.split(".")[0]
        assert base.startswith("AWS::") or base in resources(), n
    return json.loads(re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda m: f"<{m.group(1)}>", body))


def test_dashboard_shows_every_alarm_and_its_metrics():
    widgets = dashboard()["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    shown = set(alarm_widget["properties"]["alarms"])
    assert shown == {f"<{a}.Arn>" for a in of_type("AWS::CloudWatch::Alarm")}
    graphed = set()
    for w in widgets:
        for m in w["properties"].get("metrics", []):
            graphed.add((m[0], m[1]))
    for name, a in of_type("AWS::CloudWatch::Alarm").items():
        p = a["Properties"]
        if "MetricName" in p:
            assert (p["Namespace"], p["MetricName"]) in graphed, name
        for st in (m["MetricStat"] for m in p.get("Metrics", []) if "MetricStat" in m):
            assert (st["Metric"]["Namespace"], st["Metric"]["MetricName"]) in graphed, name
    for w in widgets:
        if w["type"] == "metric":
            assert w["properties"]["region"] == "<AWS::Region>"


def test_parameters_and_outputs():
    params = template()["Parameters"]
    for p in ("Stage", "ObjectLockDays", "MaxReceiveCount", "StepMaxConcurrency", "AlarmEmail"):
        assert p in params, p
    assert params["StepMaxConcurrency"]["Default"] == 10
    outputs = template()["Outputs"]
    for o in (
        "ApiUrl",
        "TableName",
        "StepQueueUrl",
        "FinalizeQueueUrl",
        "DeadLetterQueueUrl",
        "SigningKeyArn",
        "EvidenceBucketName",
        "SettingsSecretArn",
        "TenantSecretPrefix",
        "TenantJobsQueueUrl",
        "LinkKeySecretArn",
    ):
        assert o in outputs, o


# ------------------------------------------------------------------------------------------------
# events/ fixtures
# ------------------------------------------------------------------------------------------------


def load_event(name: str):
    return json.loads((EVENTS / name).read_text())


def test_all_fixtures_are_present_and_json():
    names = {p.name for p in EVENTS.glob("*.json")}
    assert {
        "intake-webhook.json",
        "cutoff-scheduler.json",
        "cutoff-sweep.json",
        "step-sqs.json",
        "finalizer-sqs.json",
        "evidence-get.json",
    } <= names
    for p in EVENTS.glob("*.json"):
        text = p.read_text()
        json.loads(text)
        assert "whsec_" not in text, p.name


def check_http_v2(ev: dict, method: str, route: str):
    assert ev["version"] == "2.0"
    assert ev["routeKey"] == f"{method} {route}"
    ctx = ev["requestContext"]
    assert ctx["http"]["method"] == method
    assert ctx["http"]["path"] == ev["rawPath"]
    assert ctx["routeKey"] == ev["routeKey"]
    assert ctx["stage"] == "$default"
    assert isinstance(ctx["timeEpoch"], int)
    assert all(k == k.lower() for k in ev["headers"]), "HTTP API v2 lower-cases header names"
    assert ev["isBase64Encoded"] is False
    # The route template must match the raw path.
    pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(route))
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
    m = re.fullmatch(pattern, ev["rawPath"])
    assert m, (route, ev["rawPath"])
    assert ev["pathParameters"] == m.groupdict()


def test_intake_webhook_fixture():
    ev = load_event("intake-webhook.json")
    check_http_v2(ev, "POST", "/v1/tenants/{tenant}/webhooks/leaver")
    h = ev["headers"]
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert h[name], name
    assert h["webhook-timestamp"].isdigit()
    assert h["webhook-signature"].startswith("v1,")
    assert h["content-type"] == "application/json"
    body = json.loads(ev["body"])
    assert int(h["content-length"]) == len(ev["body"].encode())
    schema = json.loads(
        (ROOT / "shared" / "hris" / "schema" / "leaver-event.v1.schema.json").read_text()
    )
    assert body["type"] == schema["properties"]["type"]["const"]
    assert set(schema["required"]) <= set(body)
    assert set(body) <= set(schema["properties"]), "unknown fields are refused"
    assert body["tenant"] == ev["pathParameters"]["tenant"] == "demo"
    assert ("last_working_day" in body) != ("cutoff_at" in body)


def test_evidence_fixture():
    ev = load_event("evidence-get.json")
    check_http_v2(ev, "GET", "/v1/bundles/{tenant}/{run}/{path+}")
    q = ev["queryStringParameters"]
    assert set(q) == {"expires", "sig"}
    assert ev["rawQueryString"] == f"expires={q['expires']}&sig={q['sig']}"
    assert q["expires"].isdigit()
    assert re.fullmatch(r"[0-9a-f]{64}", q["sig"])
    assert ev["pathParameters"]["path"] == "manifest.json"
    assert "body" not in ev or not ev["body"]


RUN_ID = re.compile(r"run_[0-9a-f]{32}")


def check_sqs(ev: dict, kind: str) -> list[dict]:
    bodies = []
    ids = set()
    for r in ev["Records"]:
        assert r["eventSource"] == "aws:sqs"
        assert r["eventSourceARN"].startswith("arn:aws:sqs:")
        assert r["receiptHandle"]
        assert int(r["attributes"]["ApproximateReceiveCount"]) >= 1
        assert r["attributes"]["SentTimestamp"].isdigit()
        assert r["messageAttributes"] == {}
        ids.add(r["messageId"])
        body = json.loads(r["body"])
        assert body["kind"] == kind
        assert RUN_ID.fullmatch(body["run_id"])
        bodies.append(body)
    assert len(ids) == len(ev["Records"]), "message ids are the batchItemFailures identifiers"
    return bodies


def test_step_fixture():
    bodies = check_sqs(load_event("step-sqs.json"), "step")
    assert len(bodies) == 2
    assert bodies[0]["step_key"] == "okta.suspend"
    for b in bodies:
        assert set(b) == {"kind", "run_id", "step_key"}


def test_finalizer_fixture():
    bodies = check_sqs(load_event("finalizer-sqs.json"), "finalize")
    assert [set(b) for b in bodies] == [{"kind", "run_id"}]


def test_cutoff_fixtures():
    sched = load_event("cutoff-scheduler.json")
    assert set(sched) == {"run_id", "tenant"}
    assert RUN_ID.fullmatch(sched["run_id"])
    assert load_event("cutoff-sweep.json") == {"sweep": True}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([os.path.abspath(__file__), "-q"]))


def test_operator_api_requires_iam_and_webhooks_do_not():
    """The operator API is behind API Gateway's IAM authorizer (the function trusts only the
    principal it verified); webhooks authenticate by their own signatures."""
    for name, ev in function_events("IntakeFunction", "HttpApi").items():
        p = ev["Properties"]
        auth = p.get("Auth", {}).get("Authorizer")
        if p["Path"].startswith("/v1/operator/") or p["Path"] == "/metrics":
            assert auth == "AWS_IAM", name
        else:
            assert auth in (None, "NONE"), name


def test_hr_reconcile_runs_hourly_through_the_cutoff_function():
    schedules = [
        s["Properties"]
        for s in of_type("AWS::Scheduler::Schedule").values()
        if json.loads(s["Properties"]["Target"]["Input"]) == {"reconcile": True}
    ]
    assert len(schedules) == 1
    p = schedules[0]
    assert p["ScheduleExpression"] == "rate(1 hour)"
    assert p["Target"]["Arn"] == getatt("CutoffFunction")
    assert p["Target"]["RoleArn"] == getatt("SchedulerRole")


def test_moto_provisioning_creates_the_templates_table():
    """sandbox/moto/src/provision.rs makes the table every AWS test runs on: it must have the
    template's attributes, keys, indexes and projections, or the tests exercise another table."""
    provision = ROOT / "sandbox" / "moto" / "src" / "provision.rs"
    if not provision.exists():
        pytest.skip("sandbox/moto/src/provision.rs not found")
    code = provision.read_text()
    store = (ROOT / "shared" / "aws" / "src" / "store.rs").read_text()
    consts = dict(re.findall(r'pub const (GSI_\w+): &str = "(\w+)";', store))
    body = code[code.index("async fn create_table(") :]
    attributes = dict(re.findall(r'attribute\("(\w+)", (S|N)\)', body))
    projections = {}
    for var, kind, rest in re.findall(
        r"let (\w+) = Projection::builder\(\)\s*\.projection_type\(ProjectionType::(\w+)\)(.*?)\.build\(\);",
        body,
        re.S,
    ):
        spec = {"ProjectionType": {"KeysOnly": "KEYS_ONLY", "Include": "INCLUDE", "All": "ALL"}[kind]}
        extra = re.findall(r'non_key_attributes\("(\w+)"\)', rest)
        if extra:
            spec["NonKeyAttributes"] = extra
        projections[var] = spec
    indexes = {}
    for const, hash_key, range_key, projection in re.findall(
        r'index\((GSI_\w+), "(\w+)", "(\w+)", (\w+)(?:\.clone\(\))?\)', body
    ):
        indexes[consts[const]] = ((hash_key, range_key), projections[projection])
    t = props("StateTable")
    assert attributes == {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}
    want = {}
    for g in t["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}
        want[g["IndexName"]] = ((keys["HASH"], keys["RANGE"]), g["Projection"])
    assert indexes == want
    assert 'key_schema("pk", "sk")' in body
    assert f'.attribute_name("{t["TimeToLiveSpecification"]["AttributeName"]}")' in body
