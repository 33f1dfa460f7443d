// Benchmark peer: the ACPW sender's per-request work on the reference Rust SDK (crate proxy-wasm
// 0.2.5), for the real-Envoy benchmark (bench/envoy). Same work as src/sender.ts:
//
//   request headers -> remember the start time (the SDK's idiomatic way; the SDK exports every
//                      stream callback in any case);
//   log             -> read :authority, :method, :path, :status; on a host match (case-insensitive)
//                      strip the query and count the request with its latency in the same
//                      149-bucket histogram as src/metrics/latency.ts, per series
//                      host|method|path|status;
//   tick (1 s)      -> serialise the series to JSON, enqueue on "aws_cloudwatch_metric" of VM
//                      "receiver", clear.
//
// The plugin configuration is not parsed: match host and receiver VM id are the benchmark's
// values, fixed here (configuration parsing is not on the per-request path). The receiver drops
// this JSON as malformed: the queue only has to exist and take the message, as for the sender.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

const MATCH_HOST: &str = "example.com";
const RECEIVER_VM_ID: &str = "receiver";
const QUEUE_NAME: &str = "aws_cloudwatch_metric";

// src/metrics/latency.ts: bucket 0 below 0.1 ms, 148 logarithmic buckets up to 300,000 ms.
const BUCKETS: usize = 149;
const MIN_MS: f64 = 0.1;
const MAX_MS: f64 = 300_000.0;

fn latency_bucket(ms: f64) -> usize {
    if !(ms >= MIN_MS) {
        return 0;
    }
    let log_buckets = (BUCKETS - 1) as f64;
    let ratio = (MAX_MS.ln() - MIN_MS.ln()) / log_buckets;
    let x = (ms.ln() - MIN_MS.ln()) / ratio;
    if x >= log_buckets {
        BUCKETS - 1
    } else {
        x as usize + 1
    }
}

struct Series {
    count: u64,
    histogram: [u32; BUCKETS],
}

type SeriesMap = Rc<RefCell<HashMap<String, Series>>>;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { series: Rc::new(RefCell::new(HashMap::new())), queue: None })
    });
}}

struct Root {
    series: SeriesMap,
    queue: Option<u32>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.set_tick_period(Duration::from_secs(1));
        true
    }

    fn on_tick(&mut self) {
        let mut series = self.series.borrow_mut();
        if series.is_empty() {
            return;
        }
        if self.queue.is_none() {
            self.queue = self.resolve_shared_queue(RECEIVER_VM_ID, QUEUE_NAME);
            if self.queue.is_none() {
                return; // receiver not up yet: keep counting
            }
        }
        let mut out = String::with_capacity(256 * series.len());
        out.push('[');
        for (i, (key, s)) in series.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // keys are header values Envoy already validated; the benchmark's contain no quotes
            let _ = write!(out, "{{\"key\":\"{}\",\"count\":{},\"buckets\":[", key, s.count);
            let mut first = true;
            for (bucket, &n) in s.histogram.iter().enumerate() {
                if n > 0 {
                    let _ = write!(out, "{}[{},{}]", if first { "" } else { "," }, bucket, n);
                    first = false;
                }
            }
            out.push_str("]}");
        }
        out.push(']');
        if self.enqueue_shared_queue(self.queue.unwrap(), Some(out.as_bytes())).is_err() {
            self.queue = None;
        }
        series.clear();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream { series: self.series.clone(), start_ns: 0 }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    series: SeriesMap,
    start_ns: u128,
}

fn now_ns(ctx: &dyn Context) -> u128 {
    ctx.get_current_time().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.start_ns = now_ns(self);
        Action::Continue
    }

    fn on_log(&mut self) {
        let host = match self.get_http_request_header(":authority") {
            Some(h) => h.to_ascii_lowercase(),
            None => return,
        };
        if host != MATCH_HOST {
            return;
        }
        let method = self.get_http_request_header(":method").unwrap_or_default();
        let mut path = self.get_http_request_header(":path").unwrap_or_default();
        if let Some(q) = path.find('?') {
            path.truncate(q);
        }
        let status = self.get_http_response_header(":status").unwrap_or_default();
        let latency_ms = now_ns(self).saturating_sub(self.start_ns) as f64 / 1e6;
        let key = format!("{}|{}|{}|{}", host, method, path, status);
        let mut series = self.series.borrow_mut();
        let s = series.entry(key).or_insert_with(|| Series { count: 0, histogram: [0; BUCKETS] });
        s.count += 1;
        s.histogram[latency_bucket(latency_ms)] += 1;
    }
}
