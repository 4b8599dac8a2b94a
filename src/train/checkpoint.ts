/**
 * Checkpoints as safetensors: `params.<path>`, `opt.m.<path>`, `opt.v.<path>`, `ema.<path>` when
 * the run keeps an EMA (float32), and
 * string metadata (format, step, the model and training configuration, anything else the
 * caller adds). Universal: bytes in, bytes out (`tesserae/node` writes them atomically).
 *
 * @since 0.1.0
 */
import { FormatError } from '../core/errors.js';
import { flatten, mapParams, type Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { floatToHalf } from '../io/dtypes.js';
import { readSafetensors, toFloat32, writeSafetensors, type Safetensors, type SafeTensor } from '../io/safetensors.js';
import { initOpt } from './optimizer.js';
import type { TrainState } from './step.js';

/**
 * The format tag every tesserae checkpoint carries in its metadata.
 *
 * @example
 * readSafetensors(bytes, file).metadata['format'] === CHECKPOINT_FORMAT
 */
export const CHECKPOINT_FORMAT = 'tesserae/checkpoint@1';

const f32 = (t: Tensor): SafeTensor => ({ dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.dataSync()) });
const f16 = (t: Tensor): SafeTensor => ({ dtype: 'F16', shape: [...t.shape], data: Uint16Array.from(t.dataSync(), floatToHalf) });

/**
 * A training state as safetensors bytes. `metadata` values must be strings; `format` and `step`
 * are set here.
 *
 * @example
 * const bytes = encodeCheckpoint(state, { model: JSON.stringify(config) })
 * @since 0.1.0
 */
export const encodeCheckpoint = <P extends Params>(state: TrainState<P>, metadata: Record<string, string> = {}): Uint8Array => {
  const entries: [string, SafeTensor][] = [];
  for (const [k, t] of flatten(state.params)) entries.push([`params.${k}`, f32(t)]);
  for (const [k, t] of flatten(state.opt.m)) entries.push([`opt.m.${k}`, f32(t)]);
  for (const [k, t] of flatten(state.opt.v)) entries.push([`opt.v.${k}`, f32(t)]);
  if (state.ema) for (const [k, t] of flatten(state.ema)) entries.push([`ema.${k}`, f32(t)]);
  return writeSafetensors(entries, { ...metadata, format: CHECKPOINT_FORMAT, step: String(state.step), optStep: String(state.opt.step) });
};

/**
 * Params alone as checkpoint bytes (no optimiser state, no EMA): {@link decodeCheckpoint} reads
 * them back with a fresh optimiser. With `dtype: 'float16'` the params are stored in half
 * precision (nearest, ties to even; half the bytes) and the metadata says so (`dtype`); they
 * load back as exactly those half-precision values, in float32.
 *
 * @example
 * const bytes = encodeWeights(params, 600, { spec: JSON.stringify(model.spec) })
 * @since 0.1.0
 */
export const encodeWeights = (
  params: Params,
  step: number,
  metadata: Record<string, string> = {},
  options: { readonly dtype?: 'float32' | 'float16' } = {},
): Uint8Array => {
  const half = options.dtype === 'float16';
  return writeSafetensors(
    flatten(params).map(([k, t]) => [`params.${k}`, half ? f16(t) : f32(t)] as [string, SafeTensor]),
    { ...metadata, format: CHECKPOINT_FORMAT, step: String(step), optStep: '0', ...(half ? { dtype: 'float16' } : {}) },
  );
};

/**
 * The metadata of a checkpoint, checked for the tesserae format tag.
 *
 * @example
 * const meta = checkpointMetadata(bytes, 'runs/a/latest.safetensors')
 * @since 0.1.0
 */
export const checkpointMetadata = (input: Uint8Array | Safetensors, file: string): Record<string, string> => {
  const { metadata } = input instanceof Uint8Array ? readSafetensors(input, file) : input;
  if (metadata['format'] !== CHECKPOINT_FORMAT)
    throw new FormatError(
      file,
      `not a tesserae checkpoint (metadata format ${JSON.stringify(metadata['format'] ?? null)}, expected ${CHECKPOINT_FORMAT})`,
    );
  return metadata;
};

const stepOf = (file: string, meta: Record<string, string>, key: string): number => {
  const v = Number(meta[key]);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new FormatError(file, `metadata ${key} = ${JSON.stringify(meta[key] ?? null)} is not a step count`);
  return v;
};

/**
 * A training state from checkpoint bytes, shaped like `template` (params of the same model:
 * every leaf must be present as float32 with the same shape). Without optimiser tensors (a
 * params-only file) the optimiser starts fresh at step 0.
 *
 * @example
 * const { state, metadata } = decodeCheckpoint(bytes, file, model.init(Key.key(0), inSpec).params)
 * @since 0.1.0
 */
export const decodeCheckpoint = <P extends Params>(
  bytes: Uint8Array,
  file: string,
  template: P,
): { state: TrainState<P>; metadata: Record<string, string> } => decodeCheckpointTensors(readSafetensors(bytes, file), file, template);

/**
 * {@link decodeCheckpoint} on a file already parsed by `readSafetensors` (so that a caller that
 * inspected the header first does not parse, or copy, the file twice).
 *
 * @example
 * const { state } = decodeCheckpointTensors(readSafetensors(bytes, file), file, template)
 * @since 0.2.0
 */
export const decodeCheckpointTensors = <P extends Params>(
  parsed: Safetensors,
  file: string,
  template: P,
): { state: TrainState<P>; metadata: Record<string, string> } => {
  const { tensors, metadata } = parsed;
  if (metadata['format'] !== CHECKPOINT_FORMAT)
    throw new FormatError(file, `not a tesserae checkpoint (metadata format ${JSON.stringify(metadata['format'] ?? null)})`);
  const made: Tensor[] = [];
  const hasOptState = [...tensors.keys()].some((k) => k.startsWith('opt.'));
  const load = (name: string, like: Tensor): Tensor => {
    const e = tensors.get(name);
    if (!e) throw new FormatError(file, `missing tensor ${JSON.stringify(name)}`);
    // half precision only for the weights of a weights-only file (what `encodeWeights` writes)
    const half = e.dtype === 'F16' && !name.startsWith('opt.') && !hasOptState;
    if (e.dtype !== 'F32' && !half)
      throw new FormatError(file, `tensor ${JSON.stringify(name)} is ${e.dtype}, expected F32${hasOptState ? '' : ' or F16'}`);
    if (e.shape.length !== like.shape.length || e.shape.some((d, i) => d !== like.shape[i])) {
      throw new FormatError(file, `tensor ${JSON.stringify(name)} has shape [${e.shape.join(', ')}], expected [${like.shape.join(', ')}]`);
    }
    const values = half ? toFloat32(e) : e.data;
    if (half) assertFiniteTensor(file, name, values as Float32Array);
    const t = tf.tensor(values, [...e.shape]);
    made.push(t);
    return t;
  };
  try {
    const params = mapParams(template, (t, path) => load(`params.${path}`, t));
    const hasOpt = [...tensors.keys()].some((k) => k.startsWith('opt.'));
    const opt = hasOpt
      ? {
          step: stepOf(file, metadata, 'optStep'),
          m: mapParams(template, (t, path) => load(`opt.m.${path}`, t)),
          v: mapParams(template, (t, path) => load(`opt.v.${path}`, t)),
        }
      : initOpt(params);
    const hasEma = [...tensors.keys()].some((k) => k.startsWith('ema.'));
    const ema = hasEma ? mapParams(template, (t, path) => load(`ema.${path}`, t)) : undefined;
    const expected = flatten(template).length * ((hasOpt ? 3 : 1) + (hasEma ? 1 : 0));
    if (tensors.size !== expected) {
      const known = new Set(flatten(template).flatMap(([k]) => [`params.${k}`, `opt.m.${k}`, `opt.v.${k}`, `ema.${k}`]));
      const extra = [...tensors.keys()].find((k) => !known.has(k));
      throw new FormatError(
        file,
        `holds ${tensors.size} tensors, expected ${expected}${extra ? ` (unexpected ${JSON.stringify(extra)})` : ''}; is it a checkpoint of another model?`,
      );
    }
    return { state: { params, opt, step: stepOf(file, metadata, 'step'), ...(ema ? { ema } : {}) }, metadata };
  } catch (e) {
    tf.dispose(made);
    throw e;
  }
};

/**
 * The number of float values a checkpoint's tensors of one kind hold (`params`, `ema`, `opt.m`,
 * ...), read from the parsed header: what the file's own bytes say the model's size is.
 *
 * @example
 * tensorValues(readSafetensors(bytes, file), 'params')
 * @since 0.2.0
 */
export const tensorValues = (parsed: Safetensors, prefix: string): number => {
  let n = 0;
  for (const [name, t] of parsed.tensors) if (name.startsWith(`${prefix}.`)) n += t.data.length;
  return n;
};

/**
 * Checks that one tensor's values are finite: the first NaN or infinity is a
 * {@link FormatError} naming the file, the tensor and the index, rather than a model that
 * silently computes NaN.
 *
 * @example
 * assertFiniteTensor('w.safetensors', 'params.encoder.embed.kernel', data)
 * @since 0.2.0
 */
export const assertFiniteTensor = (file: string, name: string, data: Float32Array | Float64Array): void => {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) throw new FormatError(file, `tensor ${JSON.stringify(name)} holds ${String(v)} at index ${i}: weights must be finite`);
  }
};

/**
 * {@link assertFiniteTensor} on every float32 tensor of one kind (`params`, `ema`) of a parsed
 * checkpoint.
 *
 * @example
 * assertFiniteWeights(readSafetensors(bytes, file), 'params', file)
 * @since 0.2.0
 */
export const assertFiniteWeights = (parsed: Safetensors, prefix: string, file: string): void => {
  for (const [name, t] of parsed.tensors) if (name.startsWith(`${prefix}.`) && t.dtype === 'F32') assertFiniteTensor(file, name, t.data);
};
