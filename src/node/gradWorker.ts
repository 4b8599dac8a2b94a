/**
 * A worker thread that computes micro-batch gradients for {@link threadedGrads}: it builds the
 * model from its spec, then, per request, loads the params it is sent and returns each
 * micro-batch's loss and gradients (as transferred Float32Arrays).
 *
 * @since 0.1.0
 */
import { parentPort } from 'node:worker_threads';
import { fromWords, key } from '../core/key.js';
import { unflatten, type Params } from '../core/params.js';
import { spec } from '../core/spec.js';
import { tf } from '../core/tf.js';
import { useBackend, type BackendName } from '../backends/index.js';
import { buildModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import { microGrads } from '../train/step.js';
import type { ModelIn } from '../models/model.js';
import type { Layer } from '../core/layer.js';

/** Messages a worker receives. */
export type WorkerRequest =
  | { readonly type: 'init'; readonly spec: ModelSpec; readonly backend: BackendName }
  | {
      readonly type: 'grads';
      readonly id: number;
      readonly params: readonly { readonly name: string; readonly shape: readonly number[]; readonly data: Float32Array }[];
      readonly micro: readonly {
        readonly images: Float32Array;
        readonly labels?: Int32Array | undefined;
        readonly shape: readonly number[];
        readonly key: readonly [number, number];
      }[];
    };

/** Messages a worker sends. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | {
      readonly type: 'grads';
      readonly id: number;
      readonly results: readonly { readonly loss: number; readonly grads: readonly Float32Array[] }[];
    }
  | { readonly type: 'error'; readonly id: number; readonly name: string; readonly message: string };

let model: Layer<Params, ModelIn, { readonly loss: tf.Tensor }> | null = null;
let template: Params | null = null;

const port = parentPort;
if (port) {
  port.on('message', (m: WorkerRequest) => {
    void (async () => {
      try {
        if (m.type === 'init') {
          await useBackend(m.backend);
          model = buildModel(m.spec);
          template = model.init(key(0), { images: spec([-1, ...m.spec.image]) }).params;
          port.postMessage({ type: 'ready' } satisfies WorkerReply);
          return;
        }
        if (!model || !template) throw new Error('worker used before init');
        const leaves = new Map(m.params.map((p) => [p.name, tf.tensor(p.data, [...p.shape])]));
        try {
          const params = unflatten(template, leaves);
          const results = m.micro.map((mb) => {
            const images = tf.tensor(mb.images, [...mb.shape]);
            const labels = mb.labels ? tf.tensor1d(mb.labels, 'int32') : undefined;
            const g = microGrads(model!, params, labels ? { images, labels } : { images }, fromWords(mb.key));
            tf.dispose([images, ...(labels ? [labels] : [])]);
            return {
              loss: g.loss,
              grads: g.grads.map((t) => {
                const a = t.dataSync() as Float32Array;
                t.dispose();
                return a;
              }),
            };
          });
          port.postMessage(
            { type: 'grads', id: m.id, results } satisfies WorkerReply,
            results.flatMap((r) => r.grads.map((a) => a.buffer as ArrayBuffer)),
          );
        } finally {
          tf.dispose([...leaves.values()]);
        }
      } catch (e) {
        const err = e as Error;
        port.postMessage({ type: 'error', id: m.type === 'grads' ? m.id : -1, name: err.name, message: err.message } satisfies WorkerReply);
      }
    })();
  });
}
