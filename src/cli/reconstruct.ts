/**
 * `tesserae reconstruct`: the reference MAE forward pass on reference-named weights, with the
 * mask given as per-sample noise (the reference convention). Writes pred.npy, mask.npy and a
 * PNG grid; prints one JSON line. Every input is validated before anything is written.
 *
 * @since 0.1.0
 */
import { assertFiniteTensor } from '../train/checkpoint.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, FormatError, ShapeError } from '../core/errors.js';
import { key } from '../core/key.js';
import { ctx } from '../core/layer.js';
import { disposeParams } from '../core/params.js';
import { tf } from '../core/tf.js';
import { useBackend, type BackendChoice } from '../backends/index.js';
import { keepCount, maskFromNoise, requireVisible } from '../corruption/mask.js';
import { maskedMse, reconstructionGrid, unnormalizeNormPix } from '../eval/reconstruction.js';
import { tileImages } from '../io/images.js';
import { toFloat32 } from '../io/safetensors.js';
import { mae } from '../models/mae.js';
import { inferMaeConfig, importMaeReference } from '../models/maeReference.js';
import { applyWithMask } from '../models/model.js';
import { prepareOutputFolder, writePng } from '../node/files.js';
import { readNpyFile, readSafetensorsFile, writeNpyFile } from '../node/tensorFiles.js';
import { gridOf } from '../vision/patchify.js';

/**
 * What `tesserae reconstruct` is given.
 *
 * @since 0.1.0
 */
export interface ReconstructRun {
  readonly weights: string;
  readonly images: string;
  readonly noise: string;
  readonly maskRatio: number;
  readonly heads: number;
  readonly decoderHeads: number;
  readonly normPix: boolean;
  readonly out: string;
  readonly backend: BackendChoice;
  /** Undo this per-channel normalisation for the picture only (the model sees the images as given). */
  readonly display?: { readonly mean: readonly number[]; readonly std: readonly number[] };
  readonly log: (line: string) => void;
}

const float32Of = (path: string, rank: number, pattern: string) => {
  const a = readNpyFile(path);
  if (a.dtype !== 'float32') throw new FormatError(path, `dtype ${a.dtype}, expected float32`);
  if (a.shape.length !== rank) throw new ShapeError(path, pattern, a.shape);
  const bad = a.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new DataError(path, bad, a.data[bad], 'non-finite value');
  return { shape: a.shape, data: a.data };
};

/**
 * Runs the reconstruction; returns the JSON it prints last.
 *
 * @since 0.1.0
 */
export const runReconstruct = async (r: ReconstructRun): Promise<Record<string, unknown>> => {
  prepareOutputFolder(r.out);
  for (const f of [r.weights, r.images, r.noise]) if (!existsSync(f)) throw new FormatError(f, 'no such file');
  const st = readSafetensorsFile(r.weights);
  for (const [k, t] of st.tensors) {
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype))
      throw new FormatError(r.weights, `tensor ${JSON.stringify(k)} is ${t.dtype}; weights must be floating point (F32, F16, BF16 or F64)`);
  }
  const named = new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }]));
  for (const [k, t] of named) assertFiniteTensor(r.weights, k, t.data);
  const cfg = inferMaeConfig(named, r.weights, {
    heads: r.heads,
    decoderHeads: r.decoderHeads,
    normPix: r.normPix,
    maskRatio: r.maskRatio,
  });
  const images = float32Of(r.images, 4, '[N, H, W, C] float32');
  const [n, h, w, c] = images.shape as [number, number, number, number];
  if (h !== cfg.image[0] || w !== cfg.image[1] || c !== cfg.image[2])
    throw new ShapeError(r.images, `[N, ${cfg.image.join(', ')}] (what ${r.weights} was trained on)`, images.shape);
  const grid = gridOf({ kind: 'image', size: cfg.patch }, cfg.image);
  const noise = float32Of(r.noise, 2, `[${n}, ${grid.tokens}] float32`);
  if (noise.shape[0] !== n || noise.shape[1] !== grid.tokens)
    throw new ShapeError(r.noise, `[${n}, ${grid.tokens}] (one value per image and patch)`, noise.shape);
  // train's rule for every mask: keep = floor(L (1 - ratio)) must leave a patch visible
  const keep = keepCount(grid.tokens, r.maskRatio);
  const draw = requireVisible(maskFromNoise(noise.data, n, grid.tokens, keep), String(r.maskRatio), '--mask-ratio');
  await useBackend(r.backend);
  const params = importMaeReference(named, r.weights, cfg);
  const model = mae(cfg);
  const x = tf.tensor4d(images.data, [n, h, w, c]);
  const out = applyWithMask(model.corruption, model.network, params, x, draw, ctx(key(0)));
  const pred = out.predX0!;
  const pixels = cfg.normPix ? unnormalizeNormPix(pred, out.x0, out.mask) : pred;
  const loss = out.loss.dataSync()[0]!;
  const mse = maskedMse(pixels, out.x0, out.mask);
  writeNpyFile(join(r.out, 'pred.npy'), { shape: [n, grid.tokens, grid.patchDim], data: Float32Array.from(pred.dataSync()) });
  writeNpyFile(join(r.out, 'mask.npy'), { shape: [n, grid.tokens], data: Float32Array.from(out.mask.dataSync()) });
  const picture = tileImages(reconstructionGrid(grid, out.x0, pixels, out.mask, r.display ? { denorm: r.display } : {}), {
    scale: h <= 64 ? 3 : 1,
    pad: 3,
    titles: ['original', 'masked', 'reconstruction', 'visible pasted'],
  });
  writePng(join(r.out, 'reconstruction.png'), picture);
  tf.dispose([x, out.loss, out.latent, pred, out.x0, out.mask, out.idsRestore, out.t, ...(pixels === pred ? [] : [pixels])]);
  disposeParams(params);
  const summary = {
    loss,
    maskedMse: +(mse.reduce((a, b) => a + b, 0) / n).toPrecision(6),
    images: n,
    tokens: grid.tokens,
    kept: keep,
    normPix: cfg.normPix,
    model: { image: cfg.image, patch: cfg.patch, encoder: cfg.encoder, decoder: cfg.decoder },
    out: r.out,
  };
  r.log(
    `wrote ${join(r.out, 'pred.npy')}, ${join(r.out, 'mask.npy')}, ${join(r.out, 'reconstruction.png')} (original | masked | reconstruction | with visible patches pasted)`,
  );
  r.log(JSON.stringify(summary));
  return summary;
};
