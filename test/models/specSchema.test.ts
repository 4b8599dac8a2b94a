// Checkpoint metadata is untrusted: the model description is decoded against a schema and
// checked against the file's own tensors before anything is built, so a small file cannot make
// the reader allocate a model of gigabytes; NaN weights, a malformed norm and path-bearing data
// sources are refused; an export names no path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  FormatError,
  Key,
  METHODS,
  buildModel,
  checkpointSpec,
  decodeModelSpec,
  encodeWeights,
  exportWeights,
  flatten,
  modelSizeBound,
  openModelBytes,
  presetSpec,
  readSafetensors,
  spec as tensorSpec,
  writeSafetensors,
  type ModelSpec,
  type Params,
  type SafeTensor,
} from '../../src/index.js';
import { sourceFromMetadata } from '../../src/node/datasets.js';
import { ConfigError } from '../../src/core/errors.js';
import { onCpu, disposeAll } from '../helpers.js';

const SMALL = ['micro/4', 'small/4', 'tiny/4'] as const;
const FILE = 'hostile.safetensors';

const paramsOf = (s: ModelSpec): Params =>
  buildModel(s).model.init(Key.key(0), { images: tensorSpec([-1, ...s.config.image]) }).params as Params;
const countOf = (p: Params): number => flatten(p).reduce((n, [, t]) => n + t.size, 0);

/** A weights file of `s` whose metadata is then replaced by `edit` (the tensors stay those of `s`). */
const fileOf = (s: ModelSpec, edit: (meta: Record<string, string>) => Record<string, string> = (m) => m): Uint8Array => {
  const p = paramsOf(s);
  const channels = s.config.image[s.config.image.length - 1]!;
  const bytes = encodeWeights(p, 3, {
    method: s.method,
    model: JSON.stringify(s.config),
    norm: JSON.stringify({ mean: new Array<number>(channels).fill(0.5), std: new Array<number>(channels).fill(0.25) }),
    data: JSON.stringify({ kind: 'npy', images: '/home/someone/secret/images.npy' }),
  });
  disposeAll(...flatten(p).map(([, t]) => t));
  const st = readSafetensors(bytes, FILE);
  return writeSafetensors([...st.tensors], edit({ ...st.metadata }));
};

const withModel = (s: ModelSpec, change: (cfg: Record<string, unknown>) => Record<string, unknown>) => (m: Record<string, string>) => ({
  ...m,
  model: JSON.stringify(change(JSON.parse(m['model']!) as Record<string, unknown>)),
});

/** Runs `fn`, which must throw a FormatError promptly; returns its message. */
const refused = (fn: () => unknown): string => {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.ok(performance.now() - t0 < 2000, 'refused promptly');
    return e.message;
  }
  assert.fail('was accepted');
};

describe('model specs from untrusted metadata', () => {
  onCpu();

  it('every preset of every method round-trips through JSON and the schema', () => {
    for (const m of METHODS)
      for (const p of SMALL) {
        const s = presetSpec(m, p);
        assert.deepEqual(decodeModelSpec(s.method, JSON.parse(JSON.stringify(s.config)), FILE), s);
      }
  });

  it('the size bound holds every small preset and stays within 2.5x of its real parameter count', () => {
    for (const m of METHODS)
      for (const p of SMALL) {
        const s = presetSpec(m, p);
        const params = paramsOf(s);
        const n = countOf(params);
        disposeAll(...flatten(params).map(([, t]) => t));
        const bound = modelSizeBound(s);
        assert.ok(bound >= n, `${m} ${p}: bound ${bound} below the real ${n}`);
        assert.ok(bound <= 2.5 * n, `${m} ${p}: bound ${bound} over 2.5x the real ${n}`);
      }
  });

  it('refuses descriptions far larger than the tensors (depth 1000, width 8192, 16384 x 16384 images) before building', () => {
    const s = presetSpec('mae', 'micro/4');
    const huge: [(c: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
      [(c) => ({ ...c, encoder: { width: 64, depth: 1000, heads: 4 } }), /does not match the weights/],
      [(c) => ({ ...c, encoder: { width: 8192, depth: 4, heads: 4 } }), /does not match the weights/],
      [(c) => ({ ...c, image: [16384, 16384, 3] }), /does not match the weights/],
      // within the bound, so built (small), then refused by the exact check of every tensor
      [(c) => ({ ...c, decoder: { width: 64, depth: 2, heads: 4, mlpRatio: 16 } }), /has shape \[64, 256\], expected \[64, 1024\]/],
    ];
    for (const [change, want] of huge)
      assert.match(
        refused(() => openModelBytes(fileOf(s, withModel(s, change)), FILE)),
        want,
      );
  });

  it('refuses out-of-schema fields with the field named', () => {
    const s = presetSpec('umd', 'micro/4');
    const cases: [(c: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
      [(c) => ({ ...c, encoder: { width: 64, depth: 1e9, heads: 4 } }), /model\.encoder\.depth = 1000000000/],
      [(c) => ({ ...c, image: [65536, 65536, 3] }), /model\.image\[0\] = 65536/],
      [(c) => ({ ...c, encoder: { width: 64, depth: 4, heads: 5 } }), /model\.encoder\.heads = 5: must divide the width 64/],
      [(c) => ({ ...c, patch: '4' }), /model\.patch = "4": must be an integer/],
      [(c) => ({ ...c, evil: 1 }), /model\.evil = 1: is not a known field/],
      [(c) => ({ ...c, cleanMask: { kind: 'random', ratio: 2 } }), /model\.cleanMask\.ratio = 2/],
      [(c) => ({ ...c, cleanMask: { kind: 'spiral' } }), /model\.cleanMask\.kind = "spiral"/],
      [(c) => ({ ...c, schedule: { kind: 'linear', steps: 10, betaStart: 0.5, betaEnd: 0.1, rho: 1 } }), /model\.schedule.*betaStart/],
      [(c) => ({ ...c, pos: 'fourier' }), /model\.pos = "fourier"/],
      [() => [1, 2, 3] as unknown as Record<string, unknown>, /model = \[1, 2, 3\]: must be an object/],
    ];
    for (const [change, want] of cases)
      assert.match(
        refused(() => openModelBytes(fileOf(s, withModel(s, change)), FILE)),
        want,
      );
    // a __proto__ key in the JSON is an own key like any other: unknown
    const proto = fileOf(s, (m) => ({ ...m, model: m['model']!.replace(/^\{/, '{"__proto__":{"depth":1},') }));
    assert.match(
      refused(() => openModelBytes(proto, FILE)),
      /model\.__proto__ .*is not a known field/,
    );
    assert.match(
      refused(() =>
        openModelBytes(
          fileOf(s, (m) => ({ ...m, method: 'vae' })),
          FILE,
        ),
      ),
      /method = "vae": must be one of/,
    );
    assert.match(
      refused(() =>
        openModelBytes(
          fileOf(s, (m) => ({ ...m, model: '{' })),
          FILE,
        ),
      ),
      /model is not valid JSON/,
    );
  });

  it('any mutation of a valid description is either a model that fits the file or a FormatError', () => {
    const base = presetSpec('diffmae', 'micro/4');
    const values = fc.oneof(
      fc.integer({ min: -3, max: 100_000 }),
      fc.double({ noNaN: true }),
      fc.string({ maxLength: 6 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 5 }),
      fc.dictionary(fc.constantFrom('kind', 'ratio', 'width', 'depth', 'heads', 'x'), fc.oneof(fc.integer(), fc.string({ maxLength: 8 }))),
    );
    const paths = fc.constantFrom(
      ['image'],
      ['patch'],
      ['tubelet'],
      ['encoder', 'width'],
      ['encoder', 'depth'],
      ['encoder', 'heads'],
      ['encoder', 'mlpRatio'],
      ['decoder', 'kind'],
      ['decoder', 'depth'],
      ['decoder', 'topDown'],
      ['mask'],
      ['schedule'],
      ['target'],
      ['maskRatio'],
      ['surprise'],
    );
    const config = JSON.parse(JSON.stringify(base.config)) as Record<string, unknown>;
    const st = readSafetensors(fileOf(base), FILE);
    const paramValues = [...st.tensors].reduce((n, [k, t]) => (k.startsWith('params.') ? n + t.data.length : n), 0);
    fc.assert(
      fc.property(paths, values, (path, value) => {
        const c = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>;
        if (path.length === 1) (c as Record<string, unknown>)[path[0]!] = value;
        else c[path[0]!]![path[1]!] = value;
        const meta = { method: 'diffmae', model: JSON.stringify(c) };
        try {
          const s = checkpointSpec(meta, paramValues, FILE);
          assert.ok(modelSizeBound(s) <= 4 * paramValues + 1_000_000);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 400, seed: 15 },
    );
  });

  it('NaN or infinite weights are refused with the tensor named', () => {
    const s = presetSpec('mae', 'micro/4');
    const st = readSafetensors(fileOf(s), FILE);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const entries = [...st.tensors].map(([k, t]): [string, SafeTensor] => {
        if (k !== 'params.decoder.head.pred.bias') return [k, t];
        const data = Float32Array.from(t.data as Float32Array);
        data[5] = bad;
        return [k, { dtype: 'F32', shape: t.shape, data }];
      });
      const bytes = writeSafetensors(entries, st.metadata);
      assert.match(
        refused(() => openModelBytes(bytes, FILE)),
        /"params\.decoder\.head\.pred\.bias" holds (NaN|-?Infinity) at index 5/,
      );
    }
  });

  it('a malformed norm is refused', () => {
    const s = presetSpec('mae', 'micro/4');
    for (const norm of ['{"mean":[0,0],"std":[1,1]}', '{"mean":[0,0,0],"std":[1,0,1]}', '[1]', 'x', '{"mean":[0,0,"0"],"std":[1,1,1]}'])
      assert.match(
        refused(() =>
          openModelBytes(
            fileOf(s, (m) => ({ ...m, norm })),
            FILE,
          ),
        ),
        /metadata norm/,
      );
  });

  it('an export names no path: not the file it came from, not the data', () => {
    const s = presetSpec('mae', 'micro/4');
    const opened = openModelBytes(fileOf(s), '/home/someone/runs/a/checkpoints/latest.safetensors');
    const meta = readSafetensors(exportWeights(opened), 'export').metadata;
    disposeAll(...flatten(opened.params).map(([, t]) => t));
    assert.ok(!JSON.stringify(meta).includes('/home/someone'), JSON.stringify(meta));
    assert.equal(meta['data'], undefined);
    assert.equal(meta['method'], 'mae');
    const synth = openModelBytes(
      fileOf(s, (m) => ({ ...m, data: '{"kind":"synthetic"}' })),
      'x',
    );
    assert.equal(readSafetensors(exportWeights(synth), 'export').metadata['data'], '{"kind":"synthetic"}');
    disposeAll(...flatten(synth.params).map(([, t]) => t));
  });
});

describe('the data source a checkpoint records', () => {
  it('a built-in source is used; one read from a path never is', () => {
    assert.deepEqual(sourceFromMetadata('{"kind":"synthetic"}', FILE), { kind: 'synthetic' });
    assert.deepEqual(sourceFromMetadata('{"kind":"synthetic-video","x":1}', FILE), { kind: 'synthetic-video' });
    for (const entry of ['{"kind":"npy","images":"/dev/zero"}', '{"kind":"npy","images":"/etc/passwd"}', '{"kind":"folder","dir":"/"}'])
      assert.throws(
        () => sourceFromMetadata(entry, FILE),
        (e: unknown) => e instanceof ConfigError && e.field === '--data' && /never chooses a file to open/.test(e.message),
      );
    assert.throws(
      () => sourceFromMetadata(undefined, FILE),
      (e: unknown) => e instanceof ConfigError && /give --data/.test(e.message),
    );
    for (const entry of ['{"kind":"http","url":"x"}', '{"kind":7}', '[]', '"synthetic"', '{'])
      assert.throws(() => sourceFromMetadata(entry, FILE), FormatError);
  });
});
