// `pretrained:NAME` names a packaged checkpoint from a fixed table, never a path, and every
// packaged checkpoint is there and opens as the model its name says.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { checkpointFile, openModel, PRETRAINED } from '../../src/node/index.js';
import { disposeParams } from '../../src/core/params.js';
import { onCpu } from '../helpers.js';

onCpu();

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('pretrained checkpoints', () => {
  it('a name maps to the package folder; anything else is refused with the list', () => {
    assert.equal(checkpointFile('pretrained:mae-fashion'), join(root, 'pretrained', 'mae-fashion.safetensors'));
    assert.equal(checkpointFile('runs/a/latest.safetensors'), 'runs/a/latest.safetensors');
    for (const bad of ['pretrained:../../etc/passwd', 'pretrained:', 'pretrained:toString', 'pretrained:MAE-fashion'])
      assert.throws(
        () => checkpointFile(bad),
        (e: unknown) => e instanceof ConfigError && e.value === bad && /pretrained:diffmae-fashion/.test(e.message),
        bad,
      );
  });

  it('every one ships, opens, and takes the images its name says', () => {
    for (const name of Object.keys(PRETRAINED)) {
      const file = join(root, 'pretrained', `${name}.safetensors`);
      assert.ok(existsSync(file), `${file} is missing`);
      const m = openModel(`pretrained:${name}`);
      try {
        assert.deepEqual(m.spec.image, name.endsWith('-fashion') ? [28, 28, 1] : [32, 32, 3], name);
        assert.equal(m.metadata['dtype'], 'float16');
        assert.match(m.spec.label ?? '', new RegExp(`^${name.split('-')[0]} `));
      } finally {
        disposeParams(m.params);
      }
    }
  });
});
