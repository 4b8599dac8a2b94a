import assert from 'node:assert/strict';
import { arbTensors, bytesOf, product } from './arbitraries.js';
import { toIoError } from '../../src/node/files.js';
import { describe, it } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError, FormatError, IoError } from '../../src/core/errors.js';
import { readSafetensors, toFloat32, writeSafetensors, type SafeTensor, type Safetensors } from '../../src/io/safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/node/tensorFiles.js';

const hex = (h: string): number[] => Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

/** A file per the spec: u64 LE header length, header bytes (a JSON value or raw text), buffer. */
const stFile = (header: unknown, buffer: number[] | Uint8Array, length?: bigint): Uint8Array => {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
};

const arbMetadata = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3, noNullPrototype: true });

/** Calls the reader; returns its result or the FormatError, and rethrows any other error. */
const attempt = (bytes: Uint8Array): Safetensors | FormatError => {
  const t0 = performance.now();
  try {
    const r = readSafetensors(bytes, 'fuzz.safetensors');
    let total = 0;
    for (const t of r.tensors.values()) {
      assert.equal(t.data.length, product(t.shape));
      total += t.data.byteLength;
    }
    assert.ok(total <= bytes.length, 'no allocation beyond the input');
    for (const v of Object.values(r.metadata)) assert.equal(typeof v, 'string');
    return r;
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw e;
  } finally {
    assert.ok(performance.now() - t0 < 1000, 'reader returned promptly');
  }
};

// A three-tensor file written by hand from the spec: metadata, an F32 matrix, an I64 vector, a BOOL vector.
const HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},' +
  '"bias":{"dtype":"I64","shape":[2],"data_offsets":[16,32]},' +
  '"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[32,35]}}';
const BUFFER = hex('0000803f000000400000404000008040' + 'ffffffffffffffff0000000000010000' + '010001');
const SPEC_FILE = stFile(HEADER + ' '.repeat((8 - (HEADER.length % 8)) % 8), BUFFER);

describe('safetensors', () => {
  it('reads a hand-built file following the spec', () => {
    const { tensors, metadata } = readSafetensors(SPEC_FILE, 'spec.safetensors');
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual([...tensors.keys()], ['weight', 'bias', 'mask']);
    assert.deepEqual(tensors.get('weight'), { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
    assert.deepEqual(tensors.get('bias'), { dtype: 'I64', shape: [2], data: BigInt64Array.of(-1n, 2n ** 40n) });
    assert.deepEqual(tensors.get('mask'), { dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) });
    // Header order need not follow the buffer; tensors come back in buffer order.
    const shuffled = stFile(
      {
        b: { dtype: 'U8', shape: [1], data_offsets: [2, 3] },
        a: { dtype: 'F16', shape: [], data_offsets: [0, 2] },
        z: { dtype: 'F32', shape: [0], data_offsets: [3, 3] },
      },
      [0x00, 0x3c, 9],
    );
    const r = readSafetensors(shuffled, 's.safetensors');
    assert.deepEqual([...r.tensors.keys()], ['a', 'b', 'z']);
    assert.deepEqual(r.metadata, {});
  });

  it('writes the same bytes: header padded with spaces to 8 bytes, tensors in the given order', () => {
    const out = writeSafetensors(
      [
        ['weight', { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }],
        ['bias', { dtype: 'I64', shape: [2], data: BigInt64Array.of(-1n, 2n ** 40n) }],
        ['mask', { dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) }],
      ],
      { format: 'pt' },
    );
    assert.deepEqual(Array.from(out), Array.from(SPEC_FILE));
    assert.equal(Number(new DataView(out.buffer).getBigUint64(0, true)) % 8, 0);
    const viaMap = writeSafetensors(new Map([['x', { dtype: 'U8', shape: [1], data: Uint8Array.of(5) } as const]]));
    assert.deepEqual(readSafetensors(viaMap, 'm.safetensors').tensors.get('x')?.data, Uint8Array.of(5));
  });

  it('round-trips random tensors of every dtype, with metadata', () => {
    fc.assert(
      fc.property(arbTensors, arbMetadata, (entries, metadata) => {
        fc.pre(entries.every(([name]) => name !== '__metadata__'));
        const bytes = writeSafetensors(entries, metadata);
        const back = readSafetensors(bytes, 'rt.safetensors');
        assert.deepEqual(back.metadata, metadata);
        assert.equal(back.tensors.size, entries.length);
        for (const [name, t] of entries) {
          const got = back.tensors.get(name);
          assert.ok(got !== undefined, name);
          assert.deepEqual([got.dtype, got.shape, bytesOf(got.data)], [t.dtype, t.shape, bytesOf(t.data)]);
          assert.equal(toFloat32(got).length, t.data.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('toFloat32 decodes F16 and BF16 bits and widens the other dtypes', () => {
    const f = (t: SafeTensor): number[] => Array.from(toFloat32(t));
    assert.deepEqual(f({ dtype: 'F16', shape: [5], data: Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x0001, 0x8000) }), [
      1,
      -2,
      Infinity,
      2 ** -24,
      -0,
    ]);
    assert.ok(Number.isNaN(f({ dtype: 'F16', shape: [1], data: Uint16Array.of(0x7e00) })[0]));
    assert.deepEqual(f({ dtype: 'BF16', shape: [3], data: Uint16Array.of(0x3f80, 0xc040, 0xff80) }), [1, -3, -Infinity]);
    assert.deepEqual(f({ dtype: 'F64', shape: [1], data: Float64Array.of(0.1) }), [Math.fround(0.1)]);
    assert.deepEqual(f({ dtype: 'I64', shape: [2], data: BigInt64Array.of(-5n, 2n ** 40n) }), [-5, 2 ** 40]);
    assert.deepEqual(f({ dtype: 'I32', shape: [1], data: Int32Array.of(-7) }), [-7]);
    assert.deepEqual(f({ dtype: 'U8', shape: [2], data: Uint8Array.of(0, 255) }), [0, 255]);
    assert.deepEqual(f({ dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) }), [1, 0]);
    const same = Float32Array.of(1);
    assert.equal(toFloat32({ dtype: 'F32', shape: [1], data: same }), same, 'F32 is not copied');
  });

  it('names the problem (and the tensor) in every malformed file', () => {
    const t = (e: object, buffer: number[] = Array(8).fill(0)) =>
      stFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...e } }, buffer);
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(7), /7 bytes, shorter than the 8-byte header length/],
      [stFile('{}', [], 2n ** 64n - 1n), /oversized header: header length 18446744073709551615/],
      [stFile('{}', [], 100_000_001n), /oversized header/],
      [stFile('{}', [], 50n), /header length 50 extends beyond the file \(2 bytes follow the length\)/],
      [Uint8Array.from([...stFile('{"a":1}', []).subarray(0, 10), 0xff, ...stFile('{"a":1}', []).subarray(11)]), /not valid UTF-8 JSON/],
      [stFile('hello', []), /not valid UTF-8 JSON/],
      [stFile('', []), /not valid UTF-8 JSON/],
      [stFile('[1]', []), /not a JSON object/],
      [stFile('null', []), /not a JSON object/],
      [stFile({ w: 5 }, []), /tensor "w": entry is not an object/],
      [stFile({ w: { shape: [], data_offsets: [0, 0] } }, []), /tensor "w": entry is missing dtype/],
      [stFile({ w: { dtype: 'F32', data_offsets: [0, 0] } }, []), /tensor "w": entry is missing shape/],
      [stFile({ w: { dtype: 'F32', shape: [0] } }, []), /tensor "w": entry is missing data_offsets/],
      [t({ dtype: 4 }), /tensor "w": dtype is not a string/],
      [t({ dtype: 'F8_E4M3' }), /tensor "w": unknown or unsupported dtype "F8_E4M3"/],
      [t({ shape: 2 }), /tensor "w": shape is not an array/],
      [t({ shape: [-2] }), /tensor "w": shape entry -2 is not a non-negative integer/],
      [t({ shape: [1.5] }), /shape entry 1.5 is not a non-negative integer/],
      [t({ shape: ['2'] }), /shape entry "2" is not a non-negative integer/],
      [t({ data_offsets: [0] }), /tensor "w": data_offsets is not a \[begin, end\] pair/],
      [t({ data_offsets: [0.5, 8] }), /tensor "w": data_offsets \[0.5,8\] are not safe integers/],
      [t({ data_offsets: [0, 2 ** 60] }), /are not safe integers/],
      [t({ data_offsets: [-4, 4] }), /tensor "w": data_offsets \[-4, 4\] do not satisfy 0 <= begin <= end <= 8/],
      [t({ data_offsets: [8, 4] }), /do not satisfy/],
      [t({ data_offsets: [0, 12] }), /\[0, 12\] do not satisfy 0 <= begin <= end <= 8 \(the buffer length\)/],
      [t({ shape: [3] }), /tensor "w": data_offsets span 8 bytes but shape \[3\] of F32 needs 12/],
      [t({ dtype: 'F64' }), /span 8 bytes but shape \[2\] of F64 needs 16/],
      [t({ shape: [2 ** 50, 2 ** 50] }), /needs more than 8/],
      [
        stFile(
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
          Array(12).fill(0),
        ),
        /tensors "a" and "b" have overlapping offsets/,
      ],
      [
        stFile(
          { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } },
          Array(12).fill(0),
        ),
        /buffer bytes \[4, 8\) are not covered by any tensor/,
      ],
      [t({ shape: [1], data_offsets: [0, 4] }), /buffer bytes \[4, 8\) are not covered/],
      [stFile({ __metadata__: { n: 1 } }, []), /metadata value for key "n" is not a string/],
      [stFile({ __metadata__: ['x'] }, []), /__metadata__ is not an object/],
      [t({ dtype: 'BOOL', shape: [8] }, [0, 1, 2, 0, 0, 0, 0, 0]), /tensor "w": BOOL value 2 at index 2 is not 0 or 1/],
    ];
    for (const [bytes, re] of cases)
      assert.throws(
        () => readSafetensors(bytes, 'bad.safetensors'),
        (e: unknown) => e instanceof FormatError && e.file === 'bad.safetensors' && re.test(e.message),
        String(re),
      );
  });

  it('rejects many tensors claiming one huge range before copying anything', () => {
    const header: Record<string, unknown> = {};
    for (let k = 0; k < 20000; k++) header[`t${k}`] = { dtype: 'U8', shape: [1 << 20], data_offsets: [0, 1 << 20] };
    const t0 = performance.now();
    assert.throws(() => readSafetensors(stFile(header, new Uint8Array(1 << 20)), 'bomb.safetensors'), /overlapping offsets/);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('writeSafetensors rejects inconsistent input with ConfigError', () => {
    const f = (n: number): SafeTensor => ({ dtype: 'F32', shape: [n], data: new Float32Array(2) });
    assert.throws(
      () =>
        writeSafetensors([
          ['a', f(2)],
          ['a', f(2)],
        ]),
      /duplicate tensor name/,
    );
    assert.throws(() => writeSafetensors([['a', f(3)]]), ConfigError);
    assert.throws(() => writeSafetensors([['__metadata__', f(2)]]), ConfigError);
    assert.throws(
      () => writeSafetensors([['a', { dtype: 'F32', shape: [2], data: new Int32Array(2) } as unknown as SafeTensor]]),
      ConfigError,
    );
    assert.throws(
      () => writeSafetensors([['a', { dtype: 'F9', shape: [2], data: new Float32Array(2) } as unknown as SafeTensor]]),
      ConfigError,
    );
    assert.throws(() => writeSafetensors([['a', { dtype: 'F32', shape: [-2], data: new Float32Array(2) }]]), ConfigError);
    assert.throws(() => writeSafetensors([['a', { dtype: 'BOOL', shape: [1], data: Uint8Array.of(3) }]]), ConfigError);
    assert.throws(() => writeSafetensors([], { n: 1 } as unknown as Record<string, string>), ConfigError);
  });

  describe('fuzzing: the reader returns a valid result or throws FormatError, promptly', () => {
    it('random bytes, bare and behind a plausible header length', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (rest, prefix) => {
          attempt(prefix ? stFile(new TextDecoder().decode(rest), []) : rest);
        }),
        { numRuns: 400 },
      );
    });

    it('valid files cut short always fail with FormatError', () => {
      fc.assert(
        fc.property(arbTensors, fc.nat(), (entries, cut) => {
          fc.pre(entries.every(([name]) => name !== '__metadata__'));
          const bytes = writeSafetensors(entries);
          assert.ok(attempt(bytes.subarray(0, cut % bytes.length)) instanceof FormatError);
        }),
        { numRuns: 300 },
      );
    });

    it('valid files with one byte flipped', () => {
      fc.assert(
        fc.property(arbTensors, arbMetadata, fc.nat(), fc.integer({ min: 1, max: 255 }), (entries, metadata, at, xor) => {
          fc.pre(entries.every(([name]) => name !== '__metadata__'));
          const bytes = writeSafetensors(entries, metadata);
          bytes[at % bytes.length] ^= xor;
          attempt(bytes);
        }),
        { numRuns: 400 },
      );
    });

    it('hostile headers: huge lengths and shapes, overlapping, negative and float offsets, wrong dtype sizes', () => {
      const num = fc.oneof(
        fc.integer({ min: -4, max: 40 }),
        fc.constantFrom(0.5, 1.5, -0, 2 ** 53, 2 ** 60, 1e300, Number.MAX_SAFE_INTEGER),
        fc.constantFrom<unknown>('3', null, [], {}),
      );
      const entry = fc.record(
        {
          dtype: fc.constantFrom<unknown>('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E5M2', 'f32', 7, null),
          shape: fc.oneof(fc.array(num, { maxLength: 4 }), fc.constantFrom<unknown>(3, 'x', null)),
          data_offsets: fc.oneof(
            fc.array(num, { maxLength: 3 }),
            fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })),
          ),
        },
        { requiredKeys: [] },
      );
      const nearValid = fc.record({
        dtype: fc.constantFrom('F32', 'F16', 'I64', 'U8', 'BOOL'),
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
        data_offsets: fc.tuple(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 24 })),
      });
      const value = fc.oneof(
        { arbitrary: nearValid, weight: 3 },
        { arbitrary: entry, weight: 2 },
        { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
      );
      const header = fc.dictionary(fc.constantFrom('a', 'b', 'c', '__metadata__', '__proto__', 'constructor'), value, {
        maxKeys: 4,
        noNullPrototype: true,
      });
      // Ranges that tile the buffer exactly, so only the dtype/shape size checks stand between them and a typed-array view.
      const tiled = fc
        .array(
          fc.record({
            dtype: fc.constantFrom('F64', 'F32', 'BF16', 'I64', 'BOOL'),
            shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
            len: fc.integer({ min: 0, max: 9 }),
          }),
          { maxLength: 4 },
        )
        .map((es) => {
          let at = 0;
          const h = Object.fromEntries(es.map(({ dtype, shape, len }, k) => [`t${k}`, { dtype, shape, data_offsets: [at, (at += len)] }]));
          return [h, new Uint8Array(at)] as const;
        });
      fc.assert(
        fc.property(
          fc.oneof(fc.tuple(header, fc.uint8Array({ maxLength: 24 })), tiled),
          fc.oneof(
            { arbitrary: fc.constant(undefined), weight: 4 },
            {
              arbitrary: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(100_000_001n, 2n ** 53n + 1n, 2n ** 63n)),
              weight: 1,
            },
          ),
          ([h, buffer], length) => {
            attempt(stFile(h, buffer, length));
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('Node files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tesserae-st-'));

    it('reads a missing file as an IoError naming the path, and writes atomically', () => {
      const missing = join(dir, 'nope.safetensors');
      assert.throws(
        () => readSafetensorsFile(missing),
        (e: unknown) => e instanceof IoError && e.path === missing && e.errno === 'ENOENT' && /no such file/.test(e.message),
      );
      const p = join(dir, 'ckpt', 'latest.safetensors');
      writeSafetensorsFile(p, [['w', { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }]], { step: '3' });
      assert.deepEqual(readdirSync(join(dir, 'ckpt')), ['latest.safetensors'], 'no temporary file left behind');
      const r = readSafetensorsFile(p);
      assert.deepEqual([r.metadata, r.tensors.get('w')?.data], [{ step: '3' }, Float32Array.of(1, 2)]);
    });

    it('a folder, a path through a file, a symlink loop and an unreadable file are IoErrors naming the path', () => {
      const file = join(dir, 'plain.safetensors');
      writeFileSync(file, 'not safetensors');
      const loop = join(dir, 'loop.safetensors');
      symlinkSync(loop, loop);
      const cases: [string, string][] = [
        [dir, 'EISDIR'],
        [join(file, 'inner.safetensors'), 'ENOTDIR'],
        [loop, 'ELOOP'],
      ];
      for (const [path, errno] of cases)
        assert.throws(
          () => readSafetensorsFile(path),
          (e: unknown) => e instanceof IoError && e.path === path && e.errno === errno && e.message.startsWith(`${path}: cannot `),
          errno,
        );
      assert.throws(
        () => readSafetensorsFile(file),
        (e: unknown) => e instanceof FormatError && e.file === file,
        'content problems stay FormatErrors',
      );
      // root (as here and in CI) reads any file whatever its mode, so EACCES is checked through the mapping itself
      const locked = join(dir, 'locked.safetensors');
      const denied = toIoError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }), locked, 'read');
      assert.ok(
        denied instanceof IoError && denied.path === locked && denied.errno === 'EACCES' && /permission denied/.test(denied.message),
      );
    });

    it('a failed write throws and leaves the existing good file untouched', () => {
      const good = join(dir, 'good.safetensors');
      writeSafetensorsFile(good, [['w', { dtype: 'U8', shape: [1], data: Uint8Array.of(7) }]]);
      const before = readFileSync(good);
      assert.throws(() =>
        writeSafetensorsFile(join(good, 'inner.safetensors'), [['w', { dtype: 'U8', shape: [1], data: Uint8Array.of(8) }]]),
      );
      assert.throws(() => writeSafetensorsFile(good, [['w', { dtype: 'U8', shape: [2], data: Uint8Array.of(8) }]]), ConfigError);
      assert.deepEqual(readFileSync(good), before);
      assert.deepEqual(readSafetensorsFile(good).tensors.get('w')?.data, Uint8Array.of(7));
      rmSync(dir, { recursive: true, force: true });
    });
  });
});
