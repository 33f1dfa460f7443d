// The proxy-wasm ABI 0.2.1 calls this peer uses, declared straight from the spec
// (github.com/proxy-wasm/spec, abi-versions/v0.2.1): the Go proxy-wasm SDK is not served by the
// Go module proxy these machines reach, so the peer speaks the ABI itself with Go 1.24's
// go:wasmimport / go:wasmexport, exactly the mechanism that SDK is built on.
package main

import "unsafe"

const (
	statusOk           = 0
	mapRequestHeaders  = 0
	mapResponseHeaders = 2
	logLevelError      = 4
)

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg unsafe.Pointer, msgLen uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTimeNanoseconds(ret unsafe.Pointer) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriodMilliseconds(period uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keyLen uint32, retPtr unsafe.Pointer, retLen unsafe.Pointer) uint32

//go:wasmimport env proxy_resolve_shared_queue
func proxyResolveSharedQueue(vmID unsafe.Pointer, vmIDLen uint32, name unsafe.Pointer, nameLen uint32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func proxyEnqueueSharedQueue(queueID uint32, data unsafe.Pointer, dataLen uint32) uint32

// Return slots live in package-level variables: goroutine stacks can move, globals cannot.
var (
	retPtr  uint32
	retLen  uint32
	retU32  uint32
	retTime uint64
)

// Buffers handed to the host through proxy_on_memory_allocate stay referenced here until the
// value written into them has been copied out, so the GC cannot reclaim them in between.
var hostBuffers [][]byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	if size == 0 {
		size = 1
	}
	buf := make([]byte, size)
	hostBuffers = append(hostBuffers, buf)
	return unsafe.Pointer(&buf[0])
}

func releaseHostBuffers() {
	for i := range hostBuffers {
		hostBuffers[i] = nil
	}
	hostBuffers = hostBuffers[:0]
}

func logError(msg string) {
	proxyLog(logLevelError, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func nowNanoseconds() uint64 {
	if proxyGetCurrentTimeNanoseconds(unsafe.Pointer(&retTime)) != statusOk {
		return 0
	}
	return retTime
}

// headerValue returns the header's value, or "" when the map has no such header.
func headerValue(mapType uint32, key string) string {
	status := proxyGetHeaderMapValue(mapType, unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(&retPtr), unsafe.Pointer(&retLen))
	if status != statusOk || retLen == 0 {
		releaseHostBuffers()
		return ""
	}
	value := string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(retPtr))), retLen))
	releaseHostBuffers()
	return value
}

func resolveQueue(vmID, name string) (uint32, bool) {
	status := proxyResolveSharedQueue(unsafe.Pointer(unsafe.StringData(vmID)), uint32(len(vmID)),
		unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), unsafe.Pointer(&retU32))
	return retU32, status == statusOk
}

func enqueue(queueID uint32, data []byte) uint32 {
	if len(data) == 0 {
		return statusOk
	}
	return proxyEnqueueSharedQueue(queueID, unsafe.Pointer(&data[0]), uint32(len(data)))
}
