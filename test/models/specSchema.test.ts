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
  type MethodName,
  type ModelSpec,
  type Params,
  type SafeTensor,
} from '../../src/index.js';
import { sourceFromMetadata } from '../../src/node/datasets.js';
import { ConfigError } from '../../src/core/errors.js';
import { onCpu, disposeAll } from '../helpers.js';

const SMALL = ['micro/4', 'small/4', 'tiny/4'] as const;
const FILE = 'hostile.safetensors';

const paramsOf = (s: ModelSpec): Params => buildModel(s).init(Key.key(0), { images: tensorSpec([-1, ...s.image]) }).params;
const countOf = (p: Params): number => flatten(p).reduce((n, [, t]) => n + t.size, 0);

/** A weights file of `s` whose metadata is then replaced by `edit` (the tensors stay those of `s`). */
const fileOf = (s: ModelSpec, edit: (meta: Record<string, string>) => Record<string, string> = (m) => m): Uint8Array => {
  const p = paramsOf(s);
  const channels = s.image[s.image.length - 1]!;
  const bytes = encodeWeights(p, 3, {
    spec: JSON.stringify(s),
    norm: JSON.stringify({ mean: new Array<number>(channels).fill(0.5), std: new Array<number>(channels).fill(0.25) }),
    data: JSON.stringify({ kind: 'npy', images: '/home/someone/secret/images.npy' }),
  });
  disposeAll(...flatten(p).map(([, t]) => t));
  const st = readSafetensors(bytes, FILE);
  return writeSafetensors([...st.tensors], edit({ ...st.metadata }));
};

/** An edit of the stored spec's JSON. */
type Edit = (spec: Record<string, Record<string, Record<string, unknown>>>) => unknown;
const withSpec = (change: Edit) => (m: Record<string, string>) => ({
  ...m,
  spec: JSON.stringify(change(JSON.parse(m['spec']!) as Record<string, Record<string, Record<string, unknown>>>)),
});
/** The same file written as 0.1.0 wrote it: `method` and `model` (a 0.1.0 configuration) instead of `spec`. */
const legacyFile = (method: MethodName, config: Record<string, unknown>, s: ModelSpec): Uint8Array =>
  fileOf(s, (m) => {
    const { spec: _spec, ...rest } = m;
    return { ...rest, method, model: JSON.stringify(config) };
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

  it('every preset of every method round-trips through JSON and the schema (the spec law)', () => {
    for (const m of METHODS)
      for (const p of SMALL) {
        const s = presetSpec(m, p);
        assert.deepEqual(decodeModelSpec('spec', JSON.parse(JSON.stringify(s))), s);
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
    const enc = s.network.encoder;
    const huge: [Edit, RegExp][] = [
      [(j) => ({ ...j, network: { ...j['network'], encoder: { ...enc, depth: 1000 } } }), /does not match the weights/],
      [(j) => ({ ...j, network: { ...j['network'], encoder: { ...enc, width: 8192 } } }), /does not match the weights/],
      [(j) => ({ ...j, image: [16384, 16384, 3] }), /does not match the weights/],
      // within the bound, so built (small), then refused by the exact check of every tensor
      [
        (j) => ({ ...j, network: { ...j['network'], decoder: { ...s.network.decoder, mlpRatio: 16 } } }),
        /has shape \[64, 256\], expected \[64, 1024\]/,
      ],
    ];
    for (const [change, want] of huge)
      assert.match(
        refused(() => openModelBytes(fileOf(s, withSpec(change)), FILE)),
        want,
      );
    // the same attack in a 0.1.0-format file (method and model entries)
    const old = { image: [32, 32, 3], patch: 4, encoder: { width: 64, depth: 1000, heads: 4 }, decoder: { width: 64, depth: 2, heads: 4 } };
    assert.match(
      refused(() => openModelBytes(legacyFile('mae', old, s), FILE)),
      /does not match the weights/,
    );
  });

  it('refuses out-of-schema fields with the field named, in the spec and in 0.1.0 metadata', () => {
    const s = presetSpec('umd', 'micro/4');
    const enc = s.network.encoder;
    const branch = (j: Record<string, Record<string, Record<string, unknown>>>, change: Record<string, unknown>) => {
      const c = j['corruption'] as unknown as { branches: { branch: Record<string, unknown> }[] };
      return {
        ...j,
        corruption: { ...c, branches: [{ ...c.branches[0]!, branch: { ...c.branches[0]!.branch, ...change } }, ...c.branches.slice(1)] },
      };
    };
    const cases: [Edit, RegExp][] = [
      [(j) => ({ ...j, network: { ...j['network'], encoder: { ...enc, depth: 1e9 } } }), /spec\.network\.encoder\.depth = 1000000000/],
      [(j) => ({ ...j, image: [65536, 65536, 3] }), /spec\.image\[0\] = 65536/],
      [
        (j) => ({ ...j, network: { ...j['network'], encoder: { ...enc, heads: 5 } } }),
        /spec\.network\.encoder\.heads = 5: must divide the width 64/,
      ],
      [(j) => ({ ...j, network: { ...j['network'], encoder: { ...enc, pos: 'fourier' } } }), /spec\.network\.encoder\.pos = "fourier"/],
      [(j) => ({ ...j, evil: 1 }), /spec\.evil = 1: is not a known field/],
      [(j) => branch(j, { mask: { kind: 'random', ratio: 2 } }), /spec\.corruption\.branches\[0\]\.branch\.mask\.ratio = 2/],
      [(j) => branch(j, { mask: { kind: 'spiral' } }), /mask\.kind = "spiral"/],
      [(j) => branch(j, { time: { kind: 'range', lo: 5, hi: 1 } }), /spec\.corruption\.branches\[0\]\.branch\.time/],
      [() => [1, 2, 3], /spec = \[1, 2, 3\]: must be an object/],
    ];
    for (const [change, want] of cases)
      assert.match(
        refused(() => openModelBytes(fileOf(s, withSpec(change)), FILE)),
        want,
      );
    // a __proto__ key in the JSON is an own key like any other: unknown
    const proto = fileOf(s, (m) => ({ ...m, spec: m['spec']!.replace(/^\{/, '{"__proto__":{"depth":1},') }));
    assert.match(
      refused(() => openModelBytes(proto, FILE)),
      /spec\.__proto__ .*is not a known field/,
    );
    assert.match(
      refused(() =>
        openModelBytes(
          fileOf(s, (m) => ({ ...m, spec: '{' })),
          FILE,
        ),
      ),
      /spec is not valid JSON/,
    );
    // 0.1.0 metadata: the same checks on its configuration
    const cfg = {
      image: [32, 32, 3],
      patch: 4,
      encoder: { width: 64, depth: 4, heads: 4 },
      decoder: { width: 64, depth: 2, heads: 4 },
      clsTokens: 4,
    };
    const legacy: [MethodName | string, Record<string, unknown>, RegExp][] = [
      ['umd', { ...cfg, patch: '4' }, /model\.patch = "4": must be an integer/],
      ['umd', { ...cfg, cleanMask: { kind: 'random', ratio: 2 } }, /model\.cleanMask\.ratio = 2/],
      ['umd', { ...cfg, schedule: { kind: 'linear', steps: 10, betaStart: 0.5, betaEnd: 0.1, rho: 1 } }, /model\.schedule.*betaStart/],
      ['umd', { ...cfg, evil: 1 }, /model\.evil = 1: is not a known field/],
      ['vae', cfg, /method = "vae": must be one of/],
    ];
    for (const [m, c, want] of legacy)
      assert.match(
        refused(() => openModelBytes(legacyFile(m as MethodName, c, s), FILE)),
        want,
      );
  });

  it('any mutation of a valid spec is either a model that fits the file or a FormatError', () => {
    const base = presetSpec('diffmae', 'micro/4');
    const values = fc.oneof(
      fc.integer({ min: -3, max: 100_000 }),
      fc.double({ noNaN: true }),
      fc.string({ maxLength: 6 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 5 }),
      fc.dictionary(
        fc.constantFrom('kind', 'ratio', 'width', 'depth', 'heads', 'placement', 'x'),
        fc.oneof(fc.integer(), fc.string({ maxLength: 8 })),
      ),
    );
    const paths = fc.constantFrom(
      ['image'],
      ['label'],
      ['corruption', 'patching'],
      ['corruption', 'split'],
      ['corruption', 'branches'],
      ['network', 'encoder'],
      ['network', 'decoder'],
      ['network', 'heads'],
      ['network', 'encoder', 'width'],
      ['network', 'encoder', 'depth'],
      ['network', 'encoder', 'clsTokens'],
      ['network', 'decoder', 'kind'],
      ['network', 'decoder', 'depth'],
      ['network', 'decoder', 'topDown'],
      ['surprise'],
    );
    const json = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
    const st = readSafetensors(fileOf(base), FILE);
    const paramValues = [...st.tensors].reduce((n, [k, t]) => (k.startsWith('params.') ? n + t.data.length : n), 0);
    let accepted = 0;
    fc.assert(
      fc.property(paths, values, (path, value) => {
        const j = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
        let at: Record<string, unknown> = j;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[path[path.length - 1]!] = value;
        try {
          const s = checkpointSpec({ spec: JSON.stringify(j) }, paramValues, FILE);
          assert.ok(modelSizeBound(s) <= 4 * paramValues + 1_000_000);
          accepted++;
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 400, seed: 15 },
    );
    assert.ok(accepted > 0, 'some mutations are valid specs');
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

  it('an export names no path: not the file it came from, not the data; it stores the spec', () => {
    const s = presetSpec('mae', 'micro/4');
    const opened = openModelBytes(fileOf(s), '/home/someone/runs/a/checkpoints/latest.safetensors');
    const meta = readSafetensors(exportWeights(opened), 'export').metadata;
    disposeAll(...flatten(opened.params).map(([, t]) => t));
    assert.ok(!JSON.stringify(meta).includes('/home/someone'), JSON.stringify(meta));
    assert.equal(meta['data'], undefined);
    assert.deepEqual(JSON.parse(meta['spec']!), JSON.parse(JSON.stringify(s)));
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
