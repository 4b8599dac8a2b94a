/**
 * The pretrained checkpoints that ship inside the package (`pretrained/` at its root): small
 * models trained by the commands recorded in `pretrained/README.md`, so that inpainting,
 * sampling and the browser demo work without training first. A command names one as
 * `--checkpoint pretrained:NAME`; the name is looked up in a fixed table, never used as a path.
 *
 * @since 0.2.0
 */
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';

/**
 * The pretrained checkpoints and what each is.
 *
 * @example
 * PRETRAINED['diffmae-fashion'] // 'DiffMAE micro/4, Fashion-MNIST (28 x 28 x 1), half precision'
 * @since 0.2.0
 */
export const PRETRAINED = {
  'mae-fashion': 'MAE micro/4, Fashion-MNIST (28 x 28 x 1), half precision',
  'diffmae-fashion': 'DiffMAE micro/4, Fashion-MNIST (28 x 28 x 1), half precision',
  'umd-fashion': 'UMD micro/4, Fashion-MNIST (28 x 28 x 1), half precision',
  'mae-synthetic': 'MAE micro/4, the embedded synthetic data (32 x 32 x 3), half precision',
} as const;

/**
 * A pretrained checkpoint's name.
 *
 * @since 0.2.0
 */
export type PretrainedName = keyof typeof PRETRAINED;

const PREFIX = 'pretrained:';

/**
 * The file a checkpoint argument names: `pretrained:NAME` is the packaged file of that name
 * (an unknown name is a {@link ConfigError} listing the known ones); anything else is returned
 * as it is, a path.
 *
 * @example
 * checkpointFile('pretrained:mae-fashion') // '<package>/pretrained/mae-fashion.safetensors'
 * @since 0.2.0
 */
export const checkpointFile = (arg: string): string => {
  if (!arg.startsWith(PREFIX)) return arg;
  const name = arg.slice(PREFIX.length);
  if (!Object.hasOwn(PRETRAINED, name))
    throw new ConfigError(
      '--checkpoint',
      arg,
      `names no pretrained checkpoint; there are ${Object.keys(PRETRAINED)
        .map((n) => PREFIX + n)
        .join(', ')}`,
    );
  return fileURLToPath(new URL(`../../../pretrained/${name}.safetensors`, import.meta.url));
};
