"""Recomputes the SigV4 signature of a recorded request with botocore's signer (an AWS
implementation independent of ours), over the body bytes exactly as they travelled. Used for
gzip bodies: moto 5.2.5 verifies signatures against the body after it decompressed it, so with
authentication enforced it rejects every correctly signed compressed request (botocore's own
too); this check covers what moto cannot.

Usage: sigv4_check.py < request.json > response.json
request: method, url, headers ({name: value}, as received), bodyBase64, secretAccessKey,
         accessKeyId, region, service
response: {"expected": <signature botocore computes>, "got": <signature in Authorization>,
           "signedHeaders": [...]}
"""

import base64
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    request = json.load(sys.stdin)
    headers = {name.lower(): value for name, value in request["headers"].items()}
    authorization = headers["authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", authorization).group(1).split(";")
    got = re.search(r"Signature=([0-9a-f]{64})", authorization).group(1)
    aws_request = AWSRequest(
        method=request["method"],
        url=request["url"],
        data=base64.b64decode(request["bodyBase64"]),
        headers={name: headers[name] for name in signed},
    )
    aws_request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(
        Credentials(request["accessKeyId"], request["secretAccessKey"], headers.get("x-amz-security-token")),
        request["service"],
        request["region"],
    )
    canonical = auth.canonical_request(aws_request)
    expected = auth.signature(auth.string_to_sign(aws_request, canonical), aws_request)
    json.dump({"expected": expected, "got": got, "signedHeaders": signed}, sys.stdout)


if __name__ == "__main__":
    main()
