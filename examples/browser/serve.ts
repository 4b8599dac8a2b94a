/**
 * A tiny static server for the browser demo, on the loopback interface only: the page
 * (examples/browser, with the bundle in its dist/) at `/`, and optionally a folder of
 * checkpoints at `/checkpoints/`. WebGPU needs a secure context, and http://127.0.0.1 is one.
 *
 * `node dist/examples/browser/serve.js [--port 8080] [--checkpoints DIR]` prints the URL; the
 * real-browser test imports {@link serve}.
 *
 * @since 0.1.0
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.safetensors': 'application/octet-stream',
};

/** The repository root: the nearest folder above this file with a package.json. */
const packageRoot = (): string => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('serve: cannot find the package root (no package.json above this file)');
    d = up;
  }
  return d;
};

/**
 * Options of {@link serve}.
 *
 * @since 0.1.0
 */
export interface ServeOptions {
  /** The page's folder (default: examples/browser of this repository). */
  readonly root?: string;
  /** URL prefixes (`/checkpoints/`) mapped to folders; `/pretrained/` is always the package's pretrained checkpoints. */
  readonly mounts?: Readonly<Record<string, string>>;
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

/**
 * A running server: its base URL (ending in `/`) and a way to stop it.
 *
 * @since 0.1.0
 */
export interface Served {
  readonly url: string;
  readonly close: () => Promise<void>;
}

/**
 * Serves the demo on 127.0.0.1. GET and HEAD only; paths cannot leave their folder.
 *
 * @example
 * const { url, close } = await serve({ mounts: { '/checkpoints/': 'runs/export' } })
 * @since 0.1.0
 */
export const serve = async (o: ServeOptions = {}): Promise<Served> => {
  const root = resolve(o.root ?? join(packageRoot(), 'examples', 'browser'));
  const mounts = Object.entries({ '/pretrained/': join(packageRoot(), 'pretrained'), ...o.mounts }).map(
    ([prefix, dir]) => [prefix, resolve(dir)] as const,
  );
  const server = createServer((req, res) => {
    const fail = (code: number, text: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${code} ${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return fail(400, 'bad path');
    }
    if (path.endsWith('/')) path += 'index.html';
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    const base = mount ? mount[1] : root;
    const file = resolve(base, `.${sep}${mount ? path.slice(mount[0].length) : path}`);
    if (file !== base && !file.startsWith(base + sep)) return fail(403, 'forbidden');
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) return fail(404, 'not found');
      size = st.size;
    } catch {
      return fail(404, `not found: ${path}`);
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(size),
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((ok, bad) => {
    server.once('error', bad);
    server.listen(o.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
};

const SERVE_USAGE = [
  'usage: node dist/examples/browser/serve.js [--port N] [--checkpoints DIR]',
  '',
  '  serves the tesserae browser demo on http://127.0.0.1 (loopback only) until stopped (Ctrl-C)',
  '  --port N           the port (default 8080; 0 picks a free one)',
  '  --checkpoints DIR  a folder of checkpoints, served at /checkpoints/ (open ?checkpoint=/checkpoints/NAME.safetensors)',
  '  --help, -h         print this and exit',
].join('\n');

/** `node dist/examples/browser/serve.js [--port N] [--checkpoints DIR]`. */
const cli = async (argv: readonly string[]): Promise<void> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVE_USAGE);
    return;
  }
  const known = ['--port', '--checkpoints'];
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.includes(argv[i]!)) {
      console.error(`serve: ${JSON.stringify(argv[i])} is not a flag of serve.js\n\n${SERVE_USAGE}`);
      process.exitCode = 2;
      return;
    }
  }
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const dir = flag('checkpoints');
  const { url } = await serve({ port: Number(flag('port') ?? 8080), ...(dir ? { mounts: { '/checkpoints/': dir } } : {}) });
  if (!existsSync(join(packageRoot(), 'examples', 'browser', 'dist', 'main.js')))
    console.error('serve: examples/browser/dist/main.js is missing; run `node scripts/build-browser.mjs` first');
  console.log(`serving the tesserae browser demo at ${url}`);
  if (dir) console.log(`checkpoints from ${resolve(dir)} at ${url}?checkpoint=/checkpoints/NAME.safetensors`);
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await cli(process.argv.slice(2));
