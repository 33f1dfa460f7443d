;; The floor: an empty proxy-wasm (ABI 0.2.1) HTTP filter. It imports nothing, exports the ABI
;; version, memory and an allocator, and every callback returns at once (Continue / true).
;; Whatever a real filter costs above this module is its own work plus its SDK.
(module
  (memory (export "memory") 1)

  ;; Bump allocator: the host may ask for memory to hand data in; this filter never asks for data,
  ;; so the bump only moves if a host insists. Wraps at the end of the first page.
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (if (i32.gt_u (i32.add (local.get $at) (local.get $size)) (i32.const 65536))
      (then (local.set $at (i32.const 1024))))
    (global.set $next (i32.add (local.get $at) (local.get $size)))
    (local.get $at))

  (func (export "proxy_abi_version_0_2_1"))

  ;; Lifecycle: true = keep going.
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_tick") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))

  ;; HTTP stream: 0 = Continue.
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_request_trailers") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_trailers") (param i32 i32) (result i32) (i32.const 0))
)
