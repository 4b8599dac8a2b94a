/**
 * Both cores (or more) for training: micro-batch gradients computed in worker threads, each
 * with its own tfjs backend, and in this thread. Micro-batch i runs on thread i mod T; the
 * trainer sums the results in micro-batch order, so the losses and params are bit-identical to
 * a single-thread run with the same `accum`.
 *
 * @since 0.1.0
 */
import { Worker } from 'node:worker_threads';
import { BackendError, ConfigError, TesseraeError } from '../core/errors.js';
import type { Layer } from '../core/layer.js';
import { flatten, unflatten, type Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { positiveInt } from '../core/check.js';
import type { BackendName } from '../backends/index.js';
import type { ModelIn } from '../models/model.js';
import type { ModelSpec } from '../models/spec.js';
import { microGrads, type GradEngine, type MicroGrads } from '../train/step.js';
import type { WorkerReply, WorkerRequest } from './gradWorker.js';

class WorkerFailed extends TesseraeError {
  readonly code = 'backend' as const;
}

/**
 * A {@link GradEngine} over `threads` threads: `threads - 1` workers plus this one, all on
 * `backend`, each running the model built from `spec` (this thread runs `model`).
 *
 * @example
 * const engine = await threadedGrads({ spec: model.spec, backend: 'wasm', threads: 2, model })
 * await train(model, data, cfg, state, { engine })
 * await engine.close()
 * @since 0.1.0
 */
export const threadedGrads = async (o: {
  readonly spec: ModelSpec;
  readonly backend: BackendName;
  readonly threads: number;
  readonly model: Layer<Params, ModelIn, { readonly loss: Tensor }>;
}): Promise<GradEngine> => {
  const threads = positiveInt('threads', o.threads);
  if (threads > 1 && o.backend !== 'wasm' && o.backend !== 'cpu')
    throw new ConfigError('threads', threads, `splits CPU work; the ${o.backend} backend runs on its own device, use 1 thread`);
  const workers = Array.from({ length: threads - 1 }, () => new Worker(new URL('./gradWorker.js', import.meta.url)));
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: MicroGrads[]) => void; reject: (e: Error) => void; shapes: number[][] }>();
  const onReply = (m: WorkerReply): void => {
    if (m.type === 'ready') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.type === 'error') p.reject(new WorkerFailed(`a gradient worker failed: ${m.name}: ${m.message}`));
    else p.resolve(m.results.map((r) => ({ loss: r.loss, grads: r.grads.map((a, j) => tf.tensor(a, p.shapes[j]!)) })));
  };
  const fail = (e: Error): void => {
    for (const p of pending.values()) p.reject(new WorkerFailed(`a gradient worker stopped: ${e.message}`));
    pending.clear();
  };
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('error', (e) => reject(new BackendError(o.backend, `a gradient worker failed to start: ${e.message}`)));
            w.once('message', (m: WorkerReply) =>
              m.type === 'ready'
                ? resolve()
                : reject(new BackendError(o.backend, `a gradient worker failed to start: ${m.type === 'error' ? m.message : m.type}`)),
            );
            w.postMessage({ type: 'init', spec: o.spec, backend: o.backend } satisfies WorkerRequest);
          }),
      ),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  for (const w of workers) {
    w.on('message', onReply);
    w.on('error', fail);
    w.on('exit', (code) => code !== 0 && fail(new Error(`exit code ${code}`)));
  }
  return {
    compute: async (params, micro) => {
      if (micro.length === 0) throw new ConfigError('micro-batches', 0, 'a step needs at least one micro-batch');
      const flat = flatten(params);
      const shapes = flat.map(([, t]) => [...t.shape]);
      const sent =
        workers.length > 0 && micro.some((_, i) => i % threads !== 0)
          ? flat.map(([name, t]) => ({ name, shape: [...t.shape], data: t.dataSync() as Float32Array }))
          : [];
      const remote = workers.map((w, k) => {
        const mine = micro.map((m, i) => ({ m, i })).filter(({ i }) => i % threads === k + 1);
        if (mine.length === 0) return Promise.resolve([] as MicroGrads[]);
        const id = nextId++;
        return new Promise<MicroGrads[]>((resolve, reject) => {
          pending.set(id, { resolve, reject, shapes });
          w.postMessage({
            type: 'grads',
            id,
            params: sent,
            micro: mine.map(({ m }) => ({ images: m.images, labels: m.labels, shape: m.shape, key: [m.key[0], m.key[1]] as const })),
          } satisfies WorkerRequest);
        });
      });
      // this thread's share, while the workers run
      const local: MicroGrads[] = [];
      try {
        micro.forEach((m, i) => {
          if (i % threads !== 0) return;
          const images = tf.tensor(m.images, [...m.shape]);
          const labels = m.labels ? tf.tensor1d(m.labels, 'int32') : undefined;
          try {
            local.push(microGrads(o.model, unflatten(params, new Map(flat)), labels ? { images, labels } : { images }, m.key));
          } finally {
            tf.dispose([images, ...(labels ? [labels] : [])]);
          }
        });
      } catch (e) {
        const done = await Promise.allSettled(remote);
        for (const r of done) if (r.status === 'fulfilled') for (const g of r.value) tf.dispose([...g.grads]);
        for (const g of local) tf.dispose([...g.grads]);
        throw e;
      }
      const results = await Promise.allSettled(remote);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        for (const r of results) if (r.status === 'fulfilled') for (const g of r.value) tf.dispose([...g.grads]);
        for (const g of local) tf.dispose([...g.grads]);
        throw failed.reason as Error;
      }
      const byWorker = results.map((r) => (r as PromiseFulfilledResult<MicroGrads[]>).value);
      // back in micro-batch order
      return micro.map((_, i) =>
        i % threads === 0 ? local[Math.floor(i / threads)]! : byWorker[(i % threads) - 1]![Math.floor(i / threads)]!,
      );
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
};
