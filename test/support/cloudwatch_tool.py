"""boto3 side of the tests: an AWS implementation independent of ours that writes to, reads back
from and sets up IAM in moto's server.

Usage: cloudwatch_tool.py COMMAND < request.json > response.json
Every request has "endpoint" (moto's URL) and may have "region" (default ap-northeast-1) and
"credentials" ({"accessKeyId", "secretAccessKey", "sessionToken"?}; default: fake ones, which
moto accepts while it does not enforce authentication). Commands and their other fields:
  put-metric-data   namespace, metricData (boto3 MetricData shape; Timestamp as ISO-8601 or epoch s)
  list-metrics      namespace, metricName?            -> {"metrics": [...]}
  get-statistics    namespace, metricName, dimensions ([{Name, Value}]), start, end (ISO or epoch s),
                    period (s), statistics (["Sum", ...]), extendedStatistics? (["p99", ...])
                                                      -> {"datapoints": [...] sorted by Timestamp}
  create-iam-user   userName, policyDocument (object), motoServiceAlias (bool, default true)
                                                      -> {"userName", "accessKeyId", "secretAccessKey", "policyArns"}
  create-role-sessions  roleName, policyDocument (object), sessions (int): an IAM role with the policy
                    (and moto's alias of it), assumed `sessions` times through STS
                                                      -> {"roleArn", "sessions": [{accessKeyId, secretAccessKey, sessionToken}]}
An AWS error prints {"error": {"code", "message", "httpStatus"}} and exits with status 3.
"""

import datetime
import json
import re
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

DEFAULT_REGION = "ap-northeast-1"
FAKE_CREDENTIALS = {"accessKeyId": "testing", "secretAccessKey": "testing"}
AWS_ERROR_EXIT = 3


def client(service, request):
    creds = request.get("credentials") or FAKE_CREDENTIALS
    return boto3.client(
        service,
        endpoint_url=request["endpoint"],
        region_name=request.get("region", DEFAULT_REGION),
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds.get("sessionToken"),
        # One attempt: a test asserts what moto answered, not what a retry eventually got.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def to_datetime(value):
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def put_metric_data(request):
    data = []
    for datum in request["metricData"]:
        datum = dict(datum)
        if "Timestamp" in datum:
            datum["Timestamp"] = to_datetime(datum["Timestamp"])
        data.append(datum)
    client("cloudwatch", request).put_metric_data(Namespace=request["namespace"], MetricData=data)
    return {"ok": True}


def list_metrics(request):
    args = {"Namespace": request["namespace"]}
    if request.get("metricName"):
        args["MetricName"] = request["metricName"]
    metrics = []
    for page in client("cloudwatch", request).get_paginator("list_metrics").paginate(**args):
        metrics.extend(page["Metrics"])
    return {"metrics": metrics}


def get_statistics(request):
    args = {
        "Namespace": request["namespace"],
        "MetricName": request["metricName"],
        "Dimensions": request.get("dimensions", []),
        "StartTime": to_datetime(request["start"]),
        "EndTime": to_datetime(request["end"]),
        "Period": request.get("period", 60),
    }
    if request.get("statistics"):
        args["Statistics"] = request["statistics"]
    if request.get("extendedStatistics"):
        args["ExtendedStatistics"] = request["extendedStatistics"]
    answer = client("cloudwatch", request).get_metric_statistics(**args)
    datapoints = sorted(answer["Datapoints"], key=lambda point: point["Timestamp"])
    return {"label": answer.get("Label"), "datapoints": datapoints}


def create_iam_user(request):
    iam = client("iam", request)
    user = request["userName"]
    iam.create_user(UserName=user)
    documents = [(f"{user}-policy", request["policyDocument"])]
    if request.get("motoServiceAlias", True):
        # moto names the action after the SigV4 scope's service ("monitoring:PutMetricData"),
        # where AWS IAM says "cloudwatch:PutMetricData"; this second policy mirrors the first
        # under moto's name so the real minimal policy can stay unchanged.
        documents.append((f"{user}-moto-alias", alias_for_moto(request["policyDocument"])))
    arns = []
    for name, document in documents:
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
        arns.append(arn)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {
        "userName": user,
        "accessKeyId": key["AccessKeyId"],
        "secretAccessKey": key["SecretAccessKey"],
        "policyArns": arns,
    }


def create_role_sessions(request):
    iam = client("iam", request)
    sts = client("sts", request)
    role = request["roleName"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    document = request["policyDocument"]
    for name, policy in ((f"{role}-policy", document), (f"{role}-moto-alias", alias_for_moto(document))):
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(policy))
    sessions = []
    for index in range(request.get("sessions", 1)):
        creds = sts.assume_role(RoleArn=arn, RoleSessionName=f"{role}-{index}")["Credentials"]
        sessions.append({"accessKeyId": creds["AccessKeyId"], "secretAccessKey": creds["SecretAccessKey"], "sessionToken": creds["SessionToken"]})
    return {"roleArn": arn, "sessions": sessions}


def alias_for_moto(document):
    def rename(action):
        return "monitoring:" + action[len("cloudwatch:"):] if action.startswith("cloudwatch:") else action

    statements = []
    for statement in document["Statement"]:
        statement = dict(statement)
        actions = statement["Action"]
        statement["Action"] = [rename(a) for a in actions] if isinstance(actions, list) else rename(actions)
        statements.append(statement)
    return {**document, "Statement": statements}


def aws_error(error):
    """(code, message) of a ClientError. moto answers authentication failures with a Query-style
    XML body whatever the protocol, which boto3's CBOR/JSON parsers leave as the raw text."""
    details = error.response.get("Error", {})
    code, message = details.get("Code", ""), details.get("Message", "")
    if "<Code>" in message:
        code = re.search(r"<Code>([^<]*)</Code>", message).group(1)
        found = re.search(r"<Message>([^<]*)</Message>", message)
        message = found.group(1) if found else message
    return code, message


COMMANDS = {
    "put-metric-data": put_metric_data,
    "list-metrics": list_metrics,
    "get-statistics": get_statistics,
    "create-iam-user": create_iam_user,
    "create-role-sessions": create_role_sessions,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: cloudwatch_tool.py {{{'|'.join(COMMANDS)}}} < request.json")
    request = json.load(sys.stdin)
    try:
        result = COMMANDS[sys.argv[1]](request)
    except ClientError as error:
        code, message = aws_error(error)
        json.dump(
            {
                "error": {
                    "code": code,
                    "message": message,
                    "httpStatus": error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                }
            },
            sys.stdout,
        )
        sys.exit(AWS_ERROR_EXIT)
    json.dump(result, sys.stdout, default=lambda value: value.isoformat() if hasattr(value, "isoformat") else str(value))


if __name__ == "__main__":
    main()
