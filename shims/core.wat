  ;; ---- core.wat: fixed parts of the bridge (frames, marshalling, callbacks, exceptions) ----
  ;; Spliced into the generated module by gen-bridge.mjs. Every JS value crossing here is a
  ;; quickjs-wasi handle: an i32 pointer to a heap-allocated JSValue, owned by whoever created it.

  ;; Scratch frames live on the engine's shadow stack (__stack_pointer), so a re-entrant
  ;; callback (e.g. send_local_response triggering on_response_headers) never clobbers the
  ;; return slots or argv of an outer call.
  (func $frame_push (param $size i32) (result i32)
    (global.set $sp (i32.sub (global.get $sp) (local.get $size)))
    (memory.fill (global.get $sp) (i32.const 0) (local.get $size))
    (global.get $sp))
  (func $frame_pop (param $size i32)
    (global.set $sp (i32.add (global.get $sp) (local.get $size))))

  (func $num (param $v f64) (result i32) (call $qjs_new_number (local.get $v)))
  (func $num_u32 (param $v i32) (result i32) (call $qjs_new_number (f64.convert_i32_u (local.get $v))))
  (func $num_neg_status (param $st i32) (result i32)
    (call $qjs_new_number (f64.neg (f64.convert_i32_u (local.get $st)))))

  (func $arg_i32 (param $h i32) (result i32) (i32.trunc_sat_f64_s (call $qjs_get_float64 (local.get $h))))
  (func $arg_u32 (param $h i32) (result i32) (i32.trunc_sat_f64_u (call $qjs_get_float64 (local.get $h))))
  (func $arg_i64 (param $h i32) (result i64) (i64.trunc_sat_f64_s (call $qjs_get_float64 (local.get $h))))

  ;; Lone surrogates come out of QuickJS as WTF-8 (ED A0..BF xx); TextEncoder semantics want
  ;; U+FFFD (EF BF BD), which has the same length: patch in place.
  (func $wtf8_fix (param $p i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 2)))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_s (local.get $p) (local.get $end)))
        (if (i32.and (i32.eq (i32.load8_u (local.get $p)) (i32.const 0xED))
                     (i32.ge_u (i32.load8_u offset=1 (local.get $p)) (i32.const 0xA0)))
          (then
            (i32.store8 (local.get $p) (i32.const 0xEF))
            (i32.store8 offset=1 (local.get $p) (i32.const 0xBF))
            (i32.store8 offset=2 (local.get $p) (i32.const 0xBD))
            (local.set $p (i32.add (local.get $p) (i32.const 3))))
          (else (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (br $scan))))

  ;; Byte input slot (16 bytes): +0 ptr, +4 len, +8 kind, +12 handle.
  ;; kind 0: borrowed (ArrayBuffer data in place), 1: C string to free, 2: malloc'd buffer,
  ;; 3: ArrayBuffer handle (of a typed array) to free.
  ;; Returns 0 if converting the value threw (the exception stays pending for QuickJS).
  (func $bytes_in (param $h i32) (param $slot i32) (param $utf8 i32) (result i32)
    (local $p i32) (local $ab i32)
    ;; undefined / null: no bytes (e.g. an http_call without a body)
    (if (i32.or (call $qjs_is_undefined (local.get $h)) (call $qjs_is_null (local.get $h)))
      (then (i32.store (local.get $slot) (local.get $slot)) (return (i32.const 1))))
    (if (call $qjs_is_array_buffer (local.get $h))
      (then
        (local.set $p (call $qjs_get_array_buffer (local.get $h) (i32.add (local.get $slot) (i32.const 4))))
        (i32.store (local.get $slot) (local.get $p))
        (return (i32.const 1))))
    (if (i32.eqz (call $qjs_is_string (local.get $h)))
      (then
        (if (call $qjs_is_object (local.get $h))
          (then
            ;; typed array / DataView: its buffer, at its offset
            (local.set $ab (call $qjs_get_typed_array_buffer (local.get $h)
              (i32.add (local.get $slot) (i32.const 8))    ;; byte offset (temporarily)
              (i32.add (local.get $slot) (i32.const 4))    ;; byte length
              (i32.add (local.get $slot) (i32.const 12)))) ;; bytes per element (scratch)
            (if (call $qjs_is_exception (local.get $ab))
              (then (call $qjs_free_value (local.get $ab)) (i32.store offset=8 (local.get $slot) (i32.const 0))
                    (return (i32.const 0))))
            (local.set $p (call $qjs_get_array_buffer (local.get $ab) (local.get $slot)))
            (i32.store (local.get $slot) (i32.add (local.get $p) (i32.load offset=8 (local.get $slot))))
            (i32.store offset=8 (local.get $slot) (i32.const 3))
            (i32.store offset=12 (local.get $slot) (local.get $ab))
            (return (i32.const 1))))))
    ;; strings (and anything else, through ToString)
    (local.set $p (call $qjs_get_string_len (local.get $h) (i32.add (local.get $slot) (i32.const 4))))
    (if (i32.eqz (local.get $p)) (then (return (i32.const 0))))
    (i32.store (local.get $slot) (local.get $p))
    (i32.store offset=8 (local.get $slot) (i32.const 1))
    (if (local.get $utf8) (then (call $wtf8_fix (local.get $p) (i32.load offset=4 (local.get $slot)))))
    (i32.const 1))

  (func $bytes_release (param $slot i32)
    (local $kind i32)
    (local.set $kind (i32.load offset=8 (local.get $slot)))
    (if (i32.eq (local.get $kind) (i32.const 1)) (then (call $qjs_free_cstring (i32.load (local.get $slot)))))
    (if (i32.eq (local.get $kind) (i32.const 2)) (then (call $free (i32.load (local.get $slot)))))
    (if (i32.eq (local.get $kind) (i32.const 3)) (then (call $qjs_free_value (i32.load offset=12 (local.get $slot)))))
    (i32.store offset=8 (local.get $slot) (i32.const 0)))

  (func $release_slots (param $frame i32) (param $n i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $bytes_release (i32.add (local.get $frame) (i32.shl (local.get $i) (i32.const 4))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; Flat string[] [k0, v0, k1, v1, ...] -> the ABI pairs format:
  ;; u32 count, count x (u32 keyLen, u32 valueLen), then key NUL value NUL for each pair.
  (func $pairs_in (param $h i32) (param $slot i32) (result i32)
    (local $lenh i32) (local $n i32) (local $np i32) (local $tmp i32) (local $i i32) (local $e i32)
    (local $p i32) (local $size i32) (local $buf i32) (local $w i32) (local $ok i32)
    ;; undefined / null: no pairs (the ABI's empty map is a zero count)
    (if (i32.or (call $qjs_is_undefined (local.get $h)) (call $qjs_is_null (local.get $h)))
      (then
        (local.set $buf (call $malloc (i32.const 4)))
        (i32.store (local.get $buf) (i32.const 0))
        (i32.store (local.get $slot) (local.get $buf))
        (i32.store offset=4 (local.get $slot) (i32.const 4))
        (i32.store offset=8 (local.get $slot) (i32.const 2))
        (return (i32.const 1))))
    (local.set $lenh (call $qjs_get_prop_string (local.get $h) (i32.add (global.get $consts) (i32.const 8))))
    ;; e.g. undefined.length: the TypeError stays pending and reaches the caller
    (if (call $qjs_is_exception (local.get $lenh)) (then (call $qjs_free_value (local.get $lenh)) (return (i32.const 0))))
    (local.set $n (call $arg_u32 (local.get $lenh)))
    (call $qjs_free_value (local.get $lenh))
    (local.set $np (i32.shr_u (i32.add (local.get $n) (i32.const 1)) (i32.const 1)))
    ;; tmp: (ptr, len) per element, 2*np elements (a missing last value is "")
    (local.set $tmp (call $malloc (i32.add (i32.shl (local.get $np) (i32.const 4)) (i32.const 8))))
    (memory.fill (local.get $tmp) (i32.const 0) (i32.add (i32.shl (local.get $np) (i32.const 4)) (i32.const 8)))
    (local.set $ok (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $e (call $qjs_get_prop_uint32 (local.get $h) (local.get $i)))
      (local.set $p (call $qjs_get_string_len (local.get $e)
        (i32.add (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 3))) (i32.const 4))))
      (call $qjs_free_value (local.get $e))
      (if (i32.eqz (local.get $p)) (then (local.set $ok (i32.const 0)) (br $done)))
      (i32.store (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 3))) (local.get $p))
      (local.set $size (i32.add (local.get $size) (i32.load offset=4 (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 3))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (if (local.get $ok)
      (then
        ;; header + data + one NUL per string
        (local.set $size (i32.add (local.get $size)
          (i32.add (i32.const 4) (i32.add (i32.shl (local.get $np) (i32.const 3)) (i32.shl (local.get $np) (i32.const 1))))))
        (local.set $buf (call $malloc (local.get $size)))
        (i32.store (local.get $buf) (local.get $np))
        (local.set $w (i32.add (i32.add (local.get $buf) (i32.const 4)) (i32.shl (local.get $np) (i32.const 3))))
        (local.set $i (i32.const 0))
        (block $done2 (loop $next2
          (br_if $done2 (i32.ge_u (local.get $i) (i32.shl (local.get $np) (i32.const 1))))
          (local.set $e (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 3))))
          (i32.store (i32.add (i32.add (local.get $buf) (i32.const 4)) (i32.shl (local.get $i) (i32.const 2)))
                     (i32.load offset=4 (local.get $e)))
          (memory.copy (local.get $w) (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
          (local.set $w (i32.add (local.get $w) (i32.load offset=4 (local.get $e))))
          (i32.store8 (local.get $w) (i32.const 0))
          (local.set $w (i32.add (local.get $w) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next2)))
        (i32.store (local.get $slot) (local.get $buf))
        (i32.store offset=4 (local.get $slot) (local.get $size))
        (i32.store offset=8 (local.get $slot) (i32.const 2))))
    ;; free the C strings
    (local.set $i (i32.const 0))
    (block $done3 (loop $next3
      (br_if $done3 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (i32.load (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 3)))))
      (if (local.get $p) (then (call $qjs_free_cstring (local.get $p))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next3)))
    (call $free (local.get $tmp))
    (local.get $ok))

  ;; ---- results: host-allocated buffers (proxy_on_memory_allocate = malloc) are freed here ----
  (func $out_str (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $v i32)
    (if (local.get $st) (then (return (call $num_u32 (local.get $st)))))
    (local.set $p (i32.load (local.get $slot)))
    (local.set $v (call $qjs_new_string (select (local.get $p) (local.get $slot) (local.get $p))
                                        (i32.load offset=4 (local.get $slot))))
    (if (local.get $p) (then (call $free (local.get $p))))
    (local.get $v))
  (func $out_bytes (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $v i32)
    (if (local.get $st) (then (return (call $num_u32 (local.get $st)))))
    (local.set $p (i32.load (local.get $slot)))
    (local.set $v (call $qjs_new_array_buffer (select (local.get $p) (local.get $slot) (local.get $p))
                                              (i32.load offset=4 (local.get $slot))))
    (if (local.get $p) (then (call $free (local.get $p))))
    (local.get $v))
  (func $out_u32 (param $st i32) (param $slot i32) (result i32)
    (if (local.get $st) (then (return (call $num_neg_status (local.get $st)))))
    (call $num_u32 (i32.load (local.get $slot))))
  (func $out_u64 (param $st i32) (param $slot i32) (result i32)
    (if (local.get $st) (then (return (call $num_neg_status (local.get $st)))))
    (call $num (f64.convert_i64_u (i64.load (local.get $slot)))))
  ;; Returned bytes holding a little-endian u64 (int64 properties: times, durations) -> a number.
  (func $out_u64le (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $v f64)
    (if (local.get $st) (then (return (call $num_neg_status (local.get $st)))))
    (local.set $p (i32.load (local.get $slot)))
    (if (i32.ne (i32.load offset=4 (local.get $slot)) (i32.const 8))
      (then
        (if (local.get $p) (then (call $free (local.get $p))))
        (return (call $num_neg_status (i32.const 3)))))
    (local.set $v (f64.convert_i64_u (i64.load (local.get $p))))
    (call $free (local.get $p))
    (call $num (local.get $v)))
  ;; Returned bytes holding a u64 timestamp (ns since the epoch) -> the ns elapsed since it, by the
  ;; host clock read here (one crossing for both; 0 when the clock is behind). A zero timestamp is
  ;; unset: -NotFound.
  (func $out_u64le_age (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $then i64) (local $age i64)
    (if (local.get $st) (then (return (call $num_neg_status (local.get $st)))))
    (local.set $p (i32.load (local.get $slot)))
    (if (i32.ne (i32.load offset=4 (local.get $slot)) (i32.const 8))
      (then
        (if (local.get $p) (then (call $free (local.get $p))))
        (return (call $num_neg_status (i32.const 3)))))
    (local.set $then (i64.load (local.get $p)))
    (call $free (local.get $p))
    (if (i64.eqz (local.get $then)) (then (return (call $num_neg_status (i32.const 1)))))
    ;; the slot (16 bytes) is free again: the clock writes its u64 there
    (local.set $st (call $proxy_get_current_time_nanoseconds (local.get $slot)))
    (if (local.get $st) (then (return (call $num_neg_status (local.get $st)))))
    (local.set $age (i64.sub (i64.load (local.get $slot)) (local.get $then)))
    (call $num (f64.convert_i64_s (select (local.get $age) (i64.const 0) (i64.gt_s (local.get $age) (i64.const 0))))))
  (func $out_bytes_cas (param $st i32) (param $slot i32) (result i32)
    (local $arr i32) (local $v i32)
    (if (local.get $st) (then (return (call $num_u32 (local.get $st)))))
    (local.set $arr (call $qjs_new_array))
    (local.set $v (call $out_bytes (i32.const 0) (local.get $slot)))
    (drop (call $qjs_set_prop_uint32 (local.get $arr) (i32.const 0) (local.get $v)))
    (call $qjs_free_value (local.get $v))
    (local.set $v (call $num_u32 (i32.load offset=8 (local.get $slot))))
    (drop (call $qjs_set_prop_uint32 (local.get $arr) (i32.const 1) (local.get $v)))
    (call $qjs_free_value (local.get $v))
    (local.get $arr))
  ;; The ABI pairs format -> a flat JS string[].
  (func $out_pairs (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $n i32) (local $i i32) (local $r i32) (local $arr i32) (local $v i32) (local $len i32) (local $end i32)
    (if (local.get $st) (then (return (call $num_u32 (local.get $st)))))
    (local.set $arr (call $qjs_new_array))
    (local.set $p (i32.load (local.get $slot)))
    (if (i32.eqz (local.get $p)) (then (return (local.get $arr))))
    (local.set $end (i32.add (local.get $p) (i32.load offset=4 (local.get $slot))))
    ;; bounds-checked against the buffer's length: malformed host data ends the list, never traps
    (if (i32.ge_u (i32.load offset=4 (local.get $slot)) (i32.const 4))
      (then
        (local.set $n (i32.load (local.get $p)))
        (if (i32.gt_u (local.get $n) (i32.shr_u (i32.load offset=4 (local.get $slot)) (i32.const 3)))
          (then (local.set $n (i32.const 0))))
        (local.set $n (i32.shl (local.get $n) (i32.const 1)))
        (local.set $r (i32.add (i32.add (local.get $p) (i32.const 4)) (i32.shl (local.get $n) (i32.const 2))))
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $len (i32.load (i32.add (i32.add (local.get $p) (i32.const 4)) (i32.shl (local.get $i) (i32.const 2)))))
          (br_if $done (i64.gt_u (i64.add (i64.extend_i32_u (local.get $r)) (i64.extend_i32_u (local.get $len)))
                                 (i64.extend_i32_u (local.get $end))))
          (local.set $v (call $qjs_new_string (local.get $r) (local.get $len)))
          (drop (call $qjs_set_prop_uint32 (local.get $arr) (local.get $i) (local.get $v)))
          (call $qjs_free_value (local.get $v))
          (local.set $r (i32.add (local.get $r) (i32.add (local.get $len) (i32.const 1))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))))
    (call $free (local.get $p))
    (local.get $arr))

  ;; ---- logging of JS errors (last line of defence: the SDK dispatcher catches first) ----
  ;; Logs "<prefix><String(value)>\n<value.stack>" at error level. Does not free $v.
  (func $log_js_value (param $prefix i32) (param $plen i32) (param $v i32)
    (local $frame i32) (local $msg i32) (local $st i32) (local $stack i32) (local $buf i32) (local $len i32)
    (local.set $frame (call $frame_push (i32.const 16)))
    (local.set $msg (call $qjs_get_string_len (local.get $v) (local.get $frame)))
    (if (i32.eqz (local.get $msg))
      (then
        ;; String(value) threw: drop that exception and log a fixed text
        (call $qjs_free_value (call $qjs_get_exception))
        (i32.store (local.get $frame) (i32.const 0))))
    (if (call $qjs_is_object (local.get $v))
      (then
        (local.set $st (call $qjs_get_prop_string (local.get $v) (global.get $consts)))
        (if (call $qjs_is_exception (local.get $st))
          (then (call $qjs_free_value (call $qjs_get_exception)))
          (else
            (if (call $qjs_is_string (local.get $st))
              (then (local.set $stack (call $qjs_get_string_len (local.get $st) (i32.add (local.get $frame) (i32.const 4))))))))
        (call $qjs_free_value (local.get $st))))
    (if (i32.eqz (local.get $stack)) (then (i32.store offset=4 (local.get $frame) (i32.const 0))))
    ;; QuickJS ends stacks with a newline: drop it
    (if (i32.and (i32.ne (local.get $stack) (i32.const 0)) (i32.ne (i32.load offset=4 (local.get $frame)) (i32.const 0)))
      (then
        (if (i32.eq (i32.load8_u (i32.sub (i32.add (local.get $stack) (i32.load offset=4 (local.get $frame))) (i32.const 1))) (i32.const 10))
          (then (i32.store offset=4 (local.get $frame) (i32.sub (i32.load offset=4 (local.get $frame)) (i32.const 1)))))))
    (local.set $len (i32.add (i32.add (local.get $plen) (i32.load (local.get $frame)))
                             (i32.add (i32.load offset=4 (local.get $frame)) (i32.const 1))))
    (local.set $buf (call $malloc (local.get $len)))
    (memory.copy (local.get $buf) (local.get $prefix) (local.get $plen))
    (if (local.get $msg)
      (then (memory.copy (i32.add (local.get $buf) (local.get $plen)) (local.get $msg) (i32.load (local.get $frame)))))
    (i32.store8 (i32.add (i32.add (local.get $buf) (local.get $plen)) (i32.load (local.get $frame))) (i32.const 10))
    (if (local.get $stack)
      (then (memory.copy (i32.add (i32.add (i32.add (local.get $buf) (local.get $plen)) (i32.load (local.get $frame))) (i32.const 1))
                         (local.get $stack) (i32.load offset=4 (local.get $frame)))))
    (drop (call $proxy_log (i32.const 4) (local.get $buf)
      ;; no stack: drop the trailing newline
      (select (local.get $len) (i32.sub (local.get $len) (i32.const 1)) (local.get $stack))))
    (call $free (local.get $buf))
    (if (local.get $msg) (then (call $qjs_free_cstring (local.get $msg))))
    (if (local.get $stack) (then (call $qjs_free_cstring (local.get $stack))))
    (call $frame_pop (i32.const 16)))

  (func $log_pending_exception
    (local $e i32)
    (local.set $e (call $qjs_get_exception))
    (call $log_js_value (i32.add (global.get $consts) (i32.const 16)) (global.get $uncaught_len) (local.get $e))
    (call $qjs_free_value (local.get $e)))

  ;; Promise jobs (async code such as the Smithy signer) run to completion after every callback.
  (func $drain_jobs
    (local $r i32)
    (block $done (loop $next
      (local.set $r (call $qjs_execute_pending_job))
      (br_if $done (i32.eqz (local.get $r)))
      (if (i32.lt_s (local.get $r) (i32.const 0)) (then (call $log_pending_exception)))
      (br $next))))

  ;; Calls the registered JS callback $idx with $n number arguments.
  (func $invoke (param $idx i32) (param $n i32) (param $a0 i32) (param $a1 i32) (param $a2 i32)
                (param $a3 i32) (param $a4 i32) (param $fallback i32) (result i32)
    (local $frame i32) (local $r i32) (local $res i32) (local $i i32) (local $fn i32)
    (local.set $fn (i32.load (i32.add (global.get $cb_table) (i32.shl (local.get $idx) (i32.const 2)))))
    (if (i32.eqz (local.get $fn)) (then (return (local.get $fallback))))
    (local.set $frame (call $frame_push (i32.const 32)))
    (if (i32.gt_u (local.get $n) (i32.const 0)) (then (i32.store offset=0 (local.get $frame) (call $num_u32 (local.get $a0)))))
    (if (i32.gt_u (local.get $n) (i32.const 1)) (then (i32.store offset=4 (local.get $frame) (call $num_u32 (local.get $a1)))))
    (if (i32.gt_u (local.get $n) (i32.const 2)) (then (i32.store offset=8 (local.get $frame) (call $num_u32 (local.get $a2)))))
    (if (i32.gt_u (local.get $n) (i32.const 3)) (then (i32.store offset=12 (local.get $frame) (call $num_u32 (local.get $a3)))))
    (if (i32.gt_u (local.get $n) (i32.const 4)) (then (i32.store offset=16 (local.get $frame) (call $num_u32 (local.get $a4)))))
    (local.set $r (call $qjs_call (local.get $fn) (global.get $undefined) (local.get $n) (local.get $frame)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $qjs_free_value (i32.load (i32.add (local.get $frame) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (if (call $qjs_is_exception (local.get $r))
      (then (call $log_pending_exception) (local.set $res (local.get $fallback)))
      (else (local.set $res (i32.trunc_sat_f64_s (call $qjs_get_float64 (local.get $r))))))
    (call $qjs_free_value (local.get $r))
    (call $drain_jobs)
    (call $report_rejections)
    (call $frame_pop (i32.const 32))
    (local.get $res))

  ;; registerCallbacks(fns: Function[] in CALLBACKS order, rootMask: number[, httpMask: number])
  ;; Without httpMask, every context uses rootMask.
  (func $prim_registerCallbacks (param $argc i32) (param $argv i32) (result i32)
    (local $i i32) (local $slot i32) (local $old i32)
    (if (i32.lt_u (local.get $argc) (i32.const 2)) (then (return (call $num_u32 (i32.const 2)))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (global.get $callback_count)))
      (local.set $slot (i32.add (global.get $cb_table) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $old (i32.load (local.get $slot)))
      (if (local.get $old) (then (call $qjs_free_value (local.get $old))))
      (i32.store (local.get $slot) (call $qjs_get_prop_uint32 (i32.load (local.get $argv)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $set_masks (i32.sub (local.get $argc) (i32.const 1)) (i32.add (local.get $argv) (i32.const 4))))

  ;; setCallbackMasks(rootMask: number[, httpMask: number]): the dispatcher changed what it needs
  ;; (e.g. a second root context ended its stateless HTTP mode)
  (func $prim_setCallbackMasks (param $argc i32) (param $argv i32) (result i32)
    (if (i32.lt_u (local.get $argc) (i32.const 1)) (then (return (call $num_u32 (i32.const 2)))))
    (call $set_masks (local.get $argc) (local.get $argv)))

  (func $set_masks (param $argc i32) (param $argv i32) (result i32)
    (global.set $mask_root (call $arg_u32 (i32.load (local.get $argv))))
    (global.set $mask_http
      (select (call $arg_u32 (i32.load offset=4 (local.get $argv))) (global.get $mask_root)
              (i32.ge_u (local.get $argc) (i32.const 2))))
    (call $num_u32 (i32.const 0)))

  ;; ---- root context ids: which mask a callback's context uses ----
  (func $is_root (param $id i32) (result i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (global.get $root_count)))
      (if (i32.eq (i32.load (i32.add (global.get $roots) (i32.shl (local.get $i) (i32.const 2)))) (local.get $id))
        (then (return (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 0))
  (func $add_root (param $id i32)
    (if (call $is_root (local.get $id)) (then (return)))
    (if (i32.ge_u (global.get $root_count) (global.get $root_capacity))
      (then (global.set $roots_overflow (i32.const 1)) (return)))
    (i32.store (i32.add (global.get $roots) (i32.shl (global.get $root_count) (i32.const 2))) (local.get $id))
    (global.set $root_count (i32.add (global.get $root_count) (i32.const 1))))
  (func $remove_root (param $id i32)
    (local $i i32) (local $at i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (global.get $root_count)))
      (local.set $at (i32.add (global.get $roots) (i32.shl (local.get $i) (i32.const 2))))
      (if (i32.eq (i32.load (local.get $at)) (local.get $id))
        (then
          ;; move the last id into this entry
          (global.set $root_count (i32.sub (global.get $root_count) (i32.const 1)))
          (i32.store (local.get $at) (i32.load (i32.add (global.get $roots) (i32.shl (global.get $root_count) (i32.const 2)))))
          (return)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  ;; A root the list could not hold would look like a stream: past capacity, unknown contexts get
  ;; both masks (correct, only slower).
  (func $mask_for (param $id i32) (result i32)
    (if (call $is_root (local.get $id)) (then (return (global.get $mask_root))))
    (if (global.get $roots_overflow) (then (return (i32.or (global.get $mask_root) (global.get $mask_http)))))
    (global.get $mask_http))

  ;; randomBytes(length)
  (func $prim_randomBytes (param $argc i32) (param $argv i32) (result i32)
    (local $n i32) (local $buf i32) (local $v i32)
    (if (i32.lt_u (local.get $argc) (i32.const 1)) (then (return (call $num_u32 (i32.const 2)))))
    (local.set $n (call $arg_u32 (i32.load (local.get $argv))))
    (local.set $buf (call $malloc (i32.add (local.get $n) (i32.const 1))))
    (drop (call $wasi_random_get (local.get $buf) (local.get $n)))
    (local.set $v (call $qjs_new_array_buffer (local.get $buf) (local.get $n)))
    (call $free (local.get $buf))
    (local.get $v))

  ;; environ(): 'KEY=VALUE' strings read now through WASI (never frozen into the snapshot)
  (func $prim_environ (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $count i32) (local $size i32) (local $ptrs i32) (local $buf i32)
    (local $arr i32) (local $i i32) (local $s i32) (local $e i32) (local $v i32)
    (local.set $frame (call $frame_push (i32.const 16)))
    (local.set $arr (call $qjs_new_array))
    (if (i32.eqz (call $wasi_environ_sizes_get (local.get $frame) (i32.add (local.get $frame) (i32.const 4))))
      (then
        (local.set $count (i32.load (local.get $frame)))
        (local.set $size (i32.load offset=4 (local.get $frame)))
        (local.set $ptrs (call $malloc (i32.add (i32.shl (local.get $count) (i32.const 2)) (i32.const 4))))
        (local.set $buf (call $malloc (i32.add (local.get $size) (i32.const 1))))
        (if (i32.eqz (call $wasi_environ_get (local.get $ptrs) (local.get $buf)))
          (then
            (block $done (loop $next
              (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
              (local.set $s (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
              (local.set $e (local.get $s))
              (block $end (loop $scan
                (br_if $end (i32.eqz (i32.load8_u (local.get $e))))
                (local.set $e (i32.add (local.get $e) (i32.const 1)))
                (br $scan)))
              (local.set $v (call $qjs_new_string (local.get $s) (i32.sub (local.get $e) (local.get $s))))
              (drop (call $qjs_set_prop_uint32 (local.get $arr) (local.get $i) (local.get $v)))
              (call $qjs_free_value (local.get $v))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $next)))))
        ;; the environment may hold secrets: wipe the copy before freeing it
        (memory.fill (local.get $buf) (i32.const 0) (local.get $size))
        (call $free (local.get $buf))
        (call $free (local.get $ptrs))))
    (call $frame_pop (i32.const 16))
    (local.get $arr))

  ;; utf8Encode(text): ArrayBuffer of the UTF-8 bytes (lone surrogates -> U+FFFD)
  (func $prim_utf8Encode (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $v i32) (local $p i32)
    (if (i32.lt_u (local.get $argc) (i32.const 1)) (then (return (call $qjs_new_array_buffer (i32.const 0) (i32.const 0)))))
    (local.set $frame (call $frame_push (i32.const 16)))
    (local.set $p (call $qjs_get_string_len (i32.load (local.get $argv)) (local.get $frame)))
    (if (i32.eqz (local.get $p)) (then (call $frame_pop (i32.const 16)) (return (i32.const 0))))
    (call $wtf8_fix (local.get $p) (i32.load (local.get $frame)))
    (local.set $v (call $qjs_new_array_buffer (local.get $p) (i32.load (local.get $frame))))
    (call $qjs_free_cstring (local.get $p))
    (call $frame_pop (i32.const 16))
    (local.get $v))

  ;; utf8Decode(buffer, offset, length): string (invalid sequences -> U+FFFD, via utf8.wat)
  (func $prim_utf8Decode (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $p i32) (local $off i32) (local $len i32) (local $total i32) (local $v i32)
    (if (i32.lt_u (local.get $argc) (i32.const 1)) (then (return (call $qjs_new_string (i32.const 0) (i32.const 0)))))
    (local.set $frame (call $frame_push (i32.const 16)))
    (if (i32.eqz (call $bytes_in (i32.load (local.get $argv)) (local.get $frame) (i32.const 0)))
      (then (call $frame_pop (i32.const 16)) (return (i32.const 0))))
    (local.set $p (i32.load (local.get $frame)))
    (local.set $total (i32.load offset=4 (local.get $frame)))
    (if (i32.ge_u (local.get $argc) (i32.const 2))
      (then (local.set $off (call $arg_u32 (i32.load offset=4 (local.get $argv))))))
    (if (i32.gt_u (local.get $off) (local.get $total)) (then (local.set $off (local.get $total))))
    (local.set $len (i32.sub (local.get $total) (local.get $off)))
    (if (i32.ge_u (local.get $argc) (i32.const 3))
      (then
        (local.set $v (call $arg_u32 (i32.load offset=8 (local.get $argv))))
        (if (i32.lt_u (local.get $v) (local.get $len)) (then (local.set $len (local.get $v))))))
    (local.set $v (call $utf8_to_js (i32.add (local.get $p) (local.get $off)) (local.get $len)))
    (call $bytes_release (local.get $frame))
    (call $frame_pop (i32.const 16))
    (local.get $v))

  ;; sha256(data): 32-byte ArrayBuffer; strings hashed as UTF-8, buffers in place
  (func $prim_sha256 (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $v i32)
    (local.set $frame (call $frame_push (i32.const 48)))
    (if (i32.ge_u (local.get $argc) (i32.const 1))
      (then
        (if (i32.eqz (call $bytes_in (i32.load (local.get $argv)) (local.get $frame) (i32.const 1)))
          (then (call $frame_pop (i32.const 48)) (return (i32.const 0))))))
    (call $sha256 (i32.load (local.get $frame)) (i32.load offset=4 (local.get $frame)) (i32.add (local.get $frame) (i32.const 16)))
    (call $bytes_release (local.get $frame))
    (local.set $v (call $qjs_new_array_buffer (i32.add (local.get $frame) (i32.const 16)) (i32.const 32)))
    (call $frame_pop (i32.const 48))
    (local.get $v))

  ;; ---- engine imports (env.host_*) satisfied inside the module ----
  (func (export "host_interrupt") (result i32) (i32.const 0))
  (func (export "host_get_timezone_offset") (param i32 i32) (result i32) (i32.const 0))
  ;; Modules are bundled: nothing to resolve at run time. NULL makes QuickJS throw a clean error.
  (func (export "host_module_normalize") (param i32 i32) (result i32) (i32.const 0))
  (func (export "host_module_load") (param i32 i32) (result i32) (i32.const 0))
  ;; QuickJS reports a rejection as soon as it happens with no handler yet, and again (handled=1)
  ;; if a handler comes later in the same turn (e.g. `const p = f(); await x; await p`). So
  ;; rejections are parked here and only those still unhandled after the job queue drained are
  ;; logged (by $report_rejections, from $invoke). Table: $rejections, 8 bytes per entry
  ;; (promise handle, reason handle); beyond its capacity a rejection is logged at once.
  (func (export "host_promise_rejection") (param $promise i32) (param $reason i32) (param $handled i32)
    (local $i i32) (local $e i32)
    (if (local.get $handled)
      (then
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (global.get $rejection_count)))
          (local.set $e (i32.add (global.get $rejections) (i32.shl (local.get $i) (i32.const 3))))
          (if (i64.eq (i64.load (i32.load (local.get $e))) (i64.load (local.get $promise)))
            (then
              (call $qjs_free_value (i32.load (local.get $e)))
              (call $qjs_free_value (i32.load offset=4 (local.get $e)))
              ;; move the last entry into this one
              (global.set $rejection_count (i32.sub (global.get $rejection_count) (i32.const 1)))
              (i64.store (local.get $e) (i64.load (i32.add (global.get $rejections) (i32.shl (global.get $rejection_count) (i32.const 3)))))
              (br $done)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
        (call $qjs_free_value (local.get $promise))
        (call $qjs_free_value (local.get $reason))
        (return)))
    (if (i32.lt_u (global.get $rejection_count) (global.get $rejection_capacity))
      (then
        (local.set $e (i32.add (global.get $rejections) (i32.shl (global.get $rejection_count) (i32.const 3))))
        (i32.store (local.get $e) (local.get $promise))
        (i32.store offset=4 (local.get $e) (local.get $reason))
        (global.set $rejection_count (i32.add (global.get $rejection_count) (i32.const 1)))
        (return)))
    (call $log_js_value (i32.add (global.get $consts) (i32.const 64)) (global.get $rejection_len) (local.get $reason))
    (call $qjs_free_value (local.get $promise))
    (call $qjs_free_value (local.get $reason)))

  (func $report_rejections
    (local $e i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (global.get $rejection_count)))
      (global.set $rejection_count (i32.sub (global.get $rejection_count) (i32.const 1)))
      (local.set $e (i32.add (global.get $rejections) (i32.shl (global.get $rejection_count) (i32.const 3))))
      (call $log_js_value (i32.add (global.get $consts) (i32.const 64)) (global.get $rejection_len) (i32.load offset=4 (local.get $e)))
      (call $qjs_free_value (i32.load (local.get $e)))
      (call $qjs_free_value (i32.load offset=4 (local.get $e)))
      (br $next))))

  ;; ---- proxy-wasm ABI exports ----
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32) (call $malloc (local.get $size)))
