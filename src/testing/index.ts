/**
 * `tesserae/testing`: fast-check arbitraries for the corruption algebra.
 *
 * @since 0.1.0
 */
export * from './arbitraries.js';
