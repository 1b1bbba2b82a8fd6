// Fails when a package that must exist once on the page is installed in more
// than one version (two copies of yjs, @jupyter/web-components, @lumino/*,
// ... break JupyterLab at runtime). Fix with "overrides" in package.json.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const singletons = new Set(pkg.jupyterlab.singletonPackages);
const mustBeUnique = name =>
  singletons.has(name) ||
  /^@(jupyterlab|lumino|codemirror|lezer|jupyter|jupyter-widgets)\//.test(name);

const found = new Map(); // name -> Map(version -> [paths])
function walk(dir) {
  const nm = path.join(dir, 'node_modules');
  if (!fs.existsSync(nm)) return;
  for (const entry of fs.readdirSync(nm)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@')
      ? fs.readdirSync(path.join(nm, entry)).map(n => `${entry}/${n}`)
      : [entry];
    for (const name of names) {
      const pdir = path.join(nm, name);
      const pj = path.join(pdir, 'package.json');
      if (!fs.existsSync(pj)) continue;
      if (mustBeUnique(name)) {
        const v = JSON.parse(fs.readFileSync(pj, 'utf8')).version;
        if (!found.has(name)) found.set(name, new Map());
        const byV = found.get(name);
        if (!byV.has(v)) byV.set(v, []);
        byV.get(v).push(path.relative(root, pdir));
      }
      walk(pdir);
    }
  }
}
walk(root);

let bad = 0;
for (const [name, byV] of found) {
  const copies = [...byV.values()].reduce((n, l) => n + l.length, 0);
  if (byV.size > 1 || (singletons.has(name) && copies > 1)) {
    bad++;
    console.error(`duplicate ${name}:`);
    for (const [v, paths] of byV) console.error(`  ${v}: ${paths.join(', ')}`);
  }
}
if (bad) {
  console.error(`${bad} package(s) installed more than once; add "overrides" in package.json`);
  process.exit(1);
}
console.log(`check-duplicates: ${found.size} core packages, each installed once`);
