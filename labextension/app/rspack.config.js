// Ferry JupyterLab application build (rspack, via @jupyter/builder).
//
// Modelled on how JupyterLab builds its own application (dev_mode): the
// "jupyterlab" section of package.json lists the source extensions; this
// config renders the entry that imports them, shares the core packages
// through module federation so prebuilt (federated) labextensions can still
// be loaded at runtime, and lets @jupyter/builder's Build.ensureAssets copy
// every extension's settings schemas and build every theme's CSS.
//
// Output (FERRY_LAB_BUILD_DIR, default ./build):
//   static/   index.html (page template) + bundles  -> served at <base>static/lab/
//   schemas/  <package>/<plugin>.json               -> settings schemas
//   themes/   <package>/index.css (+ assets)        -> theme CSS

const path = require('path');
const fs = require('fs-extra');
const Handlebars = require('handlebars');
const HtmlWebpackPlugin = require('html-webpack-plugin');
const rspack = require('@rspack/core');
const merge = require('webpack-merge').default;
const { Build } = require('@jupyter/builder');
const baseConfig = require('@jupyter/builder/lib/webpack.config.base');

const pkg = require('./package.json');
const jlab = pkg.jupyterlab;
const { extensions, mimeExtensions } = jlab;
const extensionPackages = [
  ...new Set([...Object.keys(extensions), ...Object.keys(mimeExtensions)])
];

const outDir = path.resolve(process.env.FERRY_LAB_BUILD_DIR || 'build');
const staticDir = path.join(outDir, 'static');
const genDir = path.resolve('.gen');
const sourceMaps = process.env.FERRY_LAB_SOURCEMAPS === '1';

fs.removeSync(outDir);
fs.removeSync(genDir);
fs.ensureDirSync(staticDir);
fs.ensureDirSync(genDir);

// schemas/ and themes/ go to outDir; style.js (CSS imports of all extensions)
// to the generated-source directory. Returns one rspack config per theme.
const themeConfigs = Build.ensureAssets({
  packageNames: extensionPackages,
  output: genDir,
  schemaOutput: outDir,
  themeOutput: outDir
});
// Build.ensureAssets leaves a package.json.orig next to each package's
// schemas (JupyterLab uses it to detect stale copies); the server needs only
// the *.json schemas, but the files are harmless and small, so keep them.

// Generated entry: bootstrap (public path, federated extensions) -> index.out.js.
const template = Handlebars.compile(
  fs.readFileSync(path.join(__dirname, 'src', 'index.template.js'), 'utf8')
);
fs.writeFileSync(
  path.join(genDir, 'index.out.js'),
  template({ extensions, mimeExtensions })
);
fs.copySync(
  path.join(__dirname, 'src', 'bootstrap.js'),
  path.join(genDir, 'bootstrap.js')
);

// ---- module federation: what prebuilt extensions may share with us --------
// Read an installed package's version; some packages (e.g. @lezer/common)
// do not export ./package.json, so fall back to reading the file.
const version = name => {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    const file = path.join(__dirname, 'node_modules', name, 'package.json');
    return fs.existsSync(file) ? fs.readJSONSync(file).version : null;
  }
};
const shared = {};
// Direct dependencies of the app and the extension packages themselves.
for (const [name, range] of Object.entries(pkg.dependencies)) {
  shared[name] = { requiredVersion: range };
}
// Versions forced with npm "overrides" (to keep one copy) are what we provide.
for (const [name, range] of Object.entries(pkg.overrides || {})) {
  shared[name] = { requiredVersion: range };
}
for (const name of extensionPackages) {
  if (!shared[name] && version(name)) {
    shared[name] = { requiredVersion: `^${version(name)}` };
  }
}
// Dependencies of each extension (first one wins), honouring an extension's
// own "sharedPackages" overrides, as JupyterLab does.
for (const name of extensionPackages) {
  const data = fs.readJSONSync(
    path.join(__dirname, 'node_modules', name, 'package.json')
  );
  const own = {};
  for (const [dep, range] of Object.entries(data.dependencies || {})) {
    own[dep] = { requiredVersion: range };
  }
  const custom = (data.jupyterlab && data.jupyterlab.sharedPackages) || {};
  for (const [dep, config] of Object.entries(custom)) {
    if (config === false) {
      delete own[dep];
      continue;
    }
    const c = { ...config };
    if ('bundled' in c) {
      c.import = c.bundled;
      delete c.bundled;
    }
    own[dep] = c;
  }
  for (const [dep, config] of Object.entries(own)) {
    if (!shared[dep] || shared[dep].import === false) {
      shared[dep] = config;
    }
  }
}
// Packages that must exist once on the page.
for (const name of jlab.singletonPackages) {
  if (!shared[name]) {
    const v = version(name);
    if (!v) {
      console.warn(`singleton ${name} is not installed; not shared`);
      continue;
    }
    shared[name] = { requiredVersion: `^${v}` };
  }
  shared[name].singleton = true;
}
// Type-only packages have nothing to share at runtime.
for (const name of Object.keys(shared)) {
  if (name.startsWith('@types/')) {
    delete shared[name];
  }
}

const appConfig = merge(baseConfig, {
  mode: 'production',
  context: __dirname,
  entry: { main: path.join(genDir, 'bootstrap.js') },
  output: {
    path: staticDir,
    // Replaced by the server in index.html; at runtime bootstrap.js sets the
    // public path from page_config.fullStaticUrl.
    publicPath: '{{page_config.fullStaticUrl}}/',
    filename: '[name].[contenthash].js',
    chunkFilename: '[name].[contenthash].js',
    assetModuleFilename: 'assets/[hash][ext]'
  },
  optimization: {
    minimize: process.env.FERRY_LAB_MINIMIZE !== '0',
    splitChunks: {
      chunks: 'all',
      cacheGroups: {
        jlab_core: {
          test: /[\\/]node_modules[\\/]@(jupyterlab|lumino(?!\/datagrid))[\\/]/,
          name: 'jlab_core'
        }
      }
    }
  },
  devtool: sourceMaps ? 'source-map' : false,
  externals: ['ws'],
  performance: { hints: false },
  // mathjax-full's component loader mentions __dirname; harmless in the browser.
  ignoreWarnings: [/"__dirname" is used and has been mocked/],
  plugins: [
    new HtmlWebpackPlugin({
      template: path.join(__dirname, 'src', 'index.html'),
      title: jlab.name || 'JupyterLab',
      chunksSortMode: 'none',
      minify: false
    }),
    new rspack.container.ModuleFederationPlugin({
      name: 'CORE_FEDERATION',
      library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
      shared
    })
  ]
});

module.exports = [appConfig, ...themeConfigs];
