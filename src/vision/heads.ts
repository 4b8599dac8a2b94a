/**
 * What a network head predicts: the clean patches (`x0`) or the noise (`eps`). The network
 * layers name their heads with it; the corruption's objectives score them (see
 * `corruption/objective.ts`).
 *
 * @since 0.1.0
 */
export type Target = 'x0' | 'eps';
