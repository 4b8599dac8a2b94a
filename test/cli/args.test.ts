import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/core/errors.js';
import { Mask } from '../../src/corruption/mask.js';
import { METHODS, presetSpec } from '../../src/models/presets.js';
import { mae } from '../../src/models/mae.js';
import { diffmae } from '../../src/models/diffmae.js';
import {
  BACKENDS,
  batchSize,
  choice,
  DECIMAL,
  integer,
  nearest,
  num,
  optional,
  parseFlags,
  parseNumber,
  str,
  strs,
  type FlagSpec,
  type Flags,
} from '../../src/cli/args.js';
import { parseMask } from '../../src/cli/algebra.js';
import { trainFlags } from '../../src/cli/train.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-args-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

const spec: FlagSpec = {
  steps: { type: 'string', default: '200', help: 'steps' },
  seed: { type: 'string', default: '0', help: 'seed' },
  'weight-decay': { type: 'string', default: '0.05', help: 'weight decay' },
  'mask-ratio': { type: 'string', help: 'ratio' },
  'checkpoint-every': { type: 'string', default: '50', help: 'every' },
  out: { type: 'string', help: 'out' },
  backend: { type: 'string', default: 'auto', help: 'backend' },
  resume: { type: 'boolean', default: false, help: 'resume' },
};

/** The ConfigError `f` throws (failing when it throws anything else or nothing). */
const configError = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
};

describe('the number grammar', () => {
  it('reads decimal numbers with a sign, a fraction and an exponent', () => {
    for (const [text, want] of [
      ['-5', -5],
      ['+5', 5],
      ['1e-3', 1e-3],
      ['6e-3', 6e-3],
      ['.5', 0.5],
      ['-.5', -0.5],
      ['0.75', 0.75],
      ['5.', 5],
      ['1E3', 1000],
      ['007', 7],
      ['-0', 0],
    ] as const) {
      assert.equal(parseNumber('--x', text), want, text);
      assert.ok(!Object.is(parseNumber('--x', text), -0), `${text} is not -0`);
    }
  });

  it('refuses hex, octal and binary prefixes, Infinity, NaN, empty and padded strings, trailing junk, digit separators', () => {
    for (const text of [
      '0x10',
      '0X10',
      '0o10',
      '0b10',
      'Infinity',
      '-Infinity',
      'NaN',
      '',
      ' ',
      ' 5',
      '5 ',
      '\t5',
      '10abc',
      '1_000',
      '1,5',
      '--5',
      '+-5',
      '1e',
      'e5',
      '.',
      '-',
      '1e3.5',
      '١',
    ]) {
      const e = configError(() => parseNumber('--steps', text));
      assert.equal(e.field, '--steps');
      assert.equal(e.value, text);
      assert.match(e.message, /must be a finite number/);
    }
    assert.match(configError(() => parseNumber('--lr', '1e999')).message, /--lr = "1e999": .*beyond the float64 range/);
  });

  it('agrees with a reference regex on strings over number-like characters', () => {
    const reference = /^[-+]?([0-9]+|[0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/;
    const chars = [...'0123456789', '.', 'e', 'E', '+', '-', 'x', 'o', 'b', ' ', '_', 'I', 'N', 'a', ','];
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...chars), maxLength: 12 }), (s) => {
        const ok = reference.test(s) && Number.isFinite(Number(s));
        assert.equal(DECIMAL.test(s), reference.test(s), s);
        if (ok) assert.equal(parseNumber('--x', s), Number(s) === 0 ? 0 : Number(s), s);
        else assert.throws(() => parseNumber('--x', s), ConfigError, s);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads back every finite double as JavaScript prints it, and refuses it in hex', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        assert.equal(parseNumber('--x', String(d)), d === 0 ? 0 : d);
      }),
    );
    fc.assert(
      fc.property(fc.nat(), (n) => {
        assert.throws(() => parseNumber('--x', `0x${n.toString(16)}`), ConfigError);
      }),
    );
  });

  it('integers: 1e3 is 1000 and 1.0 is 1 (integer values in any decimal form); 1.5, 1e-3 and 2^53 are refused', () => {
    const f = (v: string): Flags => ({ steps: v });
    assert.equal(integer(f('1e3'), 'steps', 1), 1000);
    assert.equal(integer(f('1.0'), 'steps', 1), 1);
    assert.ok(Object.is(integer({ seed: '-0' }, 'seed', 0), 0));
    assert.match(configError(() => integer(f('1.5'), 'steps', 1)).message, /^--steps = "1\.5": must be an integer >= 1$/);
    assert.match(configError(() => integer(f('1e-3'), 'steps', 1)).message, /--steps = "1e-3": must be an integer >= 1/);
    assert.match(configError(() => integer(f('0x10'), 'steps', 1)).message, /--steps = "0x10"/);
    assert.match(configError(() => integer(f('9007199254740992'), 'steps', 1)).message, /at most 2\^53 - 1/);
    assert.match(configError(() => integer(f('7'), 'steps', 1, 4)).message, /must be an integer in \[1, 4\]/);
  });
});

describe('parseFlags', () => {
  it('reads a negative value after a space as the value of a string flag', () => {
    for (const v of ['-5', '-1e-3', '-.5', '-0']) {
      const f = parseFlags(['--weight-decay', v, '--steps', '3'], spec);
      assert.equal(f['weight-decay'], v);
      assert.equal(num(f, 'weight-decay'), Number(v) === 0 ? 0 : Number(v));
      assert.equal(f['steps'], '3');
    }
    // any single-dash token is a value there, as is the dash alone
    assert.equal(parseFlags(['--out', '-'], spec)['out'], '-');
    assert.equal(parseFlags(['--out', '-x'], spec)['out'], '-x');
  });

  it('reads --flag=value, fills defaults, and leaves absent flags undefined', () => {
    const f = parseFlags(['--steps=12', '--weight-decay=-5', '--out=', '--resume'], spec);
    assert.deepEqual(f, { steps: '12', 'weight-decay': '-5', out: '', resume: true, seed: '0', 'checkpoint-every': '50', backend: 'auto' });
    assert.equal(parseFlags([], spec)['mask-ratio'], undefined);
    assert.equal(optional(parseFlags([], spec), 'mask-ratio', num), undefined);
    assert.equal(parseFlags(['--out=--odd'], spec)['out'], '--odd');
  });

  it('refuses a repeated flag, naming it; a repeatable flag collects its values', () => {
    const e = configError(() => parseFlags(['--steps', '10', '--steps', '20'], spec));
    assert.equal(e.field, '--steps');
    assert.equal(e.message, '--steps = "20": is given twice (first "10"); give it once');
    assert.equal(configError(() => parseFlags(['--resume', '--resume'], spec)).field, '--resume');
    assert.equal(configError(() => parseFlags(['--steps=1', '--steps', '1'], spec)).field, '--steps');
    const many: FlagSpec = { log: { type: 'string', repeatable: true, help: 'logs' }, out: { type: 'string', help: 'out' } };
    const f = parseFlags(['--log', 'a', '--out', 'o', '--log=b'], many);
    assert.deepEqual(strs(f, 'log'), ['a', 'b']);
    assert.deepEqual(strs(parseFlags([], many), 'log'), []);
    assert.throws(() => str(f, 'log'), ConfigError);
  });

  it('names only the unknown flag and suggests the nearest one', () => {
    const argv = ['--out', 'somewhere/private', '--step', '10', '--seed', '3'];
    const e = configError(() => parseFlags(argv, spec));
    assert.equal(e.field, 'flag');
    assert.equal(e.value, '--step');
    assert.match(e.message, /did you mean --steps\?/);
    assert.doesNotMatch(e.message, /somewhere|--seed/);
    for (const [bad, want] of [
      ['--sed', /did you mean --seed\?/],
      ['--seds', /did you mean --steps or --seed\?/],
      ['--weight_decay', /did you mean --weight-decay\?/],
      ['--mask-raito', /did you mean --mask-ratio\?/],
      ['--check', /did you mean --checkpoint-every\?/],
      ['--Resume', /did you mean --resume\?/],
      ['--steps-per-epoch=3', /is not a flag of this command$/],
      ['--zz', /is not a flag of this command$/],
    ] as const) {
      const err = configError(() => parseFlags([bad, '1'], spec));
      assert.equal(err.value, bad.split('=')[0], bad);
      assert.match(err.message, want, bad);
    }
  });

  it('treats prototype names as unknown flags', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const e = configError(() => parseFlags([`--${name}`, '1'], spec));
      assert.equal(e.value, `--${name}`);
    }
    assert.throws(() => str(parseFlags([], spec), 'toString'), ConfigError);
  });

  it('names a stray positional, a single-dash flag, a missing value and a switch given a value', () => {
    const stray = configError(() => parseFlags(['--steps', '3', 'extra', '--seed', '1'], spec));
    assert.equal(stray.field, 'argument');
    assert.equal(stray.value, 'extra');
    assert.equal(configError(() => parseFlags(['-5'], spec)).value, '-5');
    assert.equal(configError(() => parseFlags(['--', 'x'], spec)).value, 'x');
    assert.deepEqual(parseFlags(['--steps', '3', '--'], spec)['steps'], '3');
    const single = configError(() => parseFlags(['-steps', '3'], spec));
    assert.equal(single.value, '-steps');
    assert.match(single.message, /two dashes; did you mean --steps\?/);
    const missing = configError(() => parseFlags(['--seed', '1', '--steps'], spec));
    assert.equal(missing.field, '--steps');
    assert.match(missing.message, /needs a value/);
    const eaten = configError(() => parseFlags(['--out', '--steps', '5'], spec));
    assert.equal(eaten.field, '--out');
    assert.match(eaten.message, /needs a value, and "--steps" is a flag/);
    const sw = configError(() => parseFlags(['--resume=yes'], spec));
    assert.equal(sw.field, '--resume');
    assert.equal(sw.value, 'yes');
  });

  it('choice accepts only the listed strings', () => {
    assert.equal(choice(parseFlags(['--backend', 'cpu'], spec), 'backend', BACKENDS), 'cpu');
    for (const v of ['tpu', '__proto__', 'constructor', ''])
      assert.match(configError(() => choice({ backend: v }, 'backend', BACKENDS)).message, /must be one of/);
  });
});

describe('nearest', () => {
  it('suggests within edit distance 2 (swaps count 1), or a unique prefix, or nothing', () => {
    assert.deepEqual(nearest('step', ['steps', 'seed', 'out']), ['steps']);
    assert.deepEqual(nearest('stpes', ['steps', 'seed']), ['steps']);
    // 'lr' is 2 edits from 'log', more than half of either name: the prefix wins
    assert.deepEqual(nearest('log', ['log-every', 'lr']), ['log-every']);
    assert.deepEqual(nearest('seds', ['steps', 'seed']), ['steps', 'seed']);
    assert.deepEqual(nearest('log-e', ['log-every', 'out']), ['log-every']);
    assert.deepEqual(nearest('c', ['count', 'clip']), []);
    assert.deepEqual(nearest('q', ['k']), []);
    assert.deepEqual(nearest('x'.repeat(1000), ['steps']), []);
  });
});

describe('batchSize', () => {
  it('bounds one batch of float32 samples by 2 GiB', () => {
    assert.equal(batchSize({ batch: '174762' }, 'batch', [32, 32, 3]), 174762);
    const e = configError(() => batchSize({ batch: '174763' }, 'batch', [32, 32, 3]));
    assert.match(e.message, /--batch = "174763": .*over the 2 GiB limit of a batch: at most 174762/);
    assert.match(configError(() => batchSize({ batch: '1e9' }, 'batch', [8, 32, 32, 3])).message, /TiB, over the 2 GiB limit/);
    assert.throws(() => batchSize({ batch: '0' }, 'batch', [32, 32, 3]), /must be an integer >= 1/);
  });
});

describe('preset lookups', () => {
  it('treats prototype names as unknown presets of every method', () => {
    for (const method of METHODS)
      for (const name of [
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'valueOf',
        '__proto__/4',
        'constructor/4',
        'toString/4',
      ]) {
        const e = configError(() => presetSpec(method, name));
        assert.equal(e.field, 'preset');
        assert.equal(e.value, name);
        assert.match(e.message, /must be SIZE\/PATCH with SIZE one of micro, .*\(e\.g\. micro\/4\)/);
      }
    // the model builders take a preset name too (Reflect.apply: a JavaScript caller's untyped string)
    for (const build of [mae, diffmae])
      for (const name of ['__proto__', 'constructor', 'toString'])
        assert.match(configError(() => Reflect.apply(build, undefined, [name])).message, new RegExp(`^preset = "${name}": must be one of`));
  });
});

describe('parseMask', () => {
  it('reads its numbers in the one grammar', () => {
    assert.deepEqual(parseMask('random:.5'), Mask.random(0.5));
    assert.deepEqual(parseMask('block:0,1,2,3'), Mask.block({ top: 0, left: 1, height: 2, width: 3 }));
    for (const s of [
      'random:0x0',
      'random: .5',
      'random:',
      'random:0.5:x',
      'center:Infinity',
      'block:,1,2,3',
      'block:0x1,1,2,3',
      'block:1,1,2,3 ',
    ])
      assert.match(configError(() => parseMask(s)).message, /^--mask = /, s);
  });
});

describe('fuzzing the parser', () => {
  const specs: FlagSpec[] = [spec, trainFlags];
  const token = (s: FlagSpec): fc.Arbitrary<string> => {
    const names = Object.keys(s);
    const num = fc.oneof(
      fc.double({ noNaN: true }).map(String),
      fc.integer().map(String),
      fc.constantFrom('-5', '0x10', '1e9', '1_000', '', ' 1', '.5', '-.5', '1e-3', 'NaN', '-Infinity'),
    );
    return fc.oneof(
      fc.constantFrom(...names).map((n) => `--${n}`),
      fc.tuple(fc.constantFrom(...names), num).map(([n, v]) => `--${n}=${v}`),
      fc.constantFrom(...names).map((n) => `-${n}`),
      num,
      fc.constantFrom('--', '-', '--=', '--__proto__', '--constructor', 'micro/4', 'cpu', 'mae', '--step', '--resume=1'),
      fc.string({ maxLength: 8 }),
    );
  };

  it('returns typed values or throws a ConfigError, on any argv', () => {
    for (const s of specs) {
      const names = Object.keys(s);
      // mostly well-formed pairs (so that many argv parse and the accessors run), mixed with junk
      const pair = fc.tuple(fc.constantFrom(...names), token(s)).map(([n, v]) => (s[n]!.type === 'boolean' ? [`--${n}`] : [`--${n}`, v]));
      const argvs = fc
        .array(fc.oneof({ arbitrary: pair, weight: 4 }, { arbitrary: token(s).map((t) => [t]), weight: 1 }), { maxLength: 8 })
        .map((xs) => xs.flat());
      let parsed = 0;
      let runs = 0;
      fc.assert(
        fc.property(argvs, (argv) => {
          runs++;
          let f: Flags;
          try {
            f = parseFlags(argv, s);
          } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            return;
          }
          parsed++;
          for (const [name, v] of Object.entries(f)) {
            const def = s[name];
            assert.ok(def, `parsed an unknown flag ${name}`);
            if (v === undefined) continue;
            assert.equal(typeof v, def.type, name);
          }
          for (const [name, def] of Object.entries(s)) {
            if (def.type !== 'string' || f[name] === undefined) continue;
            for (const read of [str, num, (g: Flags, n: string) => integer(g, n, 1), (g: Flags, n: string) => choice(g, n, BACKENDS)]) {
              try {
                const v = read(f, name);
                assert.ok(typeof v === 'string' || Number.isFinite(v), name);
              } catch (e) {
                assert.ok(e instanceof ConfigError, String(e));
              }
            }
          }
        }),
        { numRuns: 1000 },
      );
      assert.ok(parsed > runs / 10, `only ${parsed} of ${runs} argv parsed: the fuzz would test little`);
    }
  });
});

describe('tesserae flags end to end', () => {
  const out = join(dir, 'never');
  const refused = (args: string[], pattern: RegExp): string => {
    const t0 = performance.now();
    const r = run(...args, '--out', out);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /ambiguous|at .*\.js:\d+/, args.join(' '));
    assert.ok(performance.now() - t0 < 30_000, `${args.join(' ')} was refused before any work`);
    assert.equal(existsSync(out), false, `${args.join(' ')} wrote nothing`);
    return r.stderr;
  };

  it('train refuses each bad flag before writing anything, naming the flag', () => {
    refused(['train', '--weight-decay', '-5', '--steps', '2'], /ConfigError: --weight-decay = -5: must be >= 0/);
    refused(['train', '--preset', '__proto__'], /--preset = "__proto__": must be SIZE\/PATCH with SIZE one of micro/);
    refused(
      ['train', '--preset', 'constructor', '--method', 'umd'],
      /--preset = "constructor": must be SIZE\/PATCH with SIZE one of micro/,
    );
    refused(['train', '--steps', '0x10'], /--steps = "0x10": must be a finite number/);
    refused(['train', '--steps', '10', '--steps', '20'], /--steps = "20": is given twice \(first "10"\)/);
    refused(['train', '--mask-ratio', '0'], /--mask-ratio = 0: masks nothing, and the objective scores the masked patches only/);
    refused(
      ['train', '--method', 'diffmae', '--mask-ratio', '0'],
      /--mask-ratio = 0: masks nothing, and the objective scores the masked patches only/,
    );
    refused(['train', '--method', 'umd', '--clean-ratio', '0'], /--clean-ratio = 0: masks nothing/);
    refused(['train', '--batch', '1e9'], /--batch = "1e9": .*over the 2 GiB limit of a batch: at most 174762/);
    const unknown = refused(
      ['train', '--step', '10', '--data', 'synthetic'],
      /flag = "--step": is not a flag of this command; did you mean --steps\?/,
    );
    assert.doesNotMatch(unknown, /synthetic/);
    refused(['train', 'stray'], /argument = "stray"/);
  });

  it('reconstruct and compare read --batch and --mask-ratio strictly too', () => {
    refused(['compare', '--batch', '1e9', '--backend', 'cpu'], /--batch = "1e9": .*2 GiB/);
    const files = [
      '--weights',
      join(dir, 'w'),
      '--images',
      join(dir, 'x'),
      '--noise',
      join(dir, 'u'),
      '--heads',
      '1',
      '--decoder-heads',
      '1',
    ];
    refused(['reconstruct', ...files, '--mask-ratio', '0x1'], /--mask-ratio = "0x1": must be a finite number/);
    refused(['reconstruct', ...files, '--mask-ratio', '-0.5'], /--mask-ratio = -0\.5: must be in \[0, 1\)/);
  });

  it('an unknown command gets the nearest command suggested, and a prototype name is unknown', () => {
    const r = run('trian');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "trian"; did you mean train\?/);
    for (const name of ['toString', 'constructor', '__proto__']) {
      const p = run(name);
      assert.equal(p.status, 2, name);
      assert.match(p.stderr, new RegExp(`unknown command "${name}"`));
    }
  });
});
