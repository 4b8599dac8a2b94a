import assert from 'node:assert/strict';
import { arbNpy, bytesOf, product } from './arbitraries.js';
import { toIoError } from '../../src/node/files.js';
import { describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError, FormatError, IoError } from '../../src/core/errors.js';
import { readNpy, readNpyFloat32, writeNpy, type NpyArray, type NpyInput } from '../../src/io/npy.js';
import { readNpyFile, writeNpyFile } from '../../src/node/tensorFiles.js';

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

/** A file laid out the way numpy lays it out: header text padded with spaces and '\n' to `preamble` bytes. */
const npyFile = (header: string, preamble: number, data: Uint8Array | number[], version = 1): Uint8Array => {
  const pre = version === 1 ? 10 : 12;
  const text = header.padEnd(preamble - pre - 1, ' ') + '\n';
  const raw = version === 3 ? new TextEncoder().encode(text) : Uint8Array.from(ascii(text));
  const len = version === 1 ? [raw.length & 255, raw.length >> 8] : [raw.length & 255, (raw.length >> 8) & 255, raw.length >> 16, 0];
  return Uint8Array.from([0x93, ...ascii('NUMPY'), version, 0, ...len, ...raw, ...data]);
};

/** What `np.save(f, np.arange(6, dtype='<f4').reshape(2, 3))` writes (numpy 2.4). */
const NUMPY_ARANGE =
  '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d' +
  '20'.repeat(58) +
  '0a000000000000803f0000004000004040000080400000a040';

/** Calls the reader; returns its result or the FormatError, and rethrows any other error. */
const attempt = (bytes: Uint8Array): NpyArray | FormatError => {
  const t0 = performance.now();
  try {
    const r = readNpy(bytes, 'fuzz.npy');
    assert.ok(r.shape.every((d) => Number.isSafeInteger(d) && d >= 0));
    assert.equal(r.data.length, product(r.shape));
    assert.ok(r.data.byteLength <= 2 * bytes.length, 'no allocation beyond twice the input');
    return r;
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw e;
  } finally {
    assert.ok(performance.now() - t0 < 1000, 'reader returned promptly');
  }
};

describe('npy', () => {
  it('reads the exact bytes np.save writes for arange(6, float32).reshape(2, 3), and writes them back byte for byte', () => {
    const built = npyFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      128,
      hex('000000000000803f0000004000004040000080400000a040'),
    );
    assert.deepEqual(Array.from(built), Array.from(hex(NUMPY_ARANGE)), 'the hand-built file is what numpy wrote');
    const a = readNpy(built, 'arange.npy');
    assert.equal(a.dtype, 'float32');
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(Array.from(writeNpy({ shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) })), Array.from(built));
  });

  it("matches numpy's padding byte for byte: growth-axis spaces, scalars, and a full 64-byte pad when already aligned", () => {
    // Preamble lengths as numpy 2.4 writes them for these shapes.
    const cases: [readonly number[], NpyInput['data'], string, number][] = [
      [[], Float64Array.of(3.5), "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 128],
      [[3], Int32Array.of(0, 1, 2), "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 128],
      [
        Array(16).fill(1),
        Uint8Array.of(0),
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }",
        192,
      ],
      [
        [0, 100, ...Array(12).fill(1)],
        new Uint8Array(0),
        `{'descr': '|u1', 'fortran_order': False, 'shape': (0, 100${', 1'.repeat(12)}), }`,
        192,
      ],
    ];
    for (const [shape, data, header, preamble] of cases) {
      const dtype = header.includes('<i8') ? ('int64' as const) : undefined;
      const out = writeNpy(dtype ? { shape, data, dtype } : { shape, data });
      const body = dtype ? new Uint8Array(new BigInt64Array([0n, 1n, 2n]).buffer) : new Uint8Array(data.buffer);
      assert.deepEqual(Array.from(out), Array.from(npyFile(header, preamble, body)), header);
      assert.equal(out.indexOf(0x0a), preamble - 1);
    }
  });

  it('reads format versions 2.0 and 3.0, big-endian data, Fortran order, float16, int64 and bool', () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const data = hex('000000000000803f0000004000004040000080400000a040');
    for (const version of [2, 3])
      assert.deepEqual(Array.from(readNpy(npyFile(header, 128, data, version), 'v.npy').data), [0, 1, 2, 3, 4, 5]);
    const big = readNpy(npyFile(header.replace('<f4', '>i4'), 128, hex('000000000000000100000002000000030000000400000005')), 'be.npy');
    assert.deepEqual([big.dtype, Array.from(big.data)], ['int32', [0, 1, 2, 3, 4, 5]]);
    // np.save(np.asfortranarray(np.arange(24, dtype='<i2').reshape(2, 3, 4)))
    const fData = [0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23].flatMap((v) => [v, 0]);
    const f = readNpy(npyFile("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }", 128, fData), 'f.npy');
    assert.deepEqual([f.shape, Array.from(f.data)], [[2, 3, 4], Array.from({ length: 24 }, (_, i) => i)]);
    const half = readNpy(npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", 128, hex('003800c0ff7b0100007c')), 'h.npy');
    assert.deepEqual([half.dtype, Array.from(half.data)], ['float16', [0.5, -2, 65504, 2 ** -24, Infinity]]);
    const i64 = readNpy(
      npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 128, hex('feffffffffffffff0700000000000000')),
      'i.npy',
    );
    assert.deepEqual([i64.dtype, i64.data], ['int64', Int32Array.of(-2, 7)]);
    const b = readNpy(npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", 128, [1, 0]), 'b.npy');
    assert.deepEqual([b.dtype, b.data], ['bool', Uint8Array.of(1, 0)]);
    const offset = new Uint8Array(NUMPY_ARANGE.length / 2 + 3);
    offset.set(hex(NUMPY_ARANGE), 3);
    assert.deepEqual(Array.from(readNpy(offset.subarray(3), 'o.npy').data), [0, 1, 2, 3, 4, 5], 'a view at a byte offset');
  });

  it('round-trips random shapes and dtypes, with 64-byte-aligned preambles', () => {
    fc.assert(
      fc.property(arbNpy, (arr) => {
        const bytes = writeNpy(arr);
        const pre = bytes.indexOf(0x0a) + 1;
        assert.equal(pre % 64, 0);
        const back = readNpy(bytes, 'rt.npy');
        assert.deepEqual([back.dtype, back.shape], [arr.dtype, arr.shape]);
        if (arr.dtype === 'float16') assert.deepEqual(Array.from(back.data), Array.from(arr.data));
        else assert.deepEqual(bytesOf(back.data), bytesOf(arr.data));
        assert.deepEqual(Array.from(readNpyFloat32(bytes, 'rt.npy').data), Array.from(Float32Array.from(arr.data)));
      }),
      { numRuns: 300 },
    );
  });

  it('names the problem in every malformed file', () => {
    const h = (shape: string, descr = '<f4', extra = '') => `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, ${extra}}`;
    const good = hex(NUMPY_ARANGE);
    const v4 = good.slice();
    v4[6] = 4;
    const long = good.slice();
    long[8] = 0xff;
    long[9] = 0xff;
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.from(ascii('PK\x03\x04 not npy at all')), /bad magic/],
      [good.subarray(0, 4), /truncated/],
      [good.subarray(0, 9), /truncated header/],
      [v4, /unsupported npy format version 4\.0/],
      [long, /header length 65535 extends beyond the file/],
      [npyFile(h('(2, 3)').slice(0, -2), 128, new Uint8Array(24)), /unparsable header/],
      [npyFile("__import__('os').system('echo hi')", 128, []), /unparsable header: unexpected character "_"/],
      [npyFile('[1, 2]', 128, []), /header is not a dictionary/],
      [npyFile("{'descr': '<f4', 'fortran_order': False}", 128, []), /missing key 'shape'/],
      [npyFile(h('(0,)', '<f4', "'extra': 1, "), 128, []), /unexpected key 'extra'/],
      [npyFile(h('(2, -1)'), 128, []), /shape entry -1 is negative/],
      [npyFile(h('(2.5,)'), 128, []), /shape entry 2.5 is not an integer/],
      [npyFile(h('[2, 3]'), 128, []), /shape must be a tuple/],
      [npyFile(h('(6)'), 128, []), /shape must be a tuple/],
      [npyFile(h('(99999999999999999999,)'), 128, []), /absurdly large/],
      [npyFile(h(`(${'1, '.repeat(65)})`), 512, []), /65 dimensions/],
      [
        npyFile(h('(4294967296, 4294967296, 4294967296)'), 128, new Uint8Array(8)),
        /data is 8 bytes but .* needs 316912650057057350374175801344 bytes/,
      ],
      [npyFile(h('(2,)', '<c8'), 128, new Uint8Array(16)), /unsupported dtype '<c8'/],
      [npyFile(h('(2,)', '<u8'), 128, new Uint8Array(16)), /unsupported dtype '<u8'/],
      [npyFile(h('(2,)', '|f4'), 128, new Uint8Array(8)), /needs byte order/],
      [npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 128, new Uint8Array(4)), /unsupported dtype/],
      [npyFile(h('(1,)').replace('False', "'no'"), 128, new Uint8Array(4)), /fortran_order must be True or False/],
      [npyFile(h('(2, 3)'), 128, new Uint8Array(20)), /data is 20 bytes but shape \(2, 3\) of float32 needs 24 bytes \(truncated\)/],
      [npyFile(h('(2, 3)'), 128, new Uint8Array(25)), /data is 25 bytes .* needs 24 bytes \(trailing bytes\)/],
      [npyFile(h('(1,)', '<i8'), 128, hex('0000000001000000')), /int64 value 4294967296 at index 0 does not fit in int32/],
      [npyFile(h('(1,)', '|b1'), 128, [2]), /bool value 2 at index 0 is not 0 or 1/],
      [
        Uint8Array.from([...npyFile(h('(0,)'), 128, [], 3).subarray(0, 20), 0xff, ...npyFile(h('(0,)'), 128, [], 3).subarray(21)]),
        /not valid UTF-8/,
      ],
      [npyFile('('.repeat(5000), 5120, []), /nesting too deep/],
      [npyFile("{'descr': '<f4', 'descr': '<f4'}", 128, []), /duplicate key 'descr'/],
    ];
    for (const [bytes, re] of cases)
      assert.throws(
        () => readNpy(bytes, 'bad.npy'),
        (e: unknown) => e instanceof FormatError && e.file === 'bad.npy' && re.test(e.message),
        String(re),
      );
  });

  it('writeNpy rejects inconsistent input with ConfigError', () => {
    assert.throws(() => writeNpy({ shape: [2, 2], data: new Float32Array(3) }), ConfigError);
    assert.throws(() => writeNpy({ shape: [-1], data: new Float32Array(0) }), ConfigError);
    assert.throws(() => writeNpy({ shape: [1.5], data: new Float32Array(1) }), ConfigError);
    assert.throws(() => writeNpy({ shape: [2], data: new Float32Array(2), dtype: 'int32' }), ConfigError);
    assert.throws(() => writeNpy({ shape: [2], data: Uint8Array.of(0, 2), dtype: 'bool' }), ConfigError);
    assert.throws(() => writeNpy({ shape: Array<number>(65).fill(1), data: new Float32Array(1) }), ConfigError);
  });

  describe('fuzzing: the reader returns a valid array or throws FormatError, promptly', () => {
    it('random bytes, bare and behind a valid magic', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 4 }), fc.boolean(), (rest, v, magic) => {
          attempt(magic ? Uint8Array.from([0x93, ...ascii('NUMPY'), v, 0, ...rest]) : rest);
        }),
        { numRuns: 400 },
      );
    });

    it('valid files cut short always fail with FormatError', () => {
      fc.assert(
        fc.property(arbNpy, fc.nat(), (arr, cut) => {
          const bytes = writeNpy(arr);
          assert.ok(attempt(bytes.subarray(0, cut % bytes.length)) instanceof FormatError);
        }),
        { numRuns: 300 },
      );
    });

    it('valid files with one byte flipped', () => {
      fc.assert(
        fc.property(arbNpy, fc.nat(), fc.integer({ min: 1, max: 255 }), (arr, at, xor) => {
          const bytes = writeNpy(arr);
          bytes[at % bytes.length] ^= xor;
          attempt(bytes);
        }),
        { numRuns: 400 },
      );
    });

    it('hostile headers: token soup, huge and odd shapes, bogus dtypes, wrong header lengths', () => {
      const token = fc.constantFrom(
        '{',
        '}',
        '(',
        ')',
        '[',
        ']',
        ':',
        ',',
        ' ',
        "'",
        '"',
        '\\',
        'L',
        '-',
        '.',
        'e5',
        'True',
        'None',
        '0',
        '7',
      );
      const word = fc.constantFrom("'descr'", "'shape'", "'fortran_order'", "'<f4'", "'|b1'", '99999999999999999999', '1e400', 'False');
      const soup = fc.array(fc.oneof(token, word), { maxLength: 60 }).map((t) => t.join(''));
      const entry = fc.oneof(
        fc.integer({ min: -3, max: 6 }).map(String),
        fc.constantFrom('2**64', '4294967296', '9007199254740993', '1.5', "'a'", 'None', '()', '(1,)', '18446744073709551616L', '3L'),
      );
      const dict = fc
        .record({
          descr: fc.constantFrom('<f4', '>f8', '|u1', '<i8', '|b1', '<f2', '<c16', '|O', '<U3', 'f4', '<f3', '>i2'),
          shape: fc.array(entry, { maxLength: 5 }),
          fortran: fc.constantFrom('True', 'False', '0', 'None'),
        })
        .map(
          ({ descr, shape, fortran }) =>
            `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (${shape.map((s) => `${s}, `).join('')}), }`,
        );
      fc.assert(
        fc.property(
          fc.oneof(soup, dict),
          fc.integer({ min: 1, max: 3 }),
          fc.uint8Array({ maxLength: 80 }),
          fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 2 ** 32 - 1 }), weight: 1 }),
          (header, version, data, hlen) => {
            const bytes = npyFile(header, header.length + 64 - ((header.length + 12) % 64) + 12, data, version);
            if (hlen !== undefined) new DataView(bytes.buffer).setUint32(8, hlen, true);
            attempt(bytes);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('Node files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tesserae-npy-'));

    it('reads a missing file as an IoError naming the path, and writes atomically', () => {
      const missing = join(dir, 'missing.npy');
      assert.throws(
        () => readNpyFile(missing),
        (e: unknown) => e instanceof IoError && e.path === missing && e.errno === 'ENOENT' && /no such file/.test(e.message),
      );
      const p = join(dir, 'sub', 'a.npy');
      writeNpyFile(p, { shape: [2], data: Float32Array.of(1, 2) });
      assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.npy'], 'no temporary file left behind');
      assert.deepEqual(Array.from(readNpyFile(p).data), [1, 2]);
    });

    it('a folder, a path through a file, a symlink loop and an unreadable file are IoErrors naming the path', () => {
      const file = join(dir, 'plain.npy');
      writeFileSync(file, 'not npy');
      const loop = join(dir, 'loop.npy');
      symlinkSync(loop, loop);
      const cases: [string, string][] = [
        [dir, 'EISDIR'],
        [join(file, 'inner.npy'), 'ENOTDIR'],
        [loop, 'ELOOP'],
      ];
      for (const [path, errno] of cases)
        assert.throws(
          () => readNpyFile(path),
          (e: unknown) => e instanceof IoError && e.path === path && e.errno === errno && e.message.startsWith(`${path}: cannot `),
          errno,
        );
      assert.throws(
        () => readNpyFile(file),
        (e: unknown) => e instanceof FormatError && e.file === file,
        'content problems stay FormatErrors',
      );
      // root (as here and in CI) reads any file whatever its mode, so EACCES is checked through the mapping itself
      const locked = join(dir, 'locked.npy');
      const denied = toIoError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }), locked, 'read');
      assert.ok(
        denied instanceof IoError && denied.path === locked && denied.errno === 'EACCES' && /permission denied/.test(denied.message),
      );
    });

    it('a failed write throws and leaves the existing good file untouched', () => {
      const good = join(dir, 'good.npy');
      writeNpyFile(good, { shape: [1], data: Int32Array.of(7) });
      const before = readFileSync(good);
      assert.throws(() => writeNpyFile(join(good, 'inner.npy'), { shape: [1], data: Int32Array.of(8) }));
      assert.throws(() => writeNpyFile(good, { shape: [2], data: Int32Array.of(8) }), ConfigError);
      const blocker = `${good}.tmp-${process.pid}`;
      mkdirSync(blocker);
      writeFileSync(join(blocker, 'x'), 'occupied');
      assert.throws(() => writeNpyFile(good, { shape: [1], data: Int32Array.of(9) }));
      rmSync(blocker, { recursive: true });
      assert.deepEqual(readFileSync(good), before);
      assert.deepEqual(Array.from(readNpyFile(good).data), [7]);
      rmSync(dir, { recursive: true, force: true });
    });
  });
});
