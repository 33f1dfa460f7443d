  ;; ---- capture.wat: log capture (values read at stream end, handed to JS in batches) ----
  ;; setLogCapture(query, batchRecords) stores a header query (table.ts 'header_query', with or
  ;; without its age entry). While one is set, proxy_on_log of a stream does not enter JS: the
  ;; bridge reads the query's values here and appends one record to $cap_buf; JS is entered (the
  ;; plugin's proxy_on_log callback) only when the batch holds batchRecords records or a record
  ;; does not fit. takeLogBatch() hands the batch over as one JS array and empties it:
;;   [0]: 1 if the record of the stream being logged is in it (or no stream is), 0 if it did
;;   not fit (the caller reads that one itself); then per record two elements: its key, the
;;   string of its header values (each followed by \00, \01 where absent), and its age (a
;;   number: the ns since the timestamp; undefined when absent or the query has no age entry).
;;   Made here, in Wasm, because in QuickJS every string a split or slice makes, and every
;;   method call, is interpreted work per record (measured: parsing a text batch in JS cost
;;   about as much as the aggregation).
;; In the buffer a record is its values, each followed by \00, \01 where absent (NotFound, or
;; any other failure); the age entry in decimal.
;; Header values never hold \00 or \01 (Envoy rejects control characters in headers).
;; A map the query names two or more headers of is read whole, in ONE proxy_get_header_map_pairs
;; call per log, and its entries are looked up in that answer: in Envoy each hostcall that
;; returns data is a Wasm->C++ crossing plus a call back into Wasm to allocate, which costs far
;; more than scanning a few dozen headers (the value is the first with that name, as
;; proxy_get_header_map_value's). Header names in the query are lowercased at setLogCapture.
  (global $cap_query (mut i32) (i32.const 0))
  (global $cap_query_len (mut i32) (i32.const 0))
  (global $cap_buf (mut i32) (i32.const 0))
  (global $cap_used (mut i32) (i32.const 2))
  (global $cap_count (mut i32) (i32.const 0))
  (global $cap_batch (mut i32) (i32.const 1))
  (global $cap_flag (mut i32) (i32.const 49))
  ;; A batch's bytes; a record longer than this goes through JS alone.
  (global $cap_size i32 (i32.const 32768))
  ;; Stream starts by the clock at each stream's proxy_on_context_create, when the age entry is
  ;; the stream's start (setLogCapture's third argument): 1024 slots of (i32 id, pad, i64 ns),
  ;; indexed by id & 1023. A log whose slot holds another id reads the property instead.
  (global $cap_starts (mut i32) (i32.const 0))
  (global $cap_from_start (mut i32) (i32.const 0))
  ;; Bit t: map type t is read whole (pairs); $cap_pairs_slots: 10 slots of (ptr, len, status).
  (global $cap_pairs_mask (mut i32) (i32.const 0))
  ;; Header entries of the query, and whether an age entry follows them (cap_scan_query).
  (global $cap_fields (mut i32) (i32.const 0))
  (global $cap_has_age (mut i32) (i32.const 0))
  (global $cap_pairs_slots (mut i32) (i32.const 0))

  ;; setLogCapture(query: string, batchRecords: number[, fromStart: number]): '' turns capture
  ;; off (after a takeLogBatch, or what is held is dropped). fromStart 1: the age entry's
  ;; timestamp is the stream's start (request.time): measured from the stream's context create
  ;; by the clock, sparing a property read per stream. Returns 0.
  (func $prim_setLogCapture (param $argc i32) (param $argv i32) (result i32)
    (local $frame i32) (local $len i32)
    (if (i32.lt_u (local.get $argc) (i32.const 2)) (then (return (call $num_u32 (i32.const 2)))))
    (local.set $frame (call $frame_push (i32.const 16)))
    (if (i32.eqz (call $bytes_in (i32.load (local.get $argv)) (local.get $frame) (i32.const 1)))
      (then (call $frame_pop (i32.const 16)) (return (i32.const 0))))
    (if (global.get $cap_query) (then (call $free (global.get $cap_query))))
    (global.set $cap_query (i32.const 0))
    (global.set $cap_pairs_mask (i32.const 0))
    (local.set $len (i32.load offset=4 (local.get $frame)))
    (global.set $cap_query_len (local.get $len))
    (if (local.get $len)
      (then
        (global.set $cap_query (call $malloc (local.get $len)))
        (memory.copy (global.get $cap_query) (i32.load (local.get $frame)) (local.get $len))
        (call $cap_scan_query)
        (if (i32.eqz (global.get $cap_buf)) (then (global.set $cap_buf (call $malloc (global.get $cap_size)))))))
    (call $bytes_release (local.get $frame))
    (call $frame_pop (i32.const 16))
    (global.set $cap_batch (select (call $arg_u32 (i32.load offset=4 (local.get $argv))) (i32.const 1)
      (i32.gt_u (call $arg_u32 (i32.load offset=4 (local.get $argv))) (i32.const 0))))
    (global.set $cap_used (i32.const 2))
    (global.set $cap_count (i32.const 0))
    (global.set $cap_flag (i32.const 49))
    (global.set $cap_from_start (i32.const 0))
    (if (i32.and (i32.gt_u (local.get $argc) (i32.const 2)) (i32.ne (local.get $len) (i32.const 0)))
      (then
        (global.set $cap_from_start (i32.ne (call $arg_u32 (i32.load offset=8 (local.get $argv))) (i32.const 0)))
        (if (i32.and (global.get $cap_from_start) (i32.eqz (global.get $cap_starts)))
          (then
            (global.set $cap_starts (call $malloc (i32.const 16384)))
            (memory.fill (global.get $cap_starts) (i32.const 0) (i32.const 16384))))))
    (call $num_u32 (i32.const 0)))

  ;; proxy_on_context_create of a stream while capturing from the start: its clock start.
  (func $cap_note_start (param $id i32)
    (local $slot i32)
    (if (i32.eqz (global.get $cap_from_start)) (then (return)))
    (local.set $slot (i32.add (global.get $cap_starts) (i32.shl (i32.and (local.get $id) (i32.const 1023)) (i32.const 4))))
    (i32.store (local.get $slot) (i32.const 0))
    (if (i32.eqz (call $proxy_get_current_time_nanoseconds (i32.add (local.get $slot) (i32.const 8))))
      (then (i32.store (local.get $slot) (local.get $id)))))
  ;; The start noted for stream $id (its slot emptied), or 0.
  (func $cap_start_of (param $id i32) (result i64)
    (local $slot i32)
    (if (i32.eqz (global.get $cap_from_start)) (then (return (i64.const 0))))
    (local.set $slot (i32.add (global.get $cap_starts) (i32.shl (i32.and (local.get $id) (i32.const 1023)) (i32.const 4))))
    (if (i32.ne (i32.load (local.get $slot)) (local.get $id)) (then (return (i64.const 0))))
    (i32.store (local.get $slot) (i32.const 0))
    (i64.load offset=8 (local.get $slot)))

  ;; takeLogBatch(): the batch as an array (see above), emptied. [] when capture is off.
  (func $prim_takeLogBatch (param $argc i32) (param $argv i32) (result i32)
    (local $arr i32) (local $i i32) (local $p i32) (local $end i32) (local $start i32) (local $k i32)
    (local $v i32) (local $age i64) (local $c i32)
    (local.set $arr (call $qjs_new_array))
    (if (i32.eqz (global.get $cap_buf)) (then (return (local.get $arr))))
    (call $cap_set (local.get $arr) (i32.const 0) (call $num_u32 (i32.eq (global.get $cap_flag) (i32.const 49))))
    (local.set $i (i32.const 1))
    (local.set $p (i32.add (global.get $cap_buf) (i32.const 2)))
    (local.set $end (i32.add (global.get $cap_buf) (global.get $cap_used)))
    (block $stop (loop $record
      (br_if $stop (i32.ge_u (local.get $p) (local.get $end)))
      ;; the key: the header values, each up to and with its \00
      (local.set $start (local.get $p))
      (local.set $k (global.get $cap_fields))
      (block $keyed (loop $field
        (br_if $keyed (i32.eqz (local.get $k)))
        (block $nul (loop $scan
          (br_if $nul (i32.eqz (i32.load8_u (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $scan)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $field)))
      (call $cap_set (local.get $arr) (local.get $i) (call $qjs_new_string (local.get $start) (i32.sub (local.get $p) (local.get $start))))
      ;; the age: decimal digits up to \00, or \01 (absent); none without an age entry
      (local.set $v (call $qjs_get_undefined))
      (if (global.get $cap_has_age)
        (then
          (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 1))
            (then
              (local.set $age (i64.const 0))
              (block $digits (loop $digit
                (local.set $c (i32.load8_u (local.get $p)))
                (br_if $digits (i32.eqz (local.get $c)))
                (local.set $age (i64.add (i64.mul (local.get $age) (i64.const 10)) (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $digit)))
              (call $qjs_free_value (local.get $v))
              (local.set $v (call $qjs_new_number (f64.convert_i64_u (local.get $age))))))
          ;; past the age entry and its \00
          (block $nul (loop $scan
            (br_if $nul (i32.eqz (i32.load8_u (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $scan)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))))
      (call $cap_set (local.get $arr) (i32.add (local.get $i) (i32.const 1)) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $record)))
    (global.set $cap_used (i32.const 2))
    (global.set $cap_count (i32.const 0))
    (global.set $cap_flag (i32.const 49))
    (local.get $arr))
  ;; $arr[$i] = $v, $v released.
  (func $cap_set (param $arr i32) (param $i i32) (param $v i32)
    (drop (call $qjs_set_prop_uint32 (local.get $arr) (local.get $i) (local.get $v)))
    (call $qjs_free_value (local.get $v)))

  ;; Appends $len bytes at $p and a \00; 0 when they do not fit.
  (func $cap_append (param $p i32) (param $len i32) (result i32)
    (if (i32.gt_u (i32.add (i32.add (global.get $cap_used) (local.get $len)) (i32.const 1)) (global.get $cap_size))
      (then (return (i32.const 0))))
    (memory.copy (i32.add (global.get $cap_buf) (global.get $cap_used)) (local.get $p) (local.get $len))
    (i32.store8 (i32.add (global.get $cap_buf) (i32.add (global.get $cap_used) (local.get $len))) (i32.const 0))
    (global.set $cap_used (i32.add (i32.add (global.get $cap_used) (local.get $len)) (i32.const 1)))
    (i32.const 1))
  (func $cap_absent (result i32)
    (if (i32.gt_u (i32.add (global.get $cap_used) (i32.const 2)) (global.get $cap_size)) (then (return (i32.const 0))))
    (i32.store16 (i32.add (global.get $cap_buf) (global.get $cap_used)) (i32.const 1)) ;; \01 \00
    (global.set $cap_used (i32.add (global.get $cap_used) (i32.const 2)))
    (i32.const 1))
  ;; The host's answer in $slot (ptr, len), freed; 0 when it did not fit.
  (func $cap_value (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $ok i32)
    (if (local.get $st) (then (return (call $cap_absent))))
    (local.set $p (i32.load (local.get $slot)))
    (local.set $ok (call $cap_append (select (local.get $p) (local.get $slot) (local.get $p)) (i32.load offset=4 (local.get $slot))))
    (if (local.get $p) (then (call $free (local.get $p))))
    (local.get $ok))
  ;; The age entry: $slot holds the host's answer for the timestamp property; the ns since it by
  ;; the clock, in decimal (as out_u64le_age: 0 when the clock is behind, absent when unset).
  (func $cap_age (param $st i32) (param $slot i32) (result i32)
    (local $p i32) (local $then i64)
    (if (local.get $st) (then (return (call $cap_absent))))
    (local.set $p (i32.load (local.get $slot)))
    (if (i32.ne (i32.load offset=4 (local.get $slot)) (i32.const 8))
      (then (if (local.get $p) (then (call $free (local.get $p)))) (return (call $cap_absent))))
    (local.set $then (i64.load (local.get $p)))
    (call $free (local.get $p))
    (call $cap_age_since (local.get $then) (local.get $slot)))
  ;; The ns from $then to the clock, in decimal; $slot: 8 bytes of scratch.
  (func $cap_age_since (param $then i64) (param $slot i32) (result i32)
    (local $age i64) (local $digits i32) (local $t i64) (local $at i32)
    (if (i64.eqz (local.get $then)) (then (return (call $cap_absent))))
    (if (call $proxy_get_current_time_nanoseconds (local.get $slot)) (then (return (call $cap_absent))))
    (local.set $age (i64.sub (i64.load (local.get $slot)) (local.get $then)))
    (if (i64.lt_s (local.get $age) (i64.const 0)) (then (local.set $age (i64.const 0))))
    (local.set $digits (i32.const 1))
    (local.set $t (local.get $age))
    (block $counted (loop $count
      (br_if $counted (i64.lt_u (local.get $t) (i64.const 10)))
      (local.set $t (i64.div_u (local.get $t) (i64.const 10)))
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (br $count)))
    (if (i32.gt_u (i32.add (i32.add (global.get $cap_used) (local.get $digits)) (i32.const 1)) (global.get $cap_size))
      (then (return (i32.const 0))))
    (local.set $at (i32.add (global.get $cap_buf) (i32.add (global.get $cap_used) (local.get $digits))))
    (i32.store8 (local.get $at) (i32.const 0))
    (block $written (loop $write
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $age) (i64.const 10)))))
      (local.set $age (i64.div_u (local.get $age) (i64.const 10)))
      (br_if $write (i64.ne (local.get $age) (i64.const 0)))))
    (global.set $cap_used (i32.add (global.get $cap_used) (i32.add (local.get $digits) (i32.const 1))))
    (i32.const 1))

;; setLogCapture's query, just copied: lowercases its header names (names are case-blind; the
;; pairs answer holds them lowercase) and sets $cap_pairs_mask to the maps named twice or more.
  (func $cap_scan_query
    (local $p i32) (local $end i32) (local $type i32) (local $seen i32) (local $c i32)
    (global.set $cap_fields (i32.const 0))
    (global.set $cap_has_age (i32.const 0))
    (local.set $p (global.get $cap_query))
    (local.set $end (i32.add (local.get $p) (global.get $cap_query_len)))
    (block $stop (loop $next
      (br_if $stop (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $type (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
      (if (i32.gt_u (local.get $type) (i32.const 9)) ;; the age entry (or garbage) ends it
        (then (global.set $cap_has_age (i32.eq (local.get $type) (global.get $cap_age_type))) (br $stop)))
      (global.set $cap_fields (i32.add (global.get $cap_fields) (i32.const 1)))
      (if (i32.and (local.get $seen) (i32.shl (i32.const 1) (local.get $type)))
        (then (global.set $cap_pairs_mask (i32.or (global.get $cap_pairs_mask) (i32.shl (i32.const 1) (local.get $type))))))
      (local.set $seen (i32.or (local.get $seen) (i32.shl (i32.const 1) (local.get $type))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (block $named (loop $name
        (br_if $named (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $named (i32.eqz (local.get $c)))
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 65)) (i32.const 26))
          (then (i32.store8 (local.get $p) (i32.add (local.get $c) (i32.const 32)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $name)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next)))
    (if (i32.and (i32.ne (global.get $cap_pairs_mask) (i32.const 0)) (i32.eqz (global.get $cap_pairs_slots)))
      (then (global.set $cap_pairs_slots (call $malloc (i32.const 120))))))

  ;; The value of header $name ($nlen bytes) from the pairs answer in $slot (ptr, len, status),
  ;; appended to the batch (absent when the read failed or the name is not there); 0: no room.
  ;; The answer is the host's: every length is checked against its size before it is used.
  (func $cap_pair_value (param $slot i32) (param $name i32) (param $nlen i32) (result i32)
    (local $buf i32) (local $end i32) (local $n i32) (local $i i32) (local $s i32) (local $klen i32) (local $vlen i32)
    (if (i32.load offset=8 (local.get $slot)) (then (return (call $cap_absent))))
    (local.set $buf (i32.load (local.get $slot)))
    (if (i32.lt_u (i32.load offset=4 (local.get $slot)) (i32.const 4)) (then (return (call $cap_absent))))
    (local.set $end (i32.add (local.get $buf) (i32.load offset=4 (local.get $slot))))
    (local.set $n (i32.load (local.get $buf)))
    (if (i32.gt_u (local.get $n) (i32.shr_u (i32.load offset=4 (local.get $slot)) (i32.const 3))) (then (return (call $cap_absent))))
    (local.set $s (i32.add (i32.add (local.get $buf) (i32.const 4)) (i32.shl (local.get $n) (i32.const 3))))
    (block $missing (loop $next
      (br_if $missing (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $klen (i32.load offset=4 (i32.add (local.get $buf) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $vlen (i32.load offset=8 (i32.add (local.get $buf) (i32.shl (local.get $i) (i32.const 3)))))
      ;; key, \00, value, \00 must lie inside the answer (lengths compared apart: no overflow)
      (br_if $missing (i32.gt_u (local.get $klen) (i32.sub (local.get $end) (local.get $s))))
      (br_if $missing (i32.gt_u (local.get $vlen) (i32.sub (i32.sub (local.get $end) (local.get $s)) (local.get $klen))))
      (br_if $missing (i32.lt_u (i32.sub (i32.sub (i32.sub (local.get $end) (local.get $s)) (local.get $klen)) (local.get $vlen)) (i32.const 2)))
      (if (i32.eq (local.get $klen) (local.get $nlen))
        (then (if (call $cap_bytes_equal (local.get $s) (local.get $name) (local.get $nlen))
          (then (return (call $cap_append (i32.add (i32.add (local.get $s) (local.get $klen)) (i32.const 1)) (local.get $vlen)))))))
      (local.set $s (i32.add (local.get $s) (i32.add (i32.add (local.get $klen) (local.get $vlen)) (i32.const 2))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $cap_absent))
  (func $cap_bytes_equal (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $differ (loop $next
      (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
      (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (i32.const 0))
  ;; Frees the pairs answers this log read (bit t of $loaded: map t's slot holds one).
  (func $cap_free_pairs (param $loaded i32)
    (local $t i32) (local $p i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $loaded)))
      (local.set $t (i32.ctz (local.get $loaded)))
      (local.set $p (i32.load (i32.add (global.get $cap_pairs_slots) (i32.mul (local.get $t) (i32.const 12)))))
      (if (local.get $p) (then (call $free (local.get $p))))
      (local.set $loaded (i32.xor (local.get $loaded) (i32.shl (i32.const 1) (local.get $t))))
      (br $next))))

  ;; One record for the stream being logged. 1: captured, JS need not be entered; 0: enter JS
  ;; (the batch is full, or the record did not fit: then nothing of it is kept, $cap_flag '0').
  (func $capture_log (param $id i32) (result i32)
    (local $frame i32) (local $p i32) (local $end i32) (local $k i32) (local $type i32) (local $ok i32)
    (local $start i32) (local $out i32) (local $then i64) (local $loaded i32) (local $slot i32)
    (local.set $frame (call $frame_push (i32.const 16)))
    (local.set $out (local.get $frame))
    (local.set $start (global.get $cap_used))
    (local.set $ok (i32.const 1))
    (local.set $p (global.get $cap_query))
    (local.set $end (i32.add (local.get $p) (global.get $cap_query_len)))
    (block $stop (loop $next
      (br_if $stop (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $type (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
      (i64.store (local.get $out) (i64.const 0))
      (if (i32.eq (local.get $type) (global.get $cap_age_type))
        (then
          ;; the age entry (last): from the stream's noted start, else the rest of the query is
          ;; the property path
          (local.set $then (call $cap_start_of (local.get $id)))
          (if (i64.ne (local.get $then) (i64.const 0))
            (then (local.set $ok (call $cap_age_since (local.get $then) (local.get $out))) (br $stop)))
          (local.set $ok (call $cap_age
            (call $proxy_get_property (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $end) (i32.add (local.get $p) (i32.const 1)))
              (local.get $out) (i32.add (local.get $out) (i32.const 4)))
            (local.get $out)))
          (br $stop)))
      (local.set $k (i32.add (local.get $p) (i32.const 1)))
      (block $found (loop $scan
        (br_if $found (i32.ge_u (local.get $k) (local.get $end)))
        (br_if $found (i32.eqz (i32.load8_u (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $scan)))
      (if (i32.and (global.get $cap_pairs_mask) (i32.shl (i32.const 1) (local.get $type)))
        (then
          ;; a map read whole: fetched at its first entry, then looked up
          (local.set $slot (i32.add (global.get $cap_pairs_slots) (i32.mul (local.get $type) (i32.const 12))))
          (if (i32.eqz (i32.and (local.get $loaded) (i32.shl (i32.const 1) (local.get $type))))
            (then
              (i64.store (local.get $slot) (i64.const 0))
              (i32.store offset=8 (local.get $slot)
                (call $proxy_get_header_map_pairs (local.get $type) (local.get $slot) (i32.add (local.get $slot) (i32.const 4))))
              (local.set $loaded (i32.or (local.get $loaded) (i32.shl (i32.const 1) (local.get $type))))))
          (local.set $ok (call $cap_pair_value (local.get $slot) (i32.add (local.get $p) (i32.const 1))
            (i32.sub (local.get $k) (i32.add (local.get $p) (i32.const 1))))))
        (else
          (local.set $ok (call $cap_value
            (call $proxy_get_header_map_value (local.get $type) (i32.add (local.get $p) (i32.const 1))
              (i32.sub (local.get $k) (i32.add (local.get $p) (i32.const 1))) (local.get $out) (i32.add (local.get $out) (i32.const 4)))
            (local.get $out)))))
      (br_if $stop (i32.eqz (local.get $ok)))
      (local.set $p (i32.add (local.get $k) (i32.const 1)))
      (br $next)))
    (call $cap_free_pairs (local.get $loaded))
    (call $frame_pop (i32.const 16))
    (if (i32.eqz (local.get $ok))
      (then
        (global.set $cap_used (local.get $start))
        (global.set $cap_flag (i32.const 48))
        (return (i32.const 0))))
    (global.set $cap_count (i32.add (global.get $cap_count) (i32.const 1)))
    (i32.lt_u (global.get $cap_count) (global.get $cap_batch)))
