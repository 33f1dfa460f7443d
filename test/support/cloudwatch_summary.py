"""Everything moto holds for one namespace, in one process (a boto3 client per call would cost a
Python start each): every listed metric (deduplicated: moto may list one twice) with the Sum and
SampleCount of its datapoints over a window.

Usage: cloudwatch_summary.py < request.json > response.json
request: endpoint, namespace, start, end (epoch s), credentials?, region?
response: {"series": [{"metricName", "dimensions": {name: value}, "sum", "sampleCount"}]}
An AWS error prints {"error": {...}} and exits with status 3, as cloudwatch_tool.py does.
"""

import json
import sys

from botocore.exceptions import ClientError

from cloudwatch_tool import AWS_ERROR_EXIT, aws_error, client, to_datetime

PERIOD_S = 60


def summarize(request):
    cloudwatch = client("cloudwatch", request)
    seen = set()
    series = []
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=request["namespace"]):
        for metric in page["Metrics"]:
            dimensions = sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            key = (metric["MetricName"], tuple(dimensions))
            if key in seen:
                continue
            seen.add(key)
            answer = cloudwatch.get_metric_statistics(
                Namespace=request["namespace"],
                MetricName=metric["MetricName"],
                Dimensions=[{"Name": n, "Value": v} for n, v in dimensions],
                StartTime=to_datetime(request["start"]),
                EndTime=to_datetime(request["end"]),
                Period=PERIOD_S,
                Statistics=["Sum", "SampleCount"],
            )
            points = answer["Datapoints"]
            series.append(
                {
                    "metricName": metric["MetricName"],
                    "dimensions": dict(dimensions),
                    "sum": sum(p.get("Sum", 0) for p in points),
                    "sampleCount": sum(p.get("SampleCount", 0) for p in points),
                    "units": sorted({p["Unit"] for p in points if "Unit" in p}),
                }
            )
    return {"series": series}


def main():
    request = json.load(sys.stdin)
    try:
        result = summarize(request)
    except ClientError as error:
        code, message = aws_error(error)
        json.dump({"error": {"code": code, "message": message}}, sys.stdout)
        sys.exit(AWS_ERROR_EXIT)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
