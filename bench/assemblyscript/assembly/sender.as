// AssemblyScript (not TypeScript): kept as .as so the repo's tsc does not type-check it; build.mjs
// hands it to asc as assembly/sender.ts.
//
// Benchmark peer: the ACPW sender logic written with the AssemblyScript proxy-wasm SDK
// (@solo-io/proxy-runtime 0.1.8, ABI 0.2.0). Same work per request as src/sender.ts:
//   request headers -> remember the start time;
//   log             -> read :authority, :method, :path, :status; on a host match, strip the query
//                      and add (count 1, latency) to the series host|method|path|status;
//   tick (1 s)      -> serialise the series to JSON, enqueue on "aws_cloudwatch_metric" of VM
//                      "receiver", clear.
// The plugin configuration is not parsed: the match host and receiver VM id are the values of the
// benchmark's configuration, fixed here (configuration parsing is not on the per-request path).
export * from "../node_modules/@solo-io/proxy-runtime/assembly/proxy";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, stream_context,
} from "../node_modules/@solo-io/proxy-runtime/assembly/index";
import {
  get_current_time_nanoseconds, set_tick_period_milliseconds, resolve_shared_queue,
  enqueue_shared_queue, WasmResultValues,
} from "../node_modules/@solo-io/proxy-runtime/assembly/runtime";

const MATCH_HOST = "example.com";
const RECEIVER_VM_ID = "receiver";
const QUEUE_NAME = "aws_cloudwatch_metric";
const TICK_MS: u32 = 1000;

class Series {
  count: u64 = 0;
  latencyNsSum: u64 = 0;
}

/** JSON string literal: quotes, backslashes and control characters escaped. */
function jsonString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

class SenderRoot extends RootContext {
  series: Map<string, Series> = new Map();
  queueId: u32 = 0;
  queueResolved: bool = false;

  createContext(context_id: u32): Context {
    return new SenderStream(context_id, this);
  }

  onConfigure(configuration_size: u32): bool {
    set_tick_period_milliseconds(TICK_MS);
    return true;
  }

  record(key: string, latencyNs: u64): void {
    let s: Series;
    if (this.series.has(key)) {
      s = this.series.get(key);
    } else {
      s = new Series();
      this.series.set(key, s);
    }
    s.count += 1;
    s.latencyNsSum += latencyNs;
  }

  onTick(): void {
    if (this.series.size == 0) return;
    if (!this.queueResolved) {
      const token = new Uint32Array(1);
      if (resolve_shared_queue_into(token) != WasmResultValues.Ok) return; // receiver not up yet: keep counting
      this.queueId = token[0];
      this.queueResolved = true;
    }
    const keys = this.series.keys();
    let json = "[";
    for (let i = 0; i < keys.length; i++) {
      const s = this.series.get(keys[i]);
      if (i > 0) json += ",";
      json += "{\"key\":" + jsonString(keys[i]) + ",\"count\":" + s.count.toString() +
        ",\"latency_ns_sum\":" + s.latencyNsSum.toString() + "}";
    }
    json += "]";
    enqueue_shared_queue(this.queueId, String.UTF8.encode(json));
    this.series.clear();
  }

  // The SDK's defaults log a debug line per call; the benchmark measures the sender, not logging.
  onDone(): bool { return true; }
  onDelete(): void {}
}

/** resolve_shared_queue writes the queue id through a pointer: hand it the array's storage. */
function resolve_shared_queue_into(token: Uint32Array): WasmResultValues {
  return resolve_shared_queue(RECEIVER_VM_ID, QUEUE_NAME, <u32>token.dataStart);
}

class SenderStream extends Context {
  startNs: u64 = 0;

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    this.startNs = get_current_time_nanoseconds();
    return FilterHeadersStatusValues.Continue;
  }

  onLog(): void {
    const host = stream_context.headers.request.get(":authority").toLowerCase();
    if (host != MATCH_HOST) return;
    const method = stream_context.headers.request.get(":method");
    let path = stream_context.headers.request.get(":path");
    const q = path.indexOf("?");
    if (q >= 0) path = path.substring(0, q);
    const status = stream_context.headers.response.get(":status");
    const latencyNs = get_current_time_nanoseconds() - this.startNs;
    (this.root_context as SenderRoot).record(host + "|" + method + "|" + path + "|" + status, latencyNs);
  }

  onDone(): bool { return true; }
  onDelete(): void {}
}

// Registered under the empty root id and the benchmark's root id: the SDK looks the factory up
// by the host's plugin_root_id property.
registerRootContext((context_id: u32) => new SenderRoot(context_id) as RootContext, "");
registerRootContext((context_id: u32) => new SenderRoot(context_id) as RootContext, "acpw_sender");
