// A typedoc plugin: the API reference grouped by topic. Each export of an entry point gets the
// `@category` of the folder (or, under src/node, the file) it is declared in, so the reference
// reads as the layout does (the algebra, the networks, training, evaluation, files) instead of
// one alphabetical list. An explicit `@category` in a doc comment wins. The table is the one
// place that names the topics; test/docs/topics.test.ts holds every source file to a topic.
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, Comment, CommentTag, Converter, ReflectionKind } from 'typedoc';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Topic of each source folder of src/, in the order the reference lists them. */
export const FOLDER_TOPICS = {
  corruption: 'Corruption algebra',
  models: 'Models and presets',
  combinators: 'Combinators',
  layers: 'Layers',
  vision: 'Vision blocks',
  diffusion: 'Diffusion and sampling',
  train: 'Training',
  eval: 'Evaluation',
  data: 'Data',
  checkpoints: 'Checkpoints',
  io: 'Files and formats',
  core: 'Keys, params and errors',
  backends: 'Backends',
  kernels: 'Kernels',
  testing: 'Property testing',
};

/** Topic of each file of src/node (the Node entry point's own topics). */
export const NODE_TOPICS = {
  'loaders.ts': 'Data sets',
  'datasets.ts': 'Data sets',
  'pretrained.ts': 'Checkpoints',
  'checkpoint.ts': 'Checkpoints',
  'tensorFiles.ts': 'Files',
  'files.ts': 'Files',
  'fsErrors.ts': 'Files',
  'threads.ts': 'Threads',
  'gradWorker.ts': 'Threads',
  'run.ts': 'Training runs',
  'runs.ts': 'Training runs',
  'trainLog.ts': 'Training runs',
  'progress.ts': 'Training runs',
};

/** The topic of a source file (a path relative to the repository root), or undefined. */
export const topicOf = (file) => {
  const parts = file.split(/[\\/]/);
  if (parts[0] !== 'src' || parts.length < 3) return undefined;
  if (parts[1] === 'node') return NODE_TOPICS[parts[2]];
  return FOLDER_TOPICS[parts[1]];
};

/** typedoc's order: the topics above, in that order. */
export const CATEGORY_ORDER = [...new Set([...Object.values(FOLDER_TOPICS), ...Object.values(NODE_TOPICS)]), '*'];

/** @param {import('typedoc').Application} app */
export const load = (app) => {
  app.on(Application.EVENT_BOOTSTRAP_END, () => app.options.setValue('categoryOrder', CATEGORY_ORDER));
  /** reflection id -> topic, noted as each top-level export is created */
  const topics = new Map();
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    const parent = reflection.parent;
    if (!parent || !(parent.kindOf(ReflectionKind.Module) || parent.kindOf(ReflectionKind.Project))) return;
    const symbol = context.getSymbolFromReflection(reflection);
    if (!symbol) return;
    // `export type { Key as PRNGKey } from ...`: the topic of what the alias names
    const target = symbol.flags & ts.SymbolFlags.Alias ? context.checker.getAliasedSymbol(symbol) : symbol;
    const declaration = target.declarations?.[0];
    if (!declaration) return;
    const topic = topicOf(relative(root, declaration.getSourceFile().fileName).split(sep).join('/'));
    if (topic) topics.set(reflection.id, topic);
  });
  // comments are attached by then; typedoc's categories are read after this
  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      for (const [id, topic] of topics) {
        const reflection = context.project.getReflectionById(id);
        if (!reflection) continue;
        reflection.comment ??= new Comment();
        if (reflection.comment.getTag('@category')) continue;
        reflection.comment.blockTags.push(new CommentTag('@category', [{ kind: 'text', text: topic }]));
      }
    },
    100,
  );
};
