import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choose, forwardTidy, leakyAndFixed, leaks } from '../../examples/backends.js';
import { tf, useBackend } from '../../src/index.js';

describe('examples/backends', () => {
  it('asks for a backend by name and falls back to auto with the reason', async () => {
    const gpu = await choose('node-gpu'); // not installed here: falls back, naming the package
    assert.ok(gpu.fellBack !== null && /@tensorflow\/tfjs-node-gpu/.test(gpu.fellBack));
    assert.equal(
      gpu.backend,
      await useBackend('auto'),
      'the fallback is what auto picks (here wasm: a software WebGPU adapter is skipped)',
    );
    assert.deepEqual(await choose('cpu'), { backend: 'cpu', fellBack: null });
    await choose('wasm');
  });

  it('a forward pass in tidy leaves nothing alive, read asynchronously', async () => {
    const r = await forwardTidy();
    assert.equal(r.leaked, 0);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  });

  it('the leak counter finds a real leak and sees the fix', () => {
    assert.deepEqual(leakyAndFixed(), { leaky: 1, fixed: 0 });
    const r = leaks(() => ({ a: tf.scalar(1), b: [tf.scalar(2)] }));
    assert.equal(r.leaked, 0, 'returned tensors are not leaks');
    tf.dispose([r.result.a, ...r.result.b]);
  });
});
