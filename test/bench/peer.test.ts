import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIZES, modelFlops, presetSpec } from '../../src/index.js';
import { bestPeer, findTorchPython, parsePeerOutput, peerConfig, peerFlops, peerRatio, type PeerRow } from '../../bench/peer.js';

const row = (threads: number, stepMs: number): PeerRow => ({
  peer: 'pytorch',
  torch: '1.13',
  label: 'mae micro/4',
  threads,
  batch: 64,
  stepMs,
  flopsPerImage: 1,
  achievedGflops: 1,
});

describe('the PyTorch peer of bench/speed.ts', () => {
  it('peerConfig carries the sizes of SIZES and the branches of the spec (what peer.py builds)', () => {
    for (const size of ['micro', 'small', 'tiny'] as const) {
      const mae = peerConfig(presetSpec('mae', `${size}/4`));
      assert.deepEqual(
        { width: mae.encoder.width, depth: mae.encoder.depth, heads: mae.encoder.heads },
        { width: SIZES[size].encoder.width, depth: SIZES[size].encoder.depth, heads: SIZES[size].encoder.heads },
      );
      assert.deepEqual(
        { width: mae.decoder.width, depth: mae.decoder.depth, heads: mae.decoder.heads },
        { width: SIZES[size].decoder.width, depth: SIZES[size].decoder.depth, heads: SIZES[size].decoder.heads },
      );
      assert.equal(mae.decoder.kind, 'mask-token');
      assert.deepEqual(mae.heads, ['x0']);
      assert.deepEqual(mae.branches, [{ share: 1, keep: 16, noise: 'none', objective: [{ target: 'x0', region: 'masked', weight: 1 }] }]);
      const dm = peerConfig(presetSpec('diffmae', `${size}/4`));
      assert.equal(dm.decoder.kind, 'cross-self');
      assert.deepEqual(
        dm.branches.map((b) => [b.keep, b.noise]),
        [[16, 'masked']],
      );
      const umd = peerConfig(presetSpec('umd', `${size}/4`));
      assert.equal(umd.encoder.conditioning, 'adaln');
      assert.equal(umd.encoder.clsTokens, 4);
      assert.equal(umd.decoder.depth, SIZES[size].jointDepth);
      assert.deepEqual(umd.heads, ['x0', 'eps']);
      assert.deepEqual(
        umd.branches.map((b) => [b.share, b.keep, b.noise, b.objective.map((t) => `${t.weight} ${t.target} ${t.region}`)]),
        [
          [0.5, 16, 'none', ['1 x0 masked']],
          [0.5, 40, 'all', ['0.5 eps visible', '0.5 x0 masked']],
        ],
      );
      for (const c of [mae, dm, umd])
        assert.equal(c.flopsPerImage, modelFlops(presetSpec(c.label.split(' ')[0] as 'mae', `${size}/4`)).train);
    }
  });

  it('peerConfig refuses what peer.py has no network for', () => {
    assert.throws(() => peerConfig(presetSpec('mae', 'micro/4', { normPix: true })), /normPix/);
    assert.throws(() => peerConfig(presetSpec('mae', 'micro/4', { image: [4, 32, 32, 3] })), /image models only/);
  });

  it('parsePeerOutput takes the last measurement line and refuses output without one', () => {
    const out = `loading\n${JSON.stringify(row(1, 300))}\nnot json {\n${JSON.stringify(row(2, 250))}\n`;
    assert.equal(parsePeerOutput(out).stepMs, 250);
    assert.throws(() => parsePeerOutput('{"peer": "other"}\n'), /no measurement/);
  });

  it("peerRatio is tesserae's step time over the best PyTorch step time, whichever thread count was fastest", () => {
    const best = bestPeer([row(1, 300), row(2, 1200)])!;
    assert.equal(best.threads, 1);
    assert.equal(peerRatio(600, best), 2);
    assert.equal(peerRatio(150, best), 0.5);
    assert.equal(bestPeer([]), null);
  });

  it('findTorchPython is null when no candidate imports torch', () => {
    assert.equal(findTorchPython(['/nonexistent/python3']), null);
  });

  const torch = findTorchPython();
  // TESSERAE_REQUIRE_TORCH=1 (.ci/run sets it, having installed python3-torch) makes a missing
  // torch a failure; elsewhere the test says it did not run
  const required = process.env['TESSERAE_REQUIRE_TORCH'] === '1';
  it(
    "peer.py's network does the FLOPs modelFlops counts for the same spec (within 2%)",
    { skip: torch === null && !required ? 'no python here imports torch' : false, timeout: 600_000 },
    () => {
      assert.ok(torch !== null, 'TESSERAE_REQUIRE_TORCH=1 but no python here imports torch (Debian: python3-torch)');
      for (const [method, preset] of [
        ['mae', 'micro/4'],
        ['diffmae', 'micro/4'],
        ['umd', 'micro/4'],
        ['umd', 'tiny/4'],
      ] as const) {
        const c = peerConfig(presetSpec(method, preset));
        const counted = peerFlops(torch!.python, c);
        assert.ok(Math.abs(counted / c.flopsPerImage - 1) < 0.02, `${method} ${preset}: peer ${counted}, tesserae ${c.flopsPerImage}`);
      }
    },
  );
});
