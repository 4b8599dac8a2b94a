/**
 * `tesserae/testing`: fast-check arbitraries for the corruption algebra.
 *
 * @module tesserae/testing
 * @since 0.1.0
 */
export * from './arbitraries.js';
