import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/index.js';
import { classNames, fileSafe, parseClass } from '../../src/cli/classes.js';
import { threadsFlag, parseFlags, type FlagSpec } from '../../src/cli/args.js';

const NAMES = ['disk', 'square', 'triangle', 'ring'];

describe('sample --class', () => {
  it('takes a class name as well as an index or all', () => {
    assert.deepEqual(parseClass('disk', NAMES, 4), [0]);
    assert.deepEqual(parseClass('ring', NAMES, 4), [3]);
    assert.deepEqual(parseClass('2', NAMES, 4), [2]);
    assert.deepEqual(parseClass('all', NAMES, 4), [0, 1, 2, 3]);
    assert.deepEqual(parseClass('1', [], 4), [1]);
  });

  it('an unknown name is a ConfigError on --class listing the known names, with the nearest suggested', () => {
    assert.throws(
      () => parseClass('sqare', NAMES, 4),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === '--class' &&
        e.value === 'sqare' &&
        /did you mean square\?/.test(e.message) &&
        /classes: disk, square, triangle, ring/.test(e.message),
    );
    assert.throws(
      () => parseClass('zzzzzz', NAMES, 4),
      (e: unknown) => e instanceof ConfigError && !/did you mean/.test(e.message),
    );
    assert.throws(() => parseClass('4', NAMES, 4), /--class = "4": must be all, a class index in 0\.\.3 or a class name/);
    assert.throws(() => parseClass('1.5', NAMES, 4), ConfigError);
    assert.throws(() => parseClass('disk', [], 4), /records no class names; give all or an index in 0\.\.3/);
  });

  it('class names come from the metadata, which is untrusted: a list that does not fit is ignored', () => {
    assert.deepEqual(classNames({ classes: JSON.stringify(NAMES) }, 4), NAMES);
    assert.deepEqual(classNames({ classes: JSON.stringify(['T-shirt/top', 'Trouser']) }, 2), ['T-shirt/top', 'Trouser']);
    for (const bad of [
      'not json',
      '{"a":1}',
      '["a","b","c"]',
      '["a","a"]',
      '[1,2]',
      '["a\\u0000","b"]',
      JSON.stringify(['x'.repeat(41), 'b']),
    ])
      assert.deepEqual(classNames({ classes: bad }, 2), [], bad);
    assert.equal(classNames({ data: '{"kind":"synthetic"}' }, 10).length, 10, 'older synthetic checkpoints: the synthetic names');
    assert.deepEqual(classNames({ data: '{"kind":"npy","path":"x"}' }, 10), []);
    assert.equal(fileSafe('T-shirt/top'), 'T-shirt_top');
    assert.equal(fileSafe('../..'), '_____');
  });
});

describe('--threads', () => {
  const spec: FlagSpec = { threads: { type: 'string', default: '1', help: '' } };
  it('more threads than micro-batches is a ConfigError naming --threads that says to use --accum >= threads', () => {
    assert.equal(threadsFlag(parseFlags(['--threads', '2'], spec), 2), 2);
    assert.equal(threadsFlag(parseFlags([], spec), 1), 1);
    assert.throws(
      () => threadsFlag(parseFlags(['--threads', '2'], spec), 1),
      (e: unknown) => e instanceof ConfigError && e.field === '--threads' && e.value === '2' && /--accum >= 2/.test(e.message),
    );
  });
});
