// Benchmark peer: the ACPW sender logic in Go (wasip1 reactor). Same work per request as
// src/sender.ts:
//
//	request headers -> remember the start time;
//	log             -> read :authority, :method, :path, :status; on a host match
//	                   (case-insensitive), strip the query and add (count 1, latency) to the series
//	                   host|method|path|status;
//	tick (1 s)      -> serialise the series to JSON, enqueue on "aws_cloudwatch_metric" of VM
//	                   "receiver", clear.
//
// The plugin configuration is not parsed: the match host and receiver VM id are the values of the
// benchmark's configuration, fixed here (configuration parsing is not on the per-request path).
package main

import (
	"strconv"
	"strings"
)

const (
	matchHost      = "example.com"
	receiverVMID   = "receiver"
	queueName      = "aws_cloudwatch_metric"
	tickMs         = 1000
	actionContinue = 0
)

type series struct {
	count        uint64
	latencyNsSum uint64
}

type rootState struct {
	series        map[string]*series
	queueID       uint32
	queueResolved bool
}

type streamState struct {
	root    *rootState
	startNs uint64
}

var (
	roots   = map[uint32]*rootState{}
	streams = map[uint32]*streamState{}
)

func main() {}

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentID uint32) {
	if parentID == 0 {
		roots[contextID] = &rootState{series: map[string]*series{}}
		return
	}
	root, ok := roots[parentID]
	if !ok {
		logError("context " + strconv.FormatUint(uint64(contextID), 10) + ": unknown root context")
		return
	}
	streams[contextID] = &streamState{root: root}
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(contextID, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func proxyOnConfigure(contextID, size uint32) uint32 {
	proxySetTickPeriodMilliseconds(tickMs)
	return 1
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	if s, ok := streams[contextID]; ok {
		s.startNs = nowNanoseconds()
	}
	return actionContinue
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(contextID, size, endOfStream uint32) uint32 { return actionContinue }

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailers(contextID, n uint32) uint32 { return actionContinue }

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 { return actionContinue }

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(contextID, size, endOfStream uint32) uint32 { return actionContinue }

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailers(contextID, n uint32) uint32 { return actionContinue }

//go:wasmexport proxy_on_log
func proxyOnLog(contextID uint32) {
	s, ok := streams[contextID]
	if !ok {
		return
	}
	host := strings.ToLower(headerValue(mapRequestHeaders, ":authority"))
	if host != matchHost {
		return
	}
	method := headerValue(mapRequestHeaders, ":method")
	path := headerValue(mapRequestHeaders, ":path")
	if q := strings.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	status := headerValue(mapResponseHeaders, ":status")
	latency := nowNanoseconds() - s.startNs
	key := host + "|" + method + "|" + path + "|" + status
	agg, ok := s.root.series[key]
	if !ok {
		agg = &series{}
		s.root.series[key] = agg
	}
	agg.count++
	agg.latencyNsSum += latency
}

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) {
	delete(streams, contextID)
	delete(roots, contextID)
}

//go:wasmexport proxy_on_tick
func proxyOnTick(contextID uint32) {
	root, ok := roots[contextID]
	if !ok || len(root.series) == 0 {
		return
	}
	if !root.queueResolved {
		id, resolved := resolveQueue(receiverVMID, queueName)
		if !resolved {
			return // receiver not up yet: keep counting
		}
		root.queueID, root.queueResolved = id, true
	}
	enqueue(root.queueID, seriesJSON(root.series))
	clear(root.series)
}

// seriesJSON: [{"key":"…","count":n,"latency_ns_sum":n},…]
func seriesJSON(m map[string]*series) []byte {
	out := make([]byte, 0, 64*len(m))
	out = append(out, '[')
	first := true
	for key, s := range m {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, `{"key":`...)
		out = appendJSONString(out, key)
		out = append(out, `,"count":`...)
		out = strconv.AppendUint(out, s.count, 10)
		out = append(out, `,"latency_ns_sum":`...)
		out = strconv.AppendUint(out, s.latencyNsSum, 10)
		out = append(out, '}')
	}
	return append(out, ']')
}

func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}
