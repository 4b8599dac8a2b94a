/**
 * `tesserae/node`: Node-only helpers (files). Everything in the main entry works here too.
 *
 * @module tesserae/node
 * @since 0.1.0
 */
export * from './files.js';
export * from './tensorFiles.js';
export * from './loaders.js';
export * from './checkpoint.js';
export * from './pretrained.js';
export * from './datasets.js';
export * from './threads.js';
export * from './run.js';
export * from './trainLog.js';
