/**
 * A second, independent MAE forward pass in plain loops and double precision, written from the
 * reference models_mae.py. It reads PyTorch-layout weights by their state-dict names directly
 * (Linear [out, in], Conv2d [D, C, p, p]) and shares no code with tesserae's mapping.
 */
import { erf } from './oracles.js';

export type RefWeights = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>;

const W = (w: RefWeights, name: string) => {
  const e = w.get(name);
  if (!e) throw new Error(`oracle: missing ${name}`);
  return e;
};

/** y = x W^T + b for x [n, in], torch weight [out, in]. */
const linear = (x: number[][], w: RefWeights, name: string): number[][] => {
  const wt = W(w, `${name}.weight`);
  const b = W(w, `${name}.bias`).data;
  const [out, inn] = wt.shape as [number, number];
  return x.map((row) => {
    const y = new Array<number>(out);
    for (let o = 0; o < out; o++) {
      let s = b[o]!;
      for (let i = 0; i < inn; i++) s += row[i]! * wt.data[o * inn + i]!;
      y[o] = s;
    }
    return y;
  });
};

const layerNorm = (x: number[][], w: RefWeights, name: string, eps = 1e-6): number[][] => {
  const g = W(w, `${name}.weight`).data;
  const b = W(w, `${name}.bias`).data;
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const v = row.reduce((a, q) => a + (q - mean) ** 2, 0) / row.length;
    return row.map((q, i) => ((q - mean) / Math.sqrt(v + eps)) * g[i]! + b[i]!);
  });
};

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

const attention = (x: number[][], w: RefWeights, name: string, heads: number): number[][] => {
  const qkv = linear(x, w, `${name}.qkv`);
  const n = x.length;
  const d = x[0]!.length;
  const hd = d / heads;
  const out = Array.from({ length: n }, () => new Array<number>(d).fill(0));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const s = new Array<number>(n);
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let c = 0; c < hd; c++) dot += qkv[i]![h * hd + c]! * qkv[j]![d + h * hd + c]!;
        s[j] = dot * hd ** -0.5;
      }
      const mx = Math.max(...s);
      const e = s.map((v) => Math.exp(v - mx));
      const z = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < hd; c++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += (e[j]! / z) * qkv[j]![2 * d + h * hd + c]!;
        out[i]![h * hd + c] = acc;
      }
    }
  }
  return linear(out, w, `${name}.proj`);
};

const block = (x: number[][], w: RefWeights, name: string, heads: number): number[][] => {
  const a = attention(layerNorm(x, w, `${name}.norm1`), w, `${name}.attn`, heads);
  const x1 = x.map((r, i) => r.map((v, j) => v + a[i]![j]!));
  const h = linear(layerNorm(x1, w, `${name}.norm2`), w, `${name}.mlp.fc1`).map((r) => r.map(gelu));
  const m = linear(h, w, `${name}.mlp.fc2`);
  return x1.map((r, i) => r.map((v, j) => v + m[i]![j]!));
};

const countBlocks = (w: RefWeights, prefix: string): number => {
  let n = 0;
  while (w.has(`${prefix}.${n}.norm1.weight`)) n++;
  return n;
};

export interface OracleOut {
  /** [N, L, P] */
  readonly pred: number[][][];
  /** [N, L] */
  readonly mask: number[][];
  readonly loss: number;
}

/**
 * The MAE forward pass and loss for images [N, H, W, C] (channels-last values, as tesserae
 * takes them) and per-sample noise [N, L] (the masking sort key).
 */
export const maeForward = (
  w: RefWeights,
  images: ArrayLike<number>,
  n: number,
  noise: ArrayLike<number>,
  o: { readonly heads: number; readonly decoderHeads: number; readonly maskRatio: number; readonly normPix: boolean },
): OracleOut => {
  const pe = W(w, 'patch_embed.proj.weight');
  const [d, c, p] = pe.shape as [number, number, number, number];
  const pos = W(w, 'pos_embed').data;
  const dpos = W(w, 'decoder_pos_embed').data;
  const l = W(w, 'pos_embed').shape[1]! - 1;
  const side = Math.round(Math.sqrt(l));
  const hh = side * p;
  const dd = W(w, 'decoder_embed.weight').shape[0]!;
  const keep = Math.floor(l * (1 - o.maskRatio));
  const preds: number[][][] = [];
  const masks: number[][] = [];
  let lossNum = 0;
  let lossDen = 0;
  for (let s = 0; s < n; s++) {
    const px = (y: number, x: number, ch: number): number => images[((s * hh + y) * hh + x) * c + ch]!;
    // patch embedding as the Conv2d computes it, plus positions
    const tokens: number[][] = [];
    const targets: number[][] = [];
    for (let i = 0; i < side; i++)
      for (let j = 0; j < side; j++) {
        const t = new Array<number>(d);
        for (let e = 0; e < d; e++) {
          let acc = W(w, 'patch_embed.proj.bias').data[e]!;
          for (let ch = 0; ch < c; ch++)
            for (let r = 0; r < p; r++)
              for (let q = 0; q < p; q++) acc += pe.data[((e * c + ch) * p + r) * p + q]! * px(i * p + r, j * p + q, ch);
          t[e] = acc + pos[(1 + i * side + j) * d + e]!;
        }
        tokens.push(t);
        // the reference patchify: (p, q, c) order, channel fastest
        const tg: number[] = [];
        for (let r = 0; r < p; r++) for (let q = 0; q < p; q++) for (let ch = 0; ch < c; ch++) tg.push(px(i * p + r, j * p + q, ch));
        targets.push(tg);
      }
    // random_masking with the given noise
    const u = Array.from({ length: l }, (_, k) => noise[s * l + k]!);
    const shuffle = Array.from({ length: l }, (_, k) => k).sort((a, b) => u[a]! - u[b]! || a - b);
    const restore = new Array<number>(l);
    shuffle.forEach((id, k) => (restore[id] = k));
    const mask = new Array<number>(l).fill(1);
    for (let k = 0; k < keep; k++) mask[shuffle[k]!] = 0;
    const cls = Array.from({ length: d }, (_, e) => W(w, 'cls_token').data[e]! + pos[e]!);
    let x = [cls, ...shuffle.slice(0, keep).map((id) => tokens[id]!)];
    for (let b = 0; b < countBlocks(w, 'blocks'); b++) x = block(x, w, `blocks.${b}`, o.heads);
    x = layerNorm(x, w, 'norm');
    // decoder
    const y0 = linear(x, w, 'decoder_embed');
    const mt = Array.from(W(w, 'mask_token').data);
    const shuffled = [...y0.slice(1), ...Array.from({ length: l - keep }, () => mt)];
    let y = [y0[0]!, ...restore.map((k) => shuffled[k]!)].map((row, i) => row.map((v, e) => v + dpos[i * dd + e]!));
    for (let b = 0; b < countBlocks(w, 'decoder_blocks'); b++) y = block(y, w, `decoder_blocks.${b}`, o.decoderHeads);
    y = layerNorm(y, w, 'decoder_norm');
    const pred = linear(y, w, 'decoder_pred').slice(1);
    // loss
    for (let k = 0; k < l; k++) {
      let tg = targets[k]!;
      if (o.normPix) {
        const mean = tg.reduce((a, v) => a + v, 0) / tg.length;
        const v = tg.reduce((a, q) => a + (q - mean) ** 2, 0) / (tg.length - 1);
        tg = tg.map((q) => (q - mean) / Math.sqrt(v + 1e-6));
      }
      const err = pred[k]!.reduce((a, q, e) => a + (q - tg[e]!) ** 2, 0) / tg.length;
      lossNum += err * mask[k]!;
      lossDen += mask[k]!;
    }
    preds.push(pred);
    masks.push(mask);
  }
  return { pred: preds, mask: masks, loss: lossNum / lossDen };
};
