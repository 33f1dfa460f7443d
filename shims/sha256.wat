  ;; ---- sha256.wat: FIPS 180-4 SHA-256 over linear memory, at Wasm speed ----
  ;; The round constants K live at $consts + 128 (written by $bridge_init).

  (func $bswap (param $x i32) (result i32)
    (i32.or (i32.and (i32.rotl (local.get $x) (i32.const 8)) (i32.const 0x00FF00FF))
            (i32.and (i32.rotr (local.get $x) (i32.const 8)) (i32.const 0xFF00FF00))))

  ;; One 64-byte block at $blk into the state at $st (8 words), W scratch at $w (256 bytes).
  (func $sha256_block (param $st i32) (param $blk i32) (param $w i32)
    (local $i i32) (local $t1 i32) (local $t2 i32) (local $x i32) (local $y i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32) (local $k i32)
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (i32.const 64)))
      (i32.store (i32.add (local.get $w) (local.get $i))
        (call $bswap (i32.load (i32.add (local.get $blk) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l1)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (i32.const 256)))
      (local.set $x (i32.load (i32.sub (i32.add (local.get $w) (local.get $i)) (i32.const 60))))  ;; w[t-15]
      (local.set $y (i32.load (i32.sub (i32.add (local.get $w) (local.get $i)) (i32.const 8))))   ;; w[t-2]
      (i32.store (i32.add (local.get $w) (local.get $i))
        (i32.add
          (i32.add
            (i32.xor (i32.xor (i32.rotr (local.get $y) (i32.const 17)) (i32.rotr (local.get $y) (i32.const 19)))
                     (i32.shr_u (local.get $y) (i32.const 10)))
            (i32.load (i32.sub (i32.add (local.get $w) (local.get $i)) (i32.const 28))))           ;; w[t-7]
          (i32.add
            (i32.xor (i32.xor (i32.rotr (local.get $x) (i32.const 7)) (i32.rotr (local.get $x) (i32.const 18)))
                     (i32.shr_u (local.get $x) (i32.const 3)))
            (i32.load (i32.sub (i32.add (local.get $w) (local.get $i)) (i32.const 64))))))        ;; w[t-16]
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l2)))
    (local.set $a (i32.load offset=0 (local.get $st)))
    (local.set $b (i32.load offset=4 (local.get $st)))
    (local.set $c (i32.load offset=8 (local.get $st)))
    (local.set $d (i32.load offset=12 (local.get $st)))
    (local.set $e (i32.load offset=16 (local.get $st)))
    (local.set $f (i32.load offset=20 (local.get $st)))
    (local.set $g (i32.load offset=24 (local.get $st)))
    (local.set $h (i32.load offset=28 (local.get $st)))
    (local.set $k (i32.add (global.get $consts) (i32.const 128)))
    (local.set $i (i32.const 0))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (i32.const 256)))
      (local.set $t1
        (i32.add
          (i32.add (local.get $h)
            (i32.xor (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                     (i32.rotr (local.get $e) (i32.const 25))))
          (i32.add
            (i32.xor (i32.and (local.get $e) (local.get $f))
                     (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g)))
            (i32.add (i32.load (i32.add (local.get $k) (local.get $i)))
                     (i32.load (i32.add (local.get $w) (local.get $i)))))))
      (local.set $t2
        (i32.add
          (i32.xor (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
                   (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
                   (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l3)))
    (i32.store offset=0 (local.get $st) (i32.add (i32.load offset=0 (local.get $st)) (local.get $a)))
    (i32.store offset=4 (local.get $st) (i32.add (i32.load offset=4 (local.get $st)) (local.get $b)))
    (i32.store offset=8 (local.get $st) (i32.add (i32.load offset=8 (local.get $st)) (local.get $c)))
    (i32.store offset=12 (local.get $st) (i32.add (i32.load offset=12 (local.get $st)) (local.get $d)))
    (i32.store offset=16 (local.get $st) (i32.add (i32.load offset=16 (local.get $st)) (local.get $e)))
    (i32.store offset=20 (local.get $st) (i32.add (i32.load offset=20 (local.get $st)) (local.get $f)))
    (i32.store offset=24 (local.get $st) (i32.add (i32.load offset=24 (local.get $st)) (local.get $g)))
    (i32.store offset=28 (local.get $st) (i32.add (i32.load offset=28 (local.get $st)) (local.get $h))))

  ;; SHA-256 of $len bytes at $p; the 32-byte digest goes to $out.
  (func $sha256 (param $p i32) (param $len i32) (param $out i32)
    (local $frame i32) (local $st i32) (local $w i32) (local $tail i32) (local $off i32) (local $rem i32)
    (local $blocks i32) (local $i i32)
    ;; frame: state 32 | W 256 | tail 128
    (local.set $frame (call $frame_push (i32.const 416)))
    (local.set $st (local.get $frame))
    (local.set $w (i32.add (local.get $frame) (i32.const 32)))
    (local.set $tail (i32.add (local.get $frame) (i32.const 288)))
    (i32.store offset=0 (local.get $st) (i32.const 0x6a09e667))
    (i32.store offset=4 (local.get $st) (i32.const 0xbb67ae85))
    (i32.store offset=8 (local.get $st) (i32.const 0x3c6ef372))
    (i32.store offset=12 (local.get $st) (i32.const 0xa54ff53a))
    (i32.store offset=16 (local.get $st) (i32.const 0x510e527f))
    (i32.store offset=20 (local.get $st) (i32.const 0x9b05688c))
    (i32.store offset=24 (local.get $st) (i32.const 0x1f83d9ab))
    (i32.store offset=28 (local.get $st) (i32.const 0x5be0cd19))
    (local.set $rem (i32.and (local.get $len) (i32.const 63)))
    (local.set $blocks (i32.sub (local.get $len) (local.get $rem)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $off) (local.get $blocks)))
      (call $sha256_block (local.get $st) (i32.add (local.get $p) (local.get $off)) (local.get $w))
      (local.set $off (i32.add (local.get $off) (i32.const 64)))
      (br $next)))
    ;; padding: 0x80, zeros, 64-bit big-endian bit length; one or two blocks
    (memory.copy (local.get $tail) (i32.add (local.get $p) (local.get $off)) (local.get $rem))
    (i32.store8 (i32.add (local.get $tail) (local.get $rem)) (i32.const 0x80))
    (local.set $i (select (i32.const 128) (i32.const 64) (i32.ge_u (local.get $rem) (i32.const 56))))
    (i64.store (i32.sub (i32.add (local.get $tail) (local.get $i)) (i32.const 8))
      (i64.or
        (i64.shl (i64.extend_i32_u (call $bswap (i32.shl (local.get $len) (i32.const 3)))) (i64.const 32))
        (i64.extend_i32_u (call $bswap (i32.shr_u (local.get $len) (i32.const 29))))))
    (call $sha256_block (local.get $st) (local.get $tail) (local.get $w))
    (if (i32.eq (local.get $i) (i32.const 128))
      (then (call $sha256_block (local.get $st) (i32.add (local.get $tail) (i32.const 64)) (local.get $w))))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (i32.const 32)))
      (i32.store (i32.add (local.get $out) (local.get $i)) (call $bswap (i32.load (i32.add (local.get $st) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l2)))
    (call $frame_pop (i32.const 416)))
