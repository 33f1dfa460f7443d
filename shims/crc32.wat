  ;; ---- crc32.wat: CRC-32 (ISO-HDLC, the one gzip's trailer carries), at Wasm speed ----
  ;; Table-driven, one byte per step. The 1 KiB table is built on first use (not at build time,
  ;; so the bridge's init and the snapshot stay as they are); $crc32_table 0 = not built yet.

  (global $crc32_table (mut i32) (i32.const 0))

  (func $crc32_build_table
    (local $n i32) (local $c i32) (local $k i32) (local $t i32)
    (local.set $t (call $malloc (i32.const 1024)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $n) (i32.const 256)))
      (local.set $c (local.get $n))
      (local.set $k (i32.const 0))
      (block $bits_done (loop $bits
        (br_if $bits_done (i32.ge_u (local.get $k) (i32.const 8)))
        (local.set $c
          (if (result i32) (i32.and (local.get $c) (i32.const 1))
            (then (i32.xor (i32.const 0xEDB88320) (i32.shr_u (local.get $c) (i32.const 1))))
            (else (i32.shr_u (local.get $c) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $bits)))
      (i32.store (i32.add (local.get $t) (i32.shl (local.get $n) (i32.const 2))) (local.get $c))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (global.set $crc32_table (local.get $t)))

  ;; CRC-32 of $len bytes at $p, continuing from $crc (0 for a fresh one).
  (func $crc32 (param $p i32) (param $len i32) (param $crc i32) (result i32)
    (local $end i32) (local $c i32) (local $t i32)
    (if (i32.eqz (global.get $crc32_table)) (then (call $crc32_build_table)))
    (local.set $t (global.get $crc32_table))
    (local.set $c (i32.xor (local.get $crc) (i32.const -1)))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $c
        (i32.xor
          (i32.load (i32.add (local.get $t)
            (i32.shl (i32.and (i32.xor (local.get $c) (i32.load8_u (local.get $p))) (i32.const 0xFF)) (i32.const 2))))
          (i32.shr_u (local.get $c) (i32.const 8))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next)))
    (i32.xor (local.get $c) (i32.const -1)))

  ;; crc32(data): the CRC-32 as an unsigned number; strings as UTF-8, buffers in place
  (func $prim_crc32 (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $crc i32)
    (local.set $frame (call $frame_push (i32.const 16)))
    (if (i32.ge_u (local.get $argc) (i32.const 1))
      (then
        (if (i32.eqz (call $bytes_in (i32.load (local.get $argv)) (local.get $frame) (i32.const 1)))
          (then (call $frame_pop (i32.const 16)) (return (i32.const 0))))))
    (local.set $crc (call $crc32 (i32.load (local.get $frame)) (i32.load offset=4 (local.get $frame)) (i32.const 0)))
    (call $bytes_release (local.get $frame))
    (call $frame_pop (i32.const 16))
    (call $qjs_new_number (f64.convert_i32_u (local.get $crc))))
