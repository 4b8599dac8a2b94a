/**
 * Plain float64 loops for UMD's condition embedding, written from philippe-eecs/small-vision:
 * big_vision/models/embeddings.py `TimeEmb` (half = width // 2, emb = log(10000) / (half - 1),
 * freqs = exp(arange(half) * -emb), [sin(t freqs), cos(t freqs)]) and `EmbeddingTrunk`
 * (Dense(width * 2) -> silu -> Dense(width)). They share no code with src/layers.
 */

/** TimeEmb(width)(t): [t.length][width]. */
export const timeEmbOracle = (t: readonly number[], width: number): number[][] => {
  const half = Math.floor(width / 2);
  const emb = Math.log(10000) / (half - 1);
  return t.map((s) => {
    const args = Array.from({ length: half }, (_, k) => s * Math.exp(k * -emb));
    return [...args.map(Math.sin), ...args.map(Math.cos)];
  });
};

/** x [n][in] . kernel [in][out] + bias [out]. */
const dense = (x: readonly number[][], kernel: readonly number[][], bias: readonly number[]): number[][] =>
  x.map((row) => bias.map((b, j) => row.reduce((acc, v, i) => acc + v * kernel[i]![j]!, b)));

/** EmbeddingTrunk: Dense(2 width) -> silu -> Dense(width), with the given weights. */
export const trunkOracle = (
  x: readonly number[][],
  fc1: { readonly kernel: number[][]; readonly bias: number[] },
  fc2: { readonly kernel: number[][]; readonly bias: number[] },
): number[][] =>
  dense(
    dense(x, fc1.kernel, fc1.bias).map((r) => r.map((v) => v / (1 + Math.exp(-v)))),
    fc2.kernel,
    fc2.bias,
  );
