// Reading a PutMetricData answer (AWS JSON 1.0, awsQueryCompatible) and classifying it the way
// the AWS SDKs' standard retry mode does: throttling and transient errors retry, other client
// errors do not.

export type CallOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'throttling' | 'transient'; readonly code: string; readonly message: string; readonly status?: number }
  /** Envoy's own answer to a call that exceeded its timeout: the body was sent, it may be stored. */
  | { readonly kind: 'timeout'; readonly code: string; readonly message: string; readonly status: number }
  | { readonly kind: 'client_error'; readonly code: string; readonly message: string; readonly status: number };

/** The call's answer as proxy_on_http_call_response gives it; no headers = no answer. */
export interface CallResponse {
  readonly headers: readonly (readonly [string, string])[];
  /** Read only for an error answer: a success body is not needed. */
  readonly body: () => string;
}

// From the AWS SDKs' retry rules (smithy service-error-classification).
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'LimitExceededException', 'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException',
  'SlowDown', 'ThrottledException', 'Throttling', 'ThrottlingException', 'TooManyRequestsException',
  'TransactionInProgressException',
]);
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

const MAX_MESSAGE_LENGTH = 300;

function header(headers: CallResponse['headers'], name: string): string | undefined {
  for (const [key, value] of headers) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** "aws.protocoltests#FooError:http://..." → "FooError". */
export function sanitizeErrorCode(raw: string): string {
  let code = raw;
  const colon = code.indexOf(':');
  if (colon >= 0) code = code.slice(0, colon);
  const hash = code.lastIndexOf('#');
  if (hash >= 0) code = code.slice(hash + 1);
  return code.trim();
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_LENGTH ? `${flat.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : flat;
}

/** The AWS error code and message of an error answer, from the headers and the JSON body. */
export function parseAwsError(response: CallResponse, status: number): { code: string; message: string } {
  let code: string | undefined;
  let message = '';
  const body = response.body();
  // CloudWatch is awsQueryCompatible: "x-amzn-query-error: InvalidParameterValue;Sender" holds the
  // code its Query API used (the one users know); __type holds the JSON shape name.
  const queryError = header(response.headers, 'x-amzn-query-error');
  if (queryError) code = sanitizeErrorCode(queryError.split(';')[0] ?? '');
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const body = parsed as Record<string, unknown>;
      const type = body['__type'] ?? body['code'] ?? body['Code'];
      if (!code && typeof type === 'string') code = sanitizeErrorCode(type);
      const text = body['message'] ?? body['Message'] ?? body['errorMessage'];
      if (typeof text === 'string') message = text;
    }
  } catch {
    // Not JSON: an XML error document (Query-protocol style, e.g. from an auth layer or an
    // emulator) or plain text.
    const xmlCode = /<Code>([^<]*)<\/Code>/.exec(body);
    const xmlMessage = /<Message>([^<]*)<\/Message>/.exec(body);
    if (!code && xmlCode) code = sanitizeErrorCode(xmlCode[1]!);
    message = xmlMessage ? xmlMessage[1]! : body;
  }
  if (!code) {
    const typeHeader = header(response.headers, 'x-amzn-errortype');
    if (typeHeader) code = sanitizeErrorCode(typeHeader);
  }
  return { code: code || `HTTP${status}`, message: oneLine(message) };
}

/**
 * Envoy answers a proxy_http_call that ran past its timeout itself: 504 with the body
 * "upstream request timeout" (seen in Envoy 1.40; CloudWatch's own errors carry
 * x-amzn-requestid). A connection that could not be made is a 503 "upstream connect error …"
 * instead, so an unreachable endpoint is never taken for a timeout.
 */
export const ENVOY_TIMEOUT_BODY = 'upstream request timeout';

function isEnvoyTimeout(response: CallResponse, status: number): boolean {
  return status === 504 && header(response.headers, 'x-amzn-requestid') === undefined && response.body().trim() === ENVOY_TIMEOUT_BODY;
}

export function classifyResponse(response: CallResponse): CallOutcome {
  if (response.headers.length === 0) {
    // Envoy reports a connection failure, a reset or a timeout as an answer without headers.
    return { kind: 'transient', code: 'NoResponse', message: 'no response (connection failure, reset or timeout)' };
  }
  const status = Number(header(response.headers, ':status'));
  if (!Number.isInteger(status)) return { kind: 'transient', code: 'NoStatus', message: 'response without a valid :status' };
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (isEnvoyTimeout(response, status)) return { kind: 'timeout', code: 'Timeout', message: ENVOY_TIMEOUT_BODY, status };
  const { code, message } = parseAwsError(response, status);
  if (status === 429 || THROTTLING_CODES.has(code)) return { kind: 'throttling', code, message, status };
  if (TRANSIENT_STATUSES.has(status) || TRANSIENT_CODES.has(code) || status >= 500) return { kind: 'transient', code, message, status };
  return { kind: 'client_error', code, message, status };
}
