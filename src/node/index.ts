/**
 * `tesserae/node`: Node-only helpers (files). Everything in the main entry works here too.
 *
 * @since 0.1.0
 */
export * from './files.js';
