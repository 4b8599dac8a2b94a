import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  buildModel,
  fromLegacy,
  modelFlops,
  MAE_PRESETS,
  DIFFMAE_PRESETS,
  COND_PRESETS,
  synthetic,
  disposeParams,
  type ModelSpec,
} from '../../src/index.js';
import { onCpu } from '../helpers.js';

/** 2·M·K·N summed over the matrix-product kernels tfjs runs for one forward pass. */
const measured = async (s: ModelSpec, batch: number): Promise<number> => {
  const model = buildModel(s);
  const [h, w, c] = s.image;
  const { params } = model.init(Key.key(0), { images: spec([-1, h, w, c]) });
  const images = tf.tensor4d(synthetic({ count: batch, size: h }).images, [batch, h, w, c]);
  const prof = await tf.profile(() => {
    tf.tidy(() => void model.apply(params, { images }, ctx(Key.key(1))).loss.dataSync());
  });
  let flops = 0;
  for (const k of prof.kernels) {
    if (k.name !== 'BatchMatMul' && k.name !== '_FusedMatMul') continue;
    // 2 · |output| · K, with K the last axis of a (the forward pass never transposes a)
    const [a] = k.inputShapes as number[][];
    const out = (k.outputShapes as number[][])[0]!;
    flops += 2 * out.reduce((x, y) => x * y, 1) * a![a!.length - 1]!;
  }
  images.dispose();
  disposeParams(params);
  return flops;
};

describe('analytic FLOP counts', () => {
  onCpu();
  const cases: [string, ModelSpec][] = [
    ['MAE micro/4', fromLegacy({ method: 'mae', config: MAE_PRESETS['micro/4'] })],
    ['MAE small/4', fromLegacy({ method: 'mae', config: MAE_PRESETS['small/4'] })],
    ['DiffMAE cross-self', fromLegacy({ method: 'diffmae', config: DIFFMAE_PRESETS['micro/4'] })],
    [
      'DiffMAE cross',
      fromLegacy({
        method: 'diffmae',
        config: { ...DIFFMAE_PRESETS['micro/4'], decoder: { ...DIFFMAE_PRESETS['micro/4'].decoder, kind: 'cross' } },
      }),
    ],
    [
      'DiffMAE joint',
      fromLegacy({
        method: 'diffmae',
        config: { ...DIFFMAE_PRESETS['micro/4'], decoder: { ...DIFFMAE_PRESETS['micro/4'].decoder, kind: 'joint' } },
      }),
    ],
    ['UMD adaLN', fromLegacy({ method: 'umd', config: { ...COND_PRESETS.umd['micro/4'], classes: 10 } })],
    ['UMD token', fromLegacy({ method: 'umd', config: { ...COND_PRESETS.umd['micro/4'], conditioning: 'token' } })],
    ['MaskDiT', fromLegacy({ method: 'maskdit', config: COND_PRESETS.maskdit['micro/4'] })],
    ['DiT', fromLegacy({ method: 'dit', config: COND_PRESETS.dit['micro/4'] })],
  ];
  for (const [name, s] of cases) {
    it(`${name}: the formula equals the sum over the matrix products tfjs runs`, async () => {
      const batch = 2;
      assert.equal(await measured(s, batch), batch * modelFlops(s).forward);
    });
  }
});
