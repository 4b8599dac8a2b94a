import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, Schedule, scheduleOf } from '../../src/index.js';
import { parseFlags } from '../../src/cli/args.js';
import { specFromFlags, trainFlags } from '../../src/cli/train.js';

const scheduleFrom = (...argv: string[]) => scheduleOf(specFromFlags(parseFlags(['--method', 'diffmae', ...argv], trainFlags)).corruption);

describe('tesserae train --rho-on', () => {
  it('chooses what --rho raises: betas (the DiffMAE reproduction) or alphaBar (the default)', () => {
    assert.deepEqual(
      scheduleFrom('--schedule', 'linear', '--rho', '0.8', '--rho-on', 'betas'),
      Schedule.linear({ rho: 0.8, rhoOn: 'betas' }),
    );
    assert.deepEqual(scheduleFrom('--schedule', 'linear', '--rho', '0.8'), Schedule.linear({ rho: 0.8, rhoOn: 'alphaBar' }));
    assert.deepEqual(scheduleFrom('--rho-on', 'betas'), Schedule.cosine({ rhoOn: 'betas' }));
    assert.throws(
      () => scheduleFrom('--rho', '0.8', '--rho-on', 'sigma'),
      (e: unknown) => e instanceof ConfigError && e.field === '--rho-on' && /"sigma"/.test(e.message),
    );
  });
});
