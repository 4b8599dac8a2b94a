// Every public export (the entry points tesserae, tesserae/node and tesserae/testing) has a doc
// comment, and every exported value (function, constant, class) an @example: the API reference
// is generated from these comments, and a user reads them in the editor.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const entries = ['src/index.ts', 'src/node/index.ts', 'src/testing/index.ts'].map((p) => join(root, p));

describe('public API documentation', () => {
  it('every export has a doc comment, and every exported value an @example', () => {
    const program = ts.createProgram(entries, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const problems: string[] = [];
    const seen = new Set<ts.Symbol>();
    const visit = (sym: ts.Symbol, path: string): void => {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      if (seen.has(target)) return;
      seen.add(target);
      const decl = target.declarations?.[0];
      if (!decl) return;
      if (ts.isSourceFile(decl)) {
        // `export * as Name from` a module: check its members
        for (const m of checker.getExportsOfModule(target)) visit(m, `${path}.${m.getName()}`);
        return;
      }
      const file = decl.getSourceFile().fileName;
      if (!file.startsWith(join(root, 'src'))) return; // re-exported from a dependency (tf)
      const where = `${path} (${file.slice(root.length + 1)}:${decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1})`;
      const docs = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
      if (!docs) problems.push(`${where}: no doc comment`);
      const isValue = (target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable | ts.SymbolFlags.Class)) !== 0;
      const tags = target.getJsDocTags(checker).map((t) => t.name);
      if (isValue && !tags.includes('example')) problems.push(`${where}: no @example`);
    };
    for (const entry of entries) {
      const sf = program.getSourceFile(entry)!;
      const mod = checker.getSymbolAtLocation(sf)!;
      for (const e of checker.getExportsOfModule(mod)) visit(e, e.getName());
    }
    assert.ok(seen.size > 200, `found only ${seen.size} exports`);
    assert.deepEqual(problems, [], `${problems.length} undocumented exports:\n${problems.join('\n')}`);
  });
});
