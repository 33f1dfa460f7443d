  ;; ---- utf8.wat: UTF-8 -> JS string with WHATWG TextDecoder replacement semantics ----
  ;; QuickJS's own decoder differs on truncated sequences and encoded surrogates, so invalid
  ;; input is first rewritten with U+FFFD per maximal invalid subpart (Encoding Standard).

  ;; With $out = 0: returns 0 if valid, -1 at the first error. Otherwise writes the repaired
  ;; bytes to $out and returns their length.
  (func $utf8_repair (param $p i32) (param $len i32) (param $out i32) (result i32)
    (local $i i32) (local $b i32) (local $need i32) (local $lo i32) (local $hi i32) (local $k i32)
    (local $c i32) (local $w i32) (local $bad i32)
    (local.set $w (local.get $out))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $b (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $need (i32.const -1))
      (local.set $lo (i32.const 0x80)) (local.set $hi (i32.const 0xBF))
      (if (i32.lt_u (local.get $b) (i32.const 0x80)) (then (local.set $need (i32.const 0))))
      (if (i32.and (i32.ge_u (local.get $b) (i32.const 0xC2)) (i32.le_u (local.get $b) (i32.const 0xDF)))
        (then (local.set $need (i32.const 1))))
      (if (i32.and (i32.ge_u (local.get $b) (i32.const 0xE0)) (i32.le_u (local.get $b) (i32.const 0xEF)))
        (then (local.set $need (i32.const 2))
          (if (i32.eq (local.get $b) (i32.const 0xE0)) (then (local.set $lo (i32.const 0xA0))))
          (if (i32.eq (local.get $b) (i32.const 0xED)) (then (local.set $hi (i32.const 0x9F))))))
      (if (i32.and (i32.ge_u (local.get $b) (i32.const 0xF0)) (i32.le_u (local.get $b) (i32.const 0xF4)))
        (then (local.set $need (i32.const 3))
          (if (i32.eq (local.get $b) (i32.const 0xF0)) (then (local.set $lo (i32.const 0x90))))
          (if (i32.eq (local.get $b) (i32.const 0xF4)) (then (local.set $hi (i32.const 0x8F))))))
      (local.set $bad (i32.const 0))
      (if (i32.lt_s (local.get $need) (i32.const 0))
        (then (local.set $bad (i32.const 1)) (local.set $k (i32.const 1)))
        (else
          (local.set $k (i32.const 1))
          (block $seq_end (loop $seq
            (br_if $seq_end (i32.gt_u (local.get $k) (local.get $need)))
            (if (i32.ge_u (i32.add (local.get $i) (local.get $k)) (local.get $len))
              (then (local.set $bad (i32.const 1)) (br $seq_end)))
            (local.set $c (i32.load8_u (i32.add (local.get $p) (i32.add (local.get $i) (local.get $k)))))
            (if (i32.or (i32.lt_u (local.get $c) (local.get $lo)) (i32.gt_u (local.get $c) (local.get $hi)))
              (then (local.set $bad (i32.const 1)) (br $seq_end)))
            (local.set $lo (i32.const 0x80)) (local.set $hi (i32.const 0xBF))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $seq)))))
      (if (local.get $bad)
        (then
          (if (i32.eqz (local.get $out)) (then (return (i32.const -1))))
          (i32.store8 (local.get $w) (i32.const 0xEF))
          (i32.store8 offset=1 (local.get $w) (i32.const 0xBF))
          (i32.store8 offset=2 (local.get $w) (i32.const 0xBD))
          (local.set $w (i32.add (local.get $w) (i32.const 3)))
          ;; consume the bytes before the offending one (at least one)
          (local.set $i (i32.add (local.get $i) (local.get $k))))
        (else
          (local.set $k (i32.add (local.get $need) (i32.const 1)))
          (if (local.get $out)
            (then
              (memory.copy (local.get $w) (i32.add (local.get $p) (local.get $i)) (local.get $k))
              (local.set $w (i32.add (local.get $w) (local.get $k)))))
          (local.set $i (i32.add (local.get $i) (local.get $k)))))
      (br $next)))
    (i32.sub (local.get $w) (local.get $out)))

  (func $utf8_to_js (param $p i32) (param $len i32) (result i32)
    (local $buf i32) (local $n i32) (local $v i32)
    (if (i32.eqz (call $utf8_repair (local.get $p) (local.get $len) (i32.const 0)))
      (then (return (call $qjs_new_string (local.get $p) (local.get $len)))))
    (local.set $buf (call $malloc (i32.add (i32.mul (local.get $len) (i32.const 3)) (i32.const 1))))
    (local.set $n (call $utf8_repair (local.get $p) (local.get $len) (local.get $buf)))
    (local.set $v (call $qjs_new_string (local.get $buf) (local.get $n)))
    (call $free (local.get $buf))
    (local.get $v))
