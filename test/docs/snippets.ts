// Doc examples as type-checked snippets: collect the @example blocks of the public exports, and
// compile each one as its own module that imports the public API the way a user does.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** One @example block: the export it documents, where it is, and its code. */
export interface Example {
  /** The export's public name (`Key.split` for a member of a namespace export). */
  readonly symbol: string;
  /** The file, relative to the repository root. */
  readonly file: string;
  /** The 1-based line of the example's first line of code in that file. */
  readonly line: number;
  readonly code: string;
}

/** A bad example with the compiler's messages, each with the line it is on. */
export interface Failure {
  readonly example: Example;
  readonly messages: readonly string[];
}

/** The entry points, by the module name a user imports. */
export const ENTRIES: Readonly<Record<string, string>> = {
  tesserae: 'src/index.ts',
  'tesserae/node': 'src/node/index.ts',
  'tesserae/testing': 'src/testing/index.ts',
};

const baseOptions = (root: string): ts.CompilerOptions => ({
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: true,
  noEmit: true,
  baseUrl: root,
  paths: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, [`./${path}`]])),
});

/** The code of an @example tag: its lines without the comment's ` * ` margin. */
const exampleText = (tag: ts.JSDocTag): { code: string; firstLine: number } => {
  const sf = tag.getSourceFile();
  const start = tag.tagName.end;
  const raw = sf.text.slice(start, tag.end).replace(/\*\/\s*$/, '');
  const lines = raw.split('\n').map((l, i) => (i === 0 ? l : l.replace(/^\s*\* ?/, '').replace(/^\s*\*$/, '')));
  let first = 0;
  if (lines[0]!.trim() === '') first = 1;
  let last = lines.length;
  while (last > first && lines[last - 1]!.trim() === '') last--;
  const firstLine = sf.getLineAndCharacterOfPosition(start).line + 1 + first;
  return { code: lines.slice(first, last).join('\n'), firstLine };
};

/**
 * The public exports of the entry points (members of `export * as Name` namespaces under
 * `Name.member`), each with the declarations it resolves to; re-exports of dependencies (tf) are
 * left out. `names` are the top-level exported names of each entry, for the snippets' imports.
 */
export const publicApi = (
  root: string,
): { program: ts.Program; exports: { symbol: string; declarations: readonly ts.Declaration[] }[]; names: Map<string, string[]> } => {
  const program = ts.createProgram(
    Object.values(ENTRIES).map((p) => join(root, p)),
    baseOptions(root),
  );
  const checker = program.getTypeChecker();
  const out: { symbol: string; declarations: readonly ts.Declaration[] }[] = [];
  const names = new Map<string, string[]>();
  const seen = new Set<ts.Symbol>();
  const visit = (sym: ts.Symbol, path: string): void => {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (seen.has(target)) return;
    seen.add(target);
    const decls = target.declarations ?? [];
    const decl = decls[0];
    if (!decl) return;
    if (ts.isSourceFile(decl)) {
      for (const m of checker.getExportsOfModule(target)) visit(m, `${path}.${m.getName()}`);
      return;
    }
    if (!decl.getSourceFile().fileName.startsWith(join(root, 'src'))) return;
    out.push({ symbol: path, declarations: decls });
  };
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const sf = program.getSourceFile(join(root, entry));
    if (!sf) throw new Error(`entry point ${entry} not found`);
    const mod = checker.getSymbolAtLocation(sf);
    if (!mod) throw new Error(`entry point ${entry} is not a module`);
    const exported = checker.getExportsOfModule(mod);
    names.set(
      name,
      exported.map((e) => e.getName()),
    );
    for (const e of exported) visit(e, e.getName());
  }
  return { program, exports: out, names };
};

/** The @example blocks of the public exports, in entry-point order. */
export const collectExamples = (root: string): { examples: Example[]; names: Map<string, string[]>; exports: number } => {
  const { exports, names } = publicApi(root);
  const examples: Example[] = [];
  const tags = new Set<ts.JSDocTag>();
  for (const { symbol, declarations } of exports) {
    for (const decl of declarations) {
      for (const tag of ts.getJSDocTags(decl)) {
        if (tag.tagName.text !== 'example' || tags.has(tag)) continue;
        tags.add(tag);
        const { code, firstLine } = exampleText(tag);
        const file = decl.getSourceFile().fileName.slice(root.length + 1);
        examples.push({ symbol, file, line: firstLine, code });
      }
    }
  }
  return { examples, names, exports: exports.length };
};

/** The names a snippet binds at its top level (imports and declarations). */
const topLevelNames = (sf: ts.SourceFile): Set<string> => {
  const out = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) out.add(name.text);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) bind(d.name);
    else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isEnumDeclaration(st)) &&
      st.name
    )
      out.add(st.name.text);
    else if (ts.isModuleDeclaration(st) && ts.isIdentifier(st.name)) out.add(st.name.text);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      if (c.name) out.add(c.name.text);
      const nb = c.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) out.add(nb.name.text);
      else if (nb) for (const el of nb.elements) out.add(el.name.text);
    } else if (ts.isImportEqualsDeclaration(st)) out.add(st.name.text);
  }
  return out;
};

/** Is this identifier the callee of a call or of `new` (`foo(...)`, `new Foo(...)`)? */
const inCallPosition = (id: ts.Node): boolean => {
  const p = id.parent;
  return (
    !!p &&
    (ts.isCallExpression(p) || ts.isNewExpression(p) || ts.isTaggedTemplateExpression(p)) &&
    (ts.isTaggedTemplateExpression(p) ? p.tag : p.expression) === id
  );
};

const identifierAt = (sf: ts.SourceFile, pos: number): ts.Identifier | undefined => {
  const find = (node: ts.Node): ts.Identifier | undefined => {
    if (pos < node.getStart(sf) || pos >= node.end) return undefined;
    if (ts.isIdentifier(node) && node.getStart(sf) === pos) return node;
    return ts.forEachChild(node, find);
  };
  return find(sf);
};

/** Diagnostic codes for a name the snippet uses but nothing declares. */
const UNRESOLVED = new Set([2304, 2552, 2580, 2581, 2582, 2583, 2584, 2591, 2592, 2593, 18004]);

/**
 * Type-checks each example as its own module: the prelude imports every public name the snippet
 * does not bind itself (from `tesserae`, `tesserae/node`, `tesserae/testing`), fast-check as `fc`,
 * and declares each remaining free variable as `any`, except names that are called or
 * constructed: those must resolve to an export or to the snippet's own declaration.
 */
export const checkExamples = (root: string, examples: readonly Example[], names: Map<string, string[]>): Failure[] => {
  const dir = join(root, 'test', 'docs', '__examples__');
  const fileOf = (i: number): string => join(dir, `example${i}.mts`);
  const parsed = examples.map((e, i) => ts.createSourceFile(fileOf(i), e.code, ts.ScriptTarget.ES2022, true));
  const prelude = (i: number, declared: readonly string[]): string => {
    const own = topLevelNames(parsed[i]!);
    const taken = new Set(own);
    const parts: string[] = [];
    for (const [module, list] of names) {
      const mine = list.filter((n) => !taken.has(n));
      for (const n of mine) taken.add(n);
      if (mine.length > 0) parts.push(`import { ${mine.join(', ')} } from '${module}';`);
    }
    if (!taken.has('fc')) parts.push(`import fc from 'fast-check';`);
    for (const n of declared) parts.push(`declare const ${n}: any;`);
    return parts.join(' ') + '\n';
  };
  const options = baseOptions(root);
  const compile = (texts: readonly string[], old?: ts.Program): ts.Program => {
    const host = ts.createCompilerHost(options);
    const virtual = new Map(texts.map((t, i) => [fileOf(i), t]));
    const getSourceFile = host.getSourceFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    const readFile = host.readFile.bind(host);
    host.getSourceFile = (name, lang, onError, create) => {
      const text = virtual.get(name);
      return text !== undefined ? ts.createSourceFile(name, text, lang, true) : getSourceFile(name, lang, onError, create);
    };
    host.fileExists = (name) => virtual.has(name) || fileExists(name);
    host.readFile = (name) => virtual.get(name) ?? readFile(name);
    return ts.createProgram([...virtual.keys()], options, host, old);
  };
  const diagnostics = (program: ts.Program, i: number): readonly ts.Diagnostic[] => {
    const sf = program.getSourceFile(fileOf(i));
    if (!sf) throw new Error(`snippet ${fileOf(i)} was not compiled`);
    const syntax = program.getSyntacticDiagnostics(sf);
    return syntax.length > 0 ? syntax : program.getSemanticDiagnostics(sf);
  };

  // Pass 1: which names does each snippet use without binding them, and is any of them called?
  const first = compile(examples.map((e, i) => prelude(i, []) + e.code));
  const declared = examples.map((_, i) => {
    const free = new Set<string>();
    const called = new Set<string>();
    const sf = parsed[i]!;
    const offset = prelude(i, []).length;
    for (const d of diagnostics(first, i)) {
      if (!UNRESOLVED.has(d.code) || d.start === undefined) continue;
      const id = identifierAt(sf, d.start - offset);
      if (!id) continue;
      free.add(id.text);
      if (inCallPosition(id)) called.add(id.text);
    }
    return [...free].filter((n) => !called.has(n));
  });

  // Pass 2: the same snippets with their free variables declared; what is left is wrong.
  const second = compile(
    examples.map((e, i) => prelude(i, declared[i]!) + e.code),
    first,
  );
  const failures: Failure[] = [];
  examples.forEach((example, i) => {
    const ds = diagnostics(second, i);
    if (ds.length === 0) return;
    const messages = ds.map((d) => {
      const sf = d.file!;
      const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line - 1;
      return `${example.file}:${example.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    failures.push({ example, messages });
  });
  return failures;
};

/** The .ts files under a folder, recursively. */
export const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });

const parseVersion = (v: string): [number, number, number] | undefined => {
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
};

/** Each `@since` in a file's text that is not a valid x.y.z or names a version after `version`. */
export const sinceProblems = (file: string, text: string, version: string): string[] => {
  const current = parseVersion(version);
  if (!current) throw new Error(`package version ${version} is not x.y.z`);
  const out: string[] = [];
  text.split('\n').forEach((lineText, i) => {
    for (const m of lineText.matchAll(/@since\b\s*(\S*)/g)) {
      const v = m[1]!;
      const parsed = parseVersion(v);
      if (!parsed) out.push(`${file}:${i + 1}: @since ${JSON.stringify(v)} is not a version x.y.z`);
      else {
        const later = parsed[0] - current[0] || parsed[1] - current[1] || parsed[2] - current[2];
        if (later > 0) out.push(`${file}:${i + 1}: @since ${v} is later than the package version ${version}`);
      }
    }
  });
  return out;
};

/** For the error messages: read a file as text. */
export const readText = (path: string): string => readFileSync(path, 'utf8');
