"""Everything moto holds for one namespace, in one process (a boto3 client per call would cost a
Python start each): every listed metric (deduplicated: moto may list one twice) with the Sum and
SampleCount of its datapoints over a window.

Usage: cloudwatch_summary.py < request.json > response.json
request: endpoint, namespace, start, end (epoch s), credentials?, region?, exactDimensions?
exactDimensions: read with get_metric_data, where moto matches the dimension set exactly as
CloudWatch does; its get_metric_statistics also counts every metric whose dimensions are a
superset of the asked ones (so a rollup's totals would include the full series); units are then
not reported. The query keeps list_metrics' dimension order: moto 5.2.5 compares the sorted
lists, and its Dimension ordering is inconsistent, so only the stored order matches reliably.
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
            if request.get("exactDimensions"):
                listed = [(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
                series.append(exact_series(cloudwatch, request, metric["MetricName"], listed))
                continue
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


def exact_series(cloudwatch, request, metric_name, dimensions):
    metric = {
        "Namespace": request["namespace"],
        "MetricName": metric_name,
        "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
    }
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": stat.lower(), "MetricStat": {"Metric": metric, "Period": PERIOD_S, "Stat": stat}}
            for stat in ("Sum", "SampleCount")
        ],
        StartTime=to_datetime(request["start"]),
        EndTime=to_datetime(request["end"]),
    )
    values = {result["Id"]: sum(result["Values"]) for result in answer["MetricDataResults"]}
    return {
        "metricName": metric_name,
        "dimensions": dict(dimensions),
        "sum": values.get("sum", 0),
        "sampleCount": values.get("samplecount", 0),
        "units": [],
    }


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
