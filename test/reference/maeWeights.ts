/**
 * Random MAE weights under the reference state-dict names and PyTorch layouts, for tests.
 * Position tables are the reference sin-cos, computed with the oracle's own implementation.
 */
import { Key } from '../../src/index.js';
import { sincos2dRef } from './oracles.js';

export interface RefArch {
  readonly side: number;
  readonly patch: number;
  readonly channels: number;
  readonly width: number;
  readonly depth: number;
  readonly decoderWidth: number;
  readonly decoderDepth: number;
  readonly mlpRatio?: number;
}

export const randomReferenceWeights = (k: Key.Key, a: RefArch): Map<string, { shape: number[]; data: Float32Array }> => {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let i = 0;
  const rnd = (name: string, shape: number[], scale = 0.3): void => {
    const n = shape.reduce((x, y) => x * y, 1);
    out.set(name, { shape, data: Key.normal(Key.fold(k, i++), n).map((v) => v * scale) });
  };
  const lin = (name: string, o: number, inn: number): void => {
    rnd(`${name}.weight`, [o, inn], 1 / Math.sqrt(inn));
    rnd(`${name}.bias`, [o], 0.1);
  };
  const ln = (name: string, dd: number): void => {
    out.set(`${name}.weight`, { shape: [dd], data: Key.normal(Key.fold(k, i++), dd).map((v) => 1 + 0.1 * v) });
    rnd(`${name}.bias`, [dd], 0.1);
  };
  const blk = (name: string, dd: number): void => {
    const h = Math.round(dd * (a.mlpRatio ?? 4));
    ln(`${name}.norm1`, dd);
    lin(`${name}.attn.qkv`, 3 * dd, dd);
    lin(`${name}.attn.proj`, dd, dd);
    ln(`${name}.norm2`, dd);
    lin(`${name}.mlp.fc1`, h, dd);
    lin(`${name}.mlp.fc2`, dd, h);
  };
  const l = a.side * a.side;
  const pos = (dd: number): Float32Array =>
    Float32Array.from([...new Array<number>(dd).fill(0), ...sincos2dRef(a.side, a.side, dd).flat()]);
  rnd('cls_token', [1, 1, a.width], 0.02);
  out.set('pos_embed', { shape: [1, 1 + l, a.width], data: pos(a.width) });
  rnd('patch_embed.proj.weight', [a.width, a.channels, a.patch, a.patch], 0.3);
  rnd('patch_embed.proj.bias', [a.width], 0.1);
  for (let b = 0; b < a.depth; b++) blk(`blocks.${b}`, a.width);
  ln('norm', a.width);
  rnd('mask_token', [1, 1, a.decoderWidth], 0.02);
  out.set('decoder_pos_embed', { shape: [1, 1 + l, a.decoderWidth], data: pos(a.decoderWidth) });
  lin('decoder_embed', a.decoderWidth, a.width);
  for (let b = 0; b < a.decoderDepth; b++) blk(`decoder_blocks.${b}`, a.decoderWidth);
  ln('decoder_norm', a.decoderWidth);
  lin('decoder_pred', a.patch * a.patch * a.channels, a.decoderWidth);
  return out;
};
