/**
 * The PyTorch peer of bench/speed.ts: finding a python3 that imports torch, the configuration
 * bench/peer.py builds its network from (derived from the same ModelSpec tesserae trains), and
 * one measurement of it.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Key, drawMask, gridOf, modelFlops, type ModelSpec } from '../src/index.js';

/** Where bench/peer.py lies (this file compiles to dist/bench/peer.js). */
export const PEER_SCRIPT = fileURLToPath(new URL('../../bench/peer.py', import.meta.url));

/**
 * The first python that imports torch: Debian's python3-torch imports only under /usr/bin/python3,
 * which need not be the `python3` first on PATH. Null when neither does.
 */
export const findTorchPython = (
  candidates: readonly string[] = ['/usr/bin/python3', 'python3'],
): { python: string; torch: string } | null => {
  for (const python of candidates) {
    try {
      const torch = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], {
        encoding: 'utf8',
        timeout: 120_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      return { python, torch };
    } catch {
      // not this one
    }
  }
  return null;
};

/** One loss term of a branch, as peer.py reads it. */
export interface PeerTerm {
  readonly target: 'x0' | 'eps';
  readonly region: 'masked' | 'visible' | 'all';
  readonly weight: number;
}

/** What bench/peer.py builds its step from. */
export interface PeerConfig {
  readonly label: string;
  readonly image: readonly number[];
  readonly patch: number;
  readonly encoder: {
    readonly width: number;
    readonly depth: number;
    readonly heads: number;
    readonly mlpRatio: number;
    readonly clsTokens: number;
    readonly conditioning: string;
    readonly pos: string;
  };
  readonly decoder: {
    readonly kind: string;
    readonly width: number;
    readonly depth: number;
    readonly heads: number;
    readonly mlpRatio: number;
  };
  /** Output heads, x0 first. */
  readonly heads: readonly ('x0' | 'eps')[];
  /** Each branch: its share of the batch, how many tokens the encoder sees, where noise goes, its loss terms. */
  readonly branches: readonly {
    readonly share: number;
    readonly keep: number;
    readonly noise: 'none' | 'masked' | 'all';
    readonly objective: readonly PeerTerm[];
  }[];
  /** tesserae's count of one training step's FLOPs per image (`modelFlops(spec).train`), printed beside peer.py's own. */
  readonly flopsPerImage: number;
}

/**
 * The peer configuration of a spec: the encoder and decoder sizes, the heads, and per branch of
 * the corruption its share, the number of visible tokens its mask leaves, its noise and loss.
 * A spec peer.py has no network for (a normPix term, a video or unpatched input) is refused here.
 */
export const peerConfig = (spec: ModelSpec): PeerConfig => {
  const p = spec.corruption.patching;
  if (p.kind !== 'image' || spec.image.length !== 3) throw new Error(`peer.py builds image models only, not ${JSON.stringify(p)}`);
  const g = gridOf(p, spec.image);
  const e = spec.network.encoder;
  const d = spec.network.decoder;
  const targets = new Set(spec.corruption.branches.flatMap((b) => b.branch.objective.map((t) => t.target)));
  const heads = spec.network.heads ?? (['x0', 'eps'] as const).filter((t) => targets.has(t));
  return {
    label: spec.label ?? 'model',
    image: spec.image,
    patch: p.size,
    encoder: {
      width: e.width,
      depth: e.depth,
      heads: e.heads,
      mlpRatio: e.mlpRatio ?? 4,
      clsTokens: e.clsTokens,
      conditioning: e.conditioning,
      pos: e.pos,
    },
    decoder: { kind: d.kind, width: d.width, depth: d.depth, heads: d.heads, mlpRatio: d.mlpRatio ?? 4 },
    heads: (['x0', 'eps'] as const).filter((t) => heads.includes(t)),
    branches: spec.corruption.branches.map((wb) => ({
      share: wb.weight,
      keep: drawMask(wb.branch.mask, Key.key(0), 1, g).keep,
      noise: wb.branch.noise.placement,
      objective: wb.branch.objective.map((t) => {
        if (t.normPix) throw new Error('peer.py has no normPix loss');
        return { target: t.target, region: t.region, weight: t.weight };
      }),
    })),
    flopsPerImage: modelFlops(spec).train,
  };
};

/** One peer.py measurement (its JSON line). */
export interface PeerRow {
  readonly peer: 'pytorch';
  readonly torch: string;
  readonly label: string;
  readonly threads: number;
  readonly batch: number;
  readonly stepMs: number;
  readonly flopsPerImage: number;
  readonly achievedGflops: number;
  readonly tesseraeFlopsPerImage?: number;
  readonly flopsRatio?: number;
}

const isPeerRow = (v: unknown): v is PeerRow => {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    r['peer'] === 'pytorch' && typeof r['stepMs'] === 'number' && typeof r['flopsPerImage'] === 'number' && typeof r['threads'] === 'number'
  );
};

/** The last line of peer.py's output that is a measurement (it prints one JSON line per thread count). */
export const parsePeerOutput = (stdout: string): PeerRow => {
  const lines = stdout.split('\n').filter((l) => l.trim().startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const v: unknown = JSON.parse(line);
      if (isPeerRow(v)) return v;
    } catch {
      // not JSON
    }
  }
  throw new Error(`peer.py printed no measurement: ${stdout.slice(-300)}`);
};

/** The fastest of a method's peer measurements (over thread counts): what peerRatio compares against. Null for none. */
export const bestPeer = (rows: readonly PeerRow[]): PeerRow | null =>
  rows.reduce<PeerRow | null>((a, p) => (a === null || p.stepMs < a.stepMs ? p : a), null);

/**
 * tesserae's step time over the best PyTorch step time, as issue 19 states its targets: 1 is as
 * fast as PyTorch, 2 twice as slow, below 1 faster.
 */
export const peerRatio = (tesseraeMs: number, best: PeerRow): number => +(tesseraeMs / best.stepMs).toFixed(3);

/** Runs peer.py once: one thread count, `steps` timed steps after 2 warm-up steps. */
export const runPeer = (
  python: string,
  config: PeerConfig,
  o: { readonly threads: number; readonly batch: number; readonly steps: number },
): PeerRow =>
  parsePeerOutput(
    execFileSync(
      python,
      [
        PEER_SCRIPT,
        '--config',
        JSON.stringify(config),
        '--threads',
        String(o.threads),
        '--batch',
        String(o.batch),
        '--steps',
        String(o.steps),
      ],
      { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 2 ** 20 },
    ),
  );

/** peer.py's count of one training step's FLOPs per image (its `--steps 0` mode: the network is built and run once, not timed). */
export const peerFlops = (python: string, config: PeerConfig): number => {
  const out = execFileSync(python, [PEER_SCRIPT, '--config', JSON.stringify(config), '--steps', '0'], {
    encoding: 'utf8',
    timeout: 600_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const v: unknown = JSON.parse(out.trim().split('\n').pop() ?? '');
  const flops = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['flopsPerImage'] : undefined;
  if (typeof flops !== 'number') throw new Error(`peer.py printed no FLOP count: ${out.slice(-300)}`);
  return flops;
};
