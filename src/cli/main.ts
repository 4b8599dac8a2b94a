#!/usr/bin/env node
/**
 * The `tesserae` command line.
 *
 * @since 0.1.0
 */
import { TesseraeError } from '../core/errors.js';
import { choice, integer, parseFlags, str, usage, type FlagSpec } from './args.js';
import { runDemo } from './demo.js';

interface Command {
  readonly summary: string;
  readonly flags: FlagSpec;
  readonly run: (argv: readonly string[]) => Promise<void>;
}

const demoFlags: FlagSpec = {
  out: { type: 'string', default: 'runs/demo', help: 'output folder' },
  seed: { type: 'string', default: '0', help: 'seed for data, masks, noise and params' },
  count: { type: 'string', default: '8', help: 'number of synthetic images' },
  backend: { type: 'string', default: 'auto', help: 'cpu | wasm | auto' },
};

const commands: Record<string, Command> = {
  demo: {
    summary: 'the corruption algebra on the embedded synthetic data: MAE, DiffMAE, UMD, MaskDiT and DiT side by side',
    flags: demoFlags,
    run: async (argv) => {
      const f = parseFlags(argv, demoFlags);
      await runDemo({
        out: str(f, 'out'),
        seed: integer(f, 'seed', 0),
        count: integer(f, 'count', 1),
        backend: choice(f, 'backend', ['cpu', 'wasm', 'auto'] as const),
        log: (line) => console.log(line),
      });
    },
  },
};

const help = (): string =>
  [
    'usage: tesserae <command> [flags]',
    '',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(12)}${c.summary}`),
    '',
    'tesserae <command> --help for its flags',
  ].join('\n');

export const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`tesserae: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usage(name, cmd.summary, cmd.flags));
    return 0;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof TesseraeError) {
      console.error(`tesserae ${name}: ${e.name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
