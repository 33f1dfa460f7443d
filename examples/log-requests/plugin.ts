// Logs one line per request at stream end: method, path, response status and latency.
// A StatelessHttpContext: no per-stream state, so the SDK reuses one context object and JS is
// entered once per request (onLog only).

import { definePlugin, hostcalls, MapType, RootContext, StatelessHttpContext } from '../../src/sdk/index.js';

/** Built once: the headers to read at stream end, then the ns since the stream started, in one crossing. */
const QUERY = hostcalls.headerAgeQuery([
  [MapType.HttpRequestHeaders, ':method'],
  [MapType.HttpRequestHeaders, ':path'],
  [MapType.HttpResponseHeaders, ':status'],
], ['request', 'time']);

class LogRoot extends RootContext {}

class LogRequest extends StatelessHttpContext<LogRoot> {
  override onLog(): void {
    // typed by the query: [method, path, status, ageNs]
    const [method, path, status, ageNs] = this.getHeaderValuesOfMapsAndAge(QUERY);
    const ms = ageNs === undefined ? '?' : (ageNs / 1e6).toFixed(1);
    this.log.info(`log-requests: ${method ?? '-'} ${path ?? '-'} -> ${status ?? '-'} in ${ms} ms`);
  }
}

export default definePlugin({ name: 'log-requests', root: LogRoot, http: LogRequest });
