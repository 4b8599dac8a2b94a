// Generates src/kernels/bmm.wasm.ts: WebAssembly kernels (a SIMD batched matrix product, a row
// gather, and GELU forward and backward), written as WAT
// here and assembled with wabt. The module imports the memory of tfjs' WASM backend, so it reads
// and writes tensors where they lie. It is our own code; the generated file is not committed.
//
//   bmm(a, b, c, batch, m, k, n): for each batch element, C (m x n) = A (m x k) . B (k x n),
//   all float32, row-major and contiguous (byte addresses a, b, c).
//
// Rows go in blocks of 4 and columns in blocks of 8 (two f32x4 vectors): per step of the inner
// product, 2 loads of B, 4 splats of A and 8 multiply-adds into 8 accumulators. Tails use 4x4,
// 4x1 and 1-row kernels.
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src', 'kernels', 'bmm.wasm.ts');

const acc = (r, v) => `$acc${r}${v}`;

/** One tile: `rows` rows (1 or 4) x `vecs` f32x4 vectors (2, 1) or 0 for a single scalar column. */
const tile = (rows, vecs) => {
  const zero = [];
  const body = [];
  const store = [];
  if (vecs > 0) {
    for (let r = 0; r < rows; r++) for (let v = 0; v < vecs; v++) zero.push(`(local.set ${acc(r, v)} (v128.const i32x4 0 0 0 0))`);
    for (let v = 0; v < vecs; v++) body.push(`(local.set $y${v} (v128.load offset=${16 * v} (local.get $pb)))`);
    for (let r = 0; r < rows; r++) {
      body.push(`(local.set $x${r} (f32x4.splat (f32.load (i32.add (local.get $pa${r}) (local.get $p4)))))`);
      for (let v = 0; v < vecs; v++)
        body.push(`(local.set ${acc(r, v)} (f32x4.add (local.get ${acc(r, v)}) (f32x4.mul (local.get $x${r}) (local.get $y${v}))))`);
    }
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vecs; v++) store.push(`(v128.store offset=${16 * v} (local.get $pc) (local.get ${acc(r, v)}))`);
      store.push('(local.set $pc (i32.add (local.get $pc) (local.get $nb)))');
    }
  } else {
    for (let r = 0; r < rows; r++) zero.push(`(local.set $s${r} (f32.const 0))`);
    body.push('(local.set $t (f32.load (local.get $pb)))');
    for (let r = 0; r < rows; r++)
      body.push(
        `(local.set $s${r} (f32.add (local.get $s${r}) (f32.mul (f32.load (i32.add (local.get $pa${r}) (local.get $p4))) (local.get $t))))`,
      );
    for (let r = 0; r < rows; r++) {
      store.push(`(f32.store (local.get $pc) (local.get $s${r}))`);
      store.push('(local.set $pc (i32.add (local.get $pc) (local.get $nb)))');
    }
  }
  const width = vecs > 0 ? 4 * vecs : 1;
  return `
        ;; ${rows} x ${width} tiles
        (block $done${rows}_${width}
          (loop $next${rows}_${width}
            (br_if $done${rows}_${width} (i32.gt_u (i32.add (local.get $j) (i32.const ${width})) (local.get $n)))
            ${zero.join('\n            ')}
            (local.set $pb (i32.add (local.get $bb) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p4 (i32.const 0))
            (block $kdone
              (loop $k
                (br_if $kdone (i32.ge_u (local.get $p4) (local.get $kb)))
                ${body.join('\n                ')}
                (local.set $pb (i32.add (local.get $pb) (local.get $nb)))
                (local.set $p4 (i32.add (local.get $p4) (i32.const 4)))
                (br $k)))
            (local.set $pc (i32.add (local.get $cb) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
            ${store.join('\n            ')}
            (local.set $j (i32.add (local.get $j) (i32.const ${width})))
            (br $next${rows}_${width})))`;
};

const rowBlock = (rows) => `
      ;; blocks of ${rows} row(s)
      (block $rowsDone${rows}
        (loop $rows${rows}
          (br_if $rowsDone${rows} (i32.gt_u (i32.add (local.get $i) (i32.const ${rows})) (local.get $m)))
          (local.set $pa0 (i32.add (local.get $ab) (i32.mul (local.get $i) (local.get $kb))))
          ${Array.from({ length: rows - 1 }, (_, r) => `(local.set $pa${r + 1} (i32.add (local.get $pa${r}) (local.get $kb)))`).join('\n          ')}
          (local.set $j (i32.const 0))
          ${tile(rows, 2)}
          ${tile(rows, 1)}
          ${tile(rows, 0)}
          (local.set $i (i32.add (local.get $i) (i32.const ${rows})))
          (br $rows${rows})))`;

const locals = [
  ...['$bi', '$i', '$j', '$p4', '$ab', '$bb', '$cb', '$pa0', '$pa1', '$pa2', '$pa3', '$pb', '$pc', '$nb', '$kb'].map(
    (x) => `(local ${x} i32)`,
  ),
  ...['$x0', '$x1', '$x2', '$x3', '$y0', '$y1'].map((x) => `(local ${x} v128)`),
  ...Array.from({ length: 4 }, (_, r) => [0, 1].map((v) => `(local ${acc(r, v)} v128)`)).flat(),
  ...['$s0', '$s1', '$s2', '$s3', '$t'].map((x) => `(local ${x} f32)`),
];

// ---- GELU (exact erf form), forward and backward, f32x4 with a scalar tail ----------------
// erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, the approximation tfjs' own Erf uses);
// exp(y), y <= 0, by range reduction y = n ln2 + r and a degree-6 polynomial (rel. error ~1e-7).
// Each formula is written once and emitted as vector (v) or scalar (s) code.
const ty = (t) => (t === 'v' ? 'f32x4' : 'f32');
const k = (t, c) => (t === 'v' ? `(f32x4.splat (f32.const ${c}))` : `(f32.const ${c})`);
const op = (t, name, ...args) => `(${ty(t)}.${name} ${args.join(' ')})`;
const get = (x) => `(local.get ${x})`;
const gelu = (t, out) => {
  const L = (x) => `${x}${t}`;
  const add = (a, b) => op(t, 'add', a, b);
  const mul = (a, b) => op(t, 'mul', a, b);
  const sub = (a, b) => op(t, 'sub', a, b);
  const set = (x, v) => `(local.set ${L(x)} ${v})`;
  const g = (x) => get(L(x));
  const lines = [];
  // z = |x| / sqrt 2, e = exp(-z^2) = exp(-x^2 / 2)
  lines.push(set('$z', mul(op(t, 'abs', g('$x')), k(t, Math.SQRT1_2))));
  lines.push(set('$y', op(t, 'max', op(t, 'neg', mul(g('$z'), g('$z'))), k(t, -87))));
  lines.push(set('$n', op(t, 'nearest', mul(g('$y'), k(t, Math.LOG2E)))));
  lines.push(set('$r', sub(sub(g('$y'), mul(g('$n'), k(t, 0.693359375))), mul(g('$n'), k(t, -2.1219444e-4)))));
  let poly = k(t, 1 / 720);
  for (const c of [1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1]) poly = add(k(t, c), mul(g('$r'), poly));
  const pow2 =
    t === 'v'
      ? `(i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s ${g('$n')}) (i32x4.splat (i32.const 127))) (i32.const 23))`
      : `(f32.reinterpret_i32 (i32.shl (i32.add (i32.trunc_sat_f32_s ${g('$n')}) (i32.const 127)) (i32.const 23)))`;
  lines.push(set('$e', mul(poly, pow2)));
  // erf(|x| / sqrt 2) = 1 - t (a1 + t (a2 + ...)) e, t = 1 / (1 + p z); then the sign of x
  lines.push(set('$t', op(t, 'div', k(t, 1), add(k(t, 1), mul(k(t, 0.3275911), g('$z'))))));
  let a = k(t, 1.061405429);
  for (const c of [-1.453152027, 1.421413741, -0.284496736, 0.254829592]) a = add(k(t, c), mul(g('$t'), a));
  const erfAbs = sub(k(t, 1), mul(mul(g('$t'), a), g('$e')));
  const erf =
    t === 'v'
      ? `(v128.or ${erfAbs} (v128.and ${g('$x')} (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))`
      : `(f32.copysign ${erfAbs} ${g('$x')})`;
  lines.push(set('$cdf', mul(k(t, 0.5), add(k(t, 1), erf))));
  lines.push(out(g, mul, add, k));
  return lines.join('\n        ');
};
const vlocals = ['$x', '$z', '$y', '$n', '$r', '$e', '$t', '$cdf', '$dy'];
const geluFunc = (name, params, out, loads) => `
  (func (export "${name}") ${params}
    (local $i i32) (local $end i32) (local $o i32)
    ${vlocals.map((x) => `(local ${x}v v128) (local ${x}s f32)`).join(' ')}
    (local.set $end (i32.and (local.get $count) (i32.const -4)))
    (block $vdone
      (loop $v
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        ${loads('v')}
        ${gelu('v', out('v'))}
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $v)))
    (block $sdone
      (loop $s
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        ${loads('s')}
        ${gelu('s', out('s'))}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $s))))`;
const load = (t, ptr, into) => `(local.set ${into}${t} (${t === 'v' ? 'v128' : 'f32'}.load (i32.add (local.get ${ptr}) (local.get $o))))`;
const store = (t, ptr, value) => `(${t === 'v' ? 'v128' : 'f32'}.store (i32.add (local.get ${ptr}) (local.get $o)) ${value})`;
// forward: y = x * cdf(x)
const geluForward = geluFunc(
  'gelu_fwd',
  '(param $xp i32) (param $yp i32) (param $count i32)',
  (t) => (g, mul) => store(t, '$yp', mul(g('$x'), g('$cdf'))),
  (t) => load(t, '$xp', '$x'),
);
// backward: dx = dy * (cdf(x) + x pdf(x)), pdf(x) = e / sqrt(2 pi)
const geluBackward = geluFunc(
  'gelu_bwd',
  '(param $xp i32) (param $dyp i32) (param $dxp i32) (param $count i32)',
  (t) => (g, mul, add, kk) =>
    store(t, '$dxp', mul(g('$dy'), add(g('$cdf'), mul(g('$x'), mul(g('$e'), kk(t, 1 / Math.sqrt(2 * Math.PI))))))),
  (t) => `${load(t, '$xp', '$x')} ${load(t, '$dyp', '$dy')}`,
);

export const wat = `(module
  (import "env" "memory" (memory 1))
  (func (export "bmm") (param $a i32) (param $b i32) (param $c i32) (param $batch i32) (param $m i32) (param $k i32) (param $n i32)
    ${locals.join('\n    ')}
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $bi (i32.const 0))
    (block $batchDone
      (loop $batch
        (br_if $batchDone (i32.ge_u (local.get $bi) (local.get $batch)))
        (local.set $ab (i32.add (local.get $a) (i32.mul (local.get $bi) (i32.mul (local.get $m) (local.get $kb)))))
        (local.set $bb (i32.add (local.get $b) (i32.mul (local.get $bi) (i32.mul (local.get $k) (local.get $nb)))))
        (local.set $cb (i32.add (local.get $c) (i32.mul (local.get $bi) (i32.mul (local.get $m) (local.get $nb)))))
        (local.set $i (i32.const 0))
        ${rowBlock(4)}
        ${rowBlock(1)}
        (local.set $bi (i32.add (local.get $bi) (i32.const 1)))
        (br $batch))))
  ;; gather_rows(src, idx, dst, count, rowBytes): dst row i = src row idx[i] (idx: i32, in range)
  (func (export "gather_rows") (param $src i32) (param $idx i32) (param $dst i32) (param $count i32) (param $rowBytes i32)
    (local $i i32)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (memory.copy
          (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $rowBytes)))
          (i32.add (local.get $src) (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $i) (i32.const 2)))) (local.get $rowBytes)))
          (local.get $rowBytes))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))
  ${geluForward}
  ${geluBackward})
`;

export const generate = async () => {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('bmm.wat', wat, { simd: true, bulk_memory: true });
  mod.validate();
  const { buffer } = mod.toBinary({});
  mod.destroy();
  const b64 = Buffer.from(buffer).toString('base64');
  const text = `// Generated by scripts/wasm-kernels.mjs from its WAT source; do not edit.\n/** The batched matrix-product WebAssembly module, base64. */\nexport const BMM_WASM = '${b64}';\n`;
  if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }
  return buffer.length;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) console.error(`bmm.wasm: ${await generate()} bytes`);
