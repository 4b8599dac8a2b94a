/**
 * The ViT block (pre-norm): x + attn(norm(x)), then x + mlp(norm(x)). An ordinary composition
 * of combinators.
 *
 * @since 0.1.0
 */
import { positive } from '../core/check.js';
import type { Layer } from '../core/layer.js';
import type { Tensor } from '../core/tf.js';
import { residual } from '../combinators/residual.js';
import { serial } from '../combinators/serial.js';
import { selfAttention, type SelfAttentionParams, type AttentionConfig } from '../layers/attention.js';
import { layerNorm, type LayerNormParams } from '../layers/layerNorm.js';
import { mlp, type MlpParams } from '../layers/mlp.js';
import type { Activation } from '../layers/ops.js';

/**
 * Configuration of {@link vitBlock}.
 *
 * @since 0.1.0
 */
export interface VitBlockConfig extends AttentionConfig {
  /** MLP hidden width as a multiple of the width (default 4). */
  readonly mlpRatio?: number;
  /** The MLP's activation (default exact GELU). */
  readonly activation?: Activation;
  /** LayerNorm eps (default 1e-6). */
  readonly eps?: number;
}

/** Params of {@link vitBlock}. */
export type VitBlockParams = {
  readonly attn: { readonly norm: LayerNormParams; readonly attn: SelfAttentionParams };
  readonly mlp: { readonly norm: LayerNormParams; readonly mlp: MlpParams };
};

/**
 * A pre-norm transformer block on tokens [B, N, D].
 *
 * @example
 * const block = vitBlock({ width: 192, heads: 3 })
 * @since 0.1.0
 */
export const vitBlock = (cfg: VitBlockConfig): Layer<VitBlockParams, Tensor, Tensor> => {
  const ratio = positive('vitBlock.mlpRatio', cfg.mlpRatio ?? 4);
  const eps = cfg.eps ?? 1e-6;
  return serial(
    {
      attn: residual(serial({ norm: layerNorm({ eps }), attn: selfAttention(cfg) })),
      mlp: residual(
        serial({
          norm: layerNorm({ eps }),
          mlp: mlp({ hidden: Math.round(cfg.width * ratio), ...(cfg.activation ? { activation: cfg.activation } : {}) }),
        }),
      ),
    },
    'vitBlock',
  );
};
