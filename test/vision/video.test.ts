import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import {
  tf,
  Key,
  spec,
  Mask,
  drawMask,
  keepCount,
  gridOf,
  tubelets,
  patches,
  patchifyOp,
  unpatchifyOp,
  sincos1d,
  sincos2d,
  sincos3d,
  syntheticVideos,
  synthetic,
  mae,
  diffmae,
  condModel,
  MAE_PRESETS,
  DIFFMAE_PRESETS,
  COND_PRESETS,
  onVideo,
  withMaskKind,
  buildModel,
  presetSpec,
  fromLegacy,
  trainStep,
  initOpt,
  adamw,
  disposeState,
  nearestFrameFill,
  meanColourFill,
  encodeApng,
  decodePng,
  ConfigError,
  ShapeError,
  type MaeConfig,
  type DiffMaeConfig,
  type CondConfig,
} from '../../src/index.js';
import { arbKey, arbSpacetimeMask, arbVideoGeometry } from '../../src/testing/index.js';
import { noLeak, onWasm } from '../helpers.js';

onWasm();

describe('tubelet patchify', () => {
  it('law: unpatchify(patchify(x)) == x exactly, for random clip shapes, tubelets and patch sizes', () => {
    fc.assert(
      fc.property(arbVideoGeometry(), fc.integer({ min: 1, max: 2 }), ({ patching, shape }, n) => {
        const x = tf.tensor(Key.uniform(Key.key(7), n * shape.reduce((a, b) => a * b, 1)), [n, ...shape]);
        const g = gridOf(patching, shape);
        const tokens = patchifyOp(patching, x);
        assert.deepEqual(tokens.shape, [n, g.tokens, g.patchDim]);
        const back = unpatchifyOp(g, tokens);
        assert.deepEqual(Array.from(back.dataSync()), Array.from(x.dataSync()));
        tf.dispose([x, tokens, back]);
      }),
      { numRuns: 40 },
    );
  });

  it('uses the documented layout: token s*h*w + i*w + j holds frame s*t + dt, pixel (i*p + r, j*p + c) at ((dt*p + r)*p + c)*C + ch', () => {
    const [n, tt, hh, ww, cc, t, p] = [2, 4, 6, 4, 3, 2, 2];
    const data = Float32Array.from({ length: n * tt * hh * ww * cc }, (_, i) => i);
    const x = tf.tensor(data, [n, tt, hh, ww, cc]);
    const tok = patchifyOp(tubelets(t, p), x).arraySync() as number[][][];
    const at = (b: number, f: number, y: number, xx: number, ch: number) => (((b * tt + f) * hh + y) * ww + xx) * cc + ch;
    const [h, w] = [hh / p, ww / p];
    for (const [b, s, i, j, dt, r, c, ch] of [
      [0, 0, 0, 0, 0, 0, 0, 0],
      [1, 1, 2, 1, 1, 1, 0, 2],
      [0, 1, 1, 0, 0, 1, 1, 1],
    ] as const)
      assert.equal(tok[b]![s * h * w + i * w + j]![((dt * p + r) * p + c) * cc + ch], at(b, s * t + dt, i * p + r, j * p + c, ch));
    x.dispose();
  });

  it('names bad geometry: a tubelet that does not divide the frames, a clip of the wrong rank', () => {
    assert.throws(
      () => gridOf(tubelets(3, 4), [8, 32, 32, 3]),
      (e: unknown) => e instanceof ConfigError && /tubelet frames = 3/.test(e.message),
    );
    assert.throws(() => gridOf(tubelets(2, 4), [32, 32, 3]), ShapeError);
    assert.throws(() => gridOf(patches(4), [8, 32, 32, 3]), ShapeError);
    assert.throws(
      () => patchifyOp(tubelets(2, 4), tf.zeros([1, 32, 32, 3])),
      (e: unknown) => e instanceof ShapeError && /\[N, T, H, W, C\]/.test(e.message),
    );
  });
});

describe('spacetime masks', () => {
  const grid = { times: 4, rows: 3, cols: 5 };
  const hw = 15;

  it('law: for every spacetime mask, ids_restore inverts ids_shuffle and the first keep ids are exactly the kept tokens', () => {
    fc.assert(
      fc.property(arbSpacetimeMask(4, 3, 5), arbKey(), fc.integer({ min: 1, max: 3 }), (m, k, batch) => {
        const d = drawMask(m, k, batch, grid);
        for (let b = 0; b < batch; b++) {
          const o = b * d.length;
          for (let j = 0; j < d.length; j++) {
            const id = d.idsShuffle[o + j]!;
            assert.equal(d.idsRestore[o + id], j);
            assert.equal(d.mask[o + id], j < d.keep ? 0 : 1);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('tube: one random spatial mask, the same in every time slice, keeping times * floor(h w (1 - r))', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.99, noNaN: true }), arbKey(), (r, k) => {
        const d = drawMask(Mask.tube(r), k, 3, grid);
        assert.equal(d.keep, 4 * keepCount(hw, r));
        for (let b = 0; b < 3; b++)
          for (let s = 1; s < 4; s++)
            for (let cell = 0; cell < hw; cell++) assert.equal(d.mask[b * 60 + s * hw + cell], d.mask[b * 60 + cell]);
      }),
      { numRuns: 80 },
    );
  });

  it('frame: whole time slices, keeping floor(times (1 - r)) of them; needs more than one slice', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.99, noNaN: true }), arbKey(), (r, k) => {
        const d = drawMask(Mask.frame(r), k, 2, grid);
        assert.equal(d.keep, keepCount(4, r) * hw);
        for (let b = 0; b < 2; b++)
          for (let s = 0; s < 4; s++) {
            const slice = Array.from(d.mask.subarray(b * 60 + s * hw, b * 60 + (s + 1) * hw));
            assert.ok(
              slice.every((v) => v === slice[0]),
              `slice ${s} is all kept or all removed`,
            );
          }
      }),
      { numRuns: 80 },
    );
    assert.throws(() => drawMask(Mask.frame(0.5), Key.key(0), 1, { rows: 3, cols: 5 }), /needs a video grid/);
  });

  it('random masks draw from the key; center and block repeat their rectangle in every slice', () => {
    const a = drawMask(Mask.tube(0.5), Key.key(1), 2, grid);
    assert.deepEqual(drawMask(Mask.tube(0.5), Key.key(1), 2, grid), a);
    assert.notDeepEqual(drawMask(Mask.tube(0.5), Key.key(2), 2, grid).mask, a.mask);
    const c = drawMask(Mask.center(0.25), Key.key(0), 1, grid);
    const one = drawMask(Mask.center(0.25), Key.key(0), 1, { rows: 3, cols: 5 });
    assert.deepEqual(
      Array.from(c.mask),
      [0, 1, 2, 3].flatMap(() => Array.from(one.mask)),
    );
  });
});

describe('spacetime position embedding', () => {
  it('is the 2D table of the cell plus the 1D table of the time slice', () => {
    const t3 = sincos3d(3, 2, 4, 8);
    const t2 = sincos2d(2, 4, 8);
    const t1 = sincos1d(8, [0, 1, 2]);
    for (let s = 0; s < 3; s++)
      for (let cell = 0; cell < 8; cell++)
        for (let c = 0; c < 8; c++) assert.ok(Math.abs(t3[(s * 8 + cell) * 8 + c]! - (t2[cell * 8 + c]! + t1[s * 8 + c]!)) < 1e-6);
  });
});

describe('synthetic videos', () => {
  it('are deterministic, start from the still image, move, and stay in [0, 1]', () => {
    const v = syntheticVideos({ count: 4, frames: 6, size: 16, seed: 3 });
    assert.equal(v.frames, 6);
    assert.deepEqual(v.images, syntheticVideos({ count: 4, frames: 6, size: 16, seed: 3 }).images);
    const still = synthetic({ count: 4, size: 16, seed: 3 });
    const per = 16 * 16 * 3;
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        Array.from(v.images.subarray(i * 6 * per, i * 6 * per + per)),
        Array.from(still.images.subarray(i * per, (i + 1) * per)),
      );
      let moved = 0;
      for (let j = 0; j < per; j++) moved += Math.abs(v.images[i * 6 * per + 5 * per + j]! - v.images[i * 6 * per + j]!);
      assert.ok(moved / per > 0.01, `clip ${i} changes between frames 0 and 5 (${moved / per})`);
    }
    assert.ok(v.images.every((x) => x >= 0 && x <= 1));
    assert.deepEqual(Array.from(v.labels), [0, 1, 2, 3]);
  });
});

describe('MAE, DiffMAE and UMD on video: only the patching and the mask change', () => {
  const size = { image: [16, 16, 3] as const, patch: 4, encoder: { width: 16, depth: 1, heads: 2 } };
  const clips = syntheticVideos({ count: 2, frames: 4, size: 16 });
  const cases = [
    [
      'mae',
      withMaskKind(
        onVideo(fromLegacy({ method: 'mae', config: { ...size, decoder: { width: 16, depth: 1, heads: 2 } } as MaeConfig }), 4),
        'tube',
      ),
    ],
    [
      'diffmae',
      withMaskKind(
        onVideo(
          fromLegacy({
            method: 'diffmae',
            // frame masks remove whole time slices: at 0.75 of 2 slices nothing would stay visible (refused), so 0.5
            config: { ...size, decoder: { kind: 'cross-self', width: 16, depth: 1, heads: 2 }, maskRatio: 0.5 } as DiffMaeConfig,
          }),
          4,
        ),
        'frame',
      ),
    ],
    [
      'umd',
      withMaskKind(
        onVideo(
          fromLegacy({ method: 'umd', config: { ...size, decoder: { width: 16, depth: 1, heads: 2 }, clsTokens: 2 } as CondConfig }),
          4,
        ),
        'tube',
      ),
    ],
  ] as const;
  for (const [name, s] of cases) {
    it(`${name}: trains a step on clips [2, 4, 16, 16, 3] with a finite loss, and leaks nothing`, () => {
      const model = buildModel(s);
      assert.equal(model.corruption.patching.kind, 'tubelet');
      const { params } = model.init(Key.key(0), { images: spec([-1, 4, 16, 16, 3]) });
      const images = tf.tensor(clips.images, [2, 4, 16, 16, 3]);
      const state = { params, opt: initOpt(params), step: 0 };
      const before = tf.memory().numTensors;
      const r = trainStep(model, state, [{ images }], Key.key(1), { adamw: adamw(), lr: 1e-3, clip: null });
      assert.ok(Number.isFinite(r.loss) && r.loss > 0, `${name} loss ${r.loss}`);
      assert.ok(Number.isFinite(r.gradNorm) && r.gradNorm > 0);
      disposeState(r.state);
      assert.equal(tf.memory().numTensors, before, 'a step leaves nothing but its new state');
      assert.throws(() => model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) }), ShapeError);
      images.dispose();
      disposeState(state);
    });
  }

  it('the presets accept video by configuration alone', () => {
    const v = onVideo(presetSpec('mae', 'micro/4'), 8);
    assert.deepEqual(v.image, [8, 32, 32, 3]);
    assert.deepEqual(v.corruption.patching, tubelets(2, 4));
    assert.equal(buildModel(v).corruption.patching.kind, 'tubelet');
    assert.equal(buildModel(v).grid.video, true);
    assert.equal(buildModel(presetSpec('umd', 'micro/4', { image: [8, 32, 32, 3], tubelet: 4 })).corruption.patching.kind, 'tubelet');
    assert.equal(diffmae({ ...DIFFMAE_PRESETS['micro/4'], image: [8, 32, 32, 3] }).corruption.patching.kind, 'tubelet');
    assert.equal(
      condModel('umd', { ...COND_PRESETS.umd['micro/4'], image: [8, 32, 32, 3], tubelet: 4 }).corruption.patching.kind,
      'tubelet',
    );
    assert.throws(
      () => mae({ ...MAE_PRESETS['micro/4'], tubelet: 2 }),
      (e: unknown) => e instanceof ConfigError && /tubelet = 2/.test(e.message),
    );
    assert.throws(
      () => presetSpec('mae', 'micro/4', { tubelet: 2 }),
      (e: unknown) => e instanceof ConfigError && /tubelet = 2/.test(e.message),
    );
    // DiT has no mask: asking for tube masks is refused by name
    assert.throws(
      () => withMaskKind(presetSpec('dit', 'micro/4'), 'tube'),
      (e: unknown) => e instanceof ConfigError && e.field === 'mask kind' && e.value === 'tube' && /has no random mask/.test(e.message),
    );
    assert.throws(() => presetSpec('dit', 'micro/4', { image: [8, 32, 32, 3], maskKind: 'tube' }), /DiT has no mask/);
  });
});

describe('video inpainting baselines', () => {
  const grid = gridOf(tubelets(1, 2), [4, 4, 4, 1]);
  const clip = () =>
    tf.tidy(() =>
      patchifyOp(
        tubelets(1, 2),
        tf.tensor(
          Float32Array.from({ length: 64 }, (_, i) => Math.floor(i / 16) + 1),
          [1, 4, 4, 4, 1],
        ),
      ),
    );

  it('nearest visible frame: copies the closest visible time slice at the same cell; visible patches unchanged', () => {
    // frames hold the constants 1, 2, 3, 4; remove frames 1 and 2 everywhere
    const mask = tf.tensor2d(
      Float32Array.from({ length: 16 }, (_, i) => (i >= 4 && i < 12 ? 1 : 0)),
      [1, 16],
    );
    const x0 = clip();
    const out = noLeak(() => nearestFrameFill(grid, x0, mask));
    const v = out.arraySync() as number[][][];
    assert.deepEqual(
      v[0]!.map((p) => p[0]),
      [1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4],
    );
    tf.dispose([mask, out, x0]);
  });

  it('falls back to the mean colour where no frame at that cell is visible (a tube)', () => {
    const mask = tf.tensor2d(
      Float32Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? 1 : 0)),
      [1, 16],
    );
    const x0 = clip();
    const a = nearestFrameFill(grid, x0, mask);
    const b = meanColourFill(grid, x0, mask);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    tf.dispose([mask, a, b, x0]);
  });
});

describe('animated PNG', () => {
  it('holds every frame in order (acTL, fcTL/fdAT with consecutive sequence numbers) and decodes to its first frame', () => {
    const frame = (v: number) => ({ width: 3, height: 2, channels: 3 as const, data: new Uint8Array(18).fill(v) });
    const bytes = encodeApng([frame(10), frame(20), frame(30)], 100, (raw) => new Uint8Array(deflateSync(raw)));
    const chunks: { type: string; data: Uint8Array }[] = [];
    for (let o = 8; o < bytes.length;) {
      const len = new DataView(bytes.buffer, bytes.byteOffset + o).getUint32(0);
      chunks.push({ type: String.fromCharCode(...bytes.subarray(o + 4, o + 8)), data: bytes.subarray(o + 8, o + 8 + len) });
      o += 12 + len;
    }
    assert.deepEqual(
      chunks.map((c) => c.type),
      ['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'fcTL', 'fdAT', 'IEND'],
    );
    assert.equal(new DataView(chunks[1]!.data.buffer, chunks[1]!.data.byteOffset).getUint32(0), 3);
    const seqs = chunks
      .filter((c) => c.type === 'fcTL' || c.type === 'fdAT')
      .map((c) => new DataView(c.data.buffer, c.data.byteOffset).getUint32(0));
    assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
    const first = decodePng(bytes, 'a.png', (z) => new Uint8Array(inflateSync(z)));
    assert.deepEqual(Array.from(first.data), Array.from(frame(10).data));
    assert.throws(() => encodeApng([frame(1), { ...frame(2), width: 2, data: new Uint8Array(12) }], 100), ShapeError);
  });
});
