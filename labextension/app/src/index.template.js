// Ferry JupyterLab application: plugin registration.
//
// This is a Handlebars template; rspack.config.js renders it into
// .gen/index.out.js with the "extensions" and "mimeExtensions" of the
// "jupyterlab" section of package.json. Every listed package is bundled as a
// source extension; prebuilt (federated) extensions listed in
// page_config.federated_extensions replace a bundled package of the same name.

import { JupyterPluginRegistry, PageConfig } from '@jupyterlab/coreutils';

import './style.js';

async function loadFederatedModule(scope, module) {
  const factory = await window._JUPYTERLAB[scope].get(module);
  const mod = factory();
  mod.__scope__ = scope;
  return mod;
}

function pluginsOf(mod) {
  const exported = Object.prototype.hasOwnProperty.call(mod, '__esModule')
    ? mod.default
    : mod;
  return Array.isArray(exported) ? exported : [exported];
}

export async function main() {
  const { JupyterLab } = require('@jupyterlab/application');
  const { IConnectionStatus, IServiceManager } = require('@jupyterlab/services');

  const disabledPatterns = PageConfig.Extension.disabled;
  const deferredPatterns = PageConfig.Extension.deferred;
  const matches = (patterns, id) => {
    const sep = id.indexOf(':');
    const pkg = sep === -1 ? '' : id.slice(0, sep);
    return patterns.some(p => p === id || (pkg && p === pkg));
  };

  const disabled = [];
  const deferred = [];
  const ignorePlugins = [];
  const availablePlugins = [];

  function* enabledPlugins(mod) {
    for (const plugin of pluginsOf(mod)) {
      const isDisabled = matches(disabledPatterns, plugin.id);
      availablePlugins.push({
        id: plugin.id,
        description: plugin.description,
        requires: plugin.requires ?? [],
        optional: plugin.optional ?? [],
        provides: plugin.provides ?? null,
        autoStart: plugin.autoStart,
        enabled: !isDisabled,
        extension: mod.__scope__
      });
      if (isDisabled) {
        disabled.push(plugin.id);
        continue;
      }
      if (matches(deferredPatterns, plugin.id)) {
        deferred.push(plugin.id);
        ignorePlugins.push(plugin.id);
      }
      yield plugin;
    }
  }

  // Prebuilt extensions announced by the server.
  let federated = PageConfig.getOption('federated_extensions');
  federated = federated ? JSON.parse(federated) : [];
  const federatedNames = new Set();
  const fedExt = [];
  const fedMime = [];
  const fedStyle = [];
  for (const data of federated) {
    if (data.extension) {
      federatedNames.add(data.name);
      fedExt.push(loadFederatedModule(data.name, data.extension));
    }
    if (data.mimeExtension) {
      federatedNames.add(data.name);
      fedMime.push(loadFederatedModule(data.name, data.mimeExtension));
    }
    if (data.style && !matches(disabledPatterns, data.name)) {
      fedStyle.push(loadFederatedModule(data.name, data.style));
    }
  }

  const mimeExtensions = [];
  const plugins = [];

  // Bundled (source) mime renderer extensions.
{{#each mimeExtensions}}
  if (!federatedNames.has('{{@key}}')) {
    try {
      const mod = require('{{@key}}{{#if this}}/{{this}}{{/if}}');
      mod.__scope__ = '{{@key}}';
      mimeExtensions.push(...enabledPlugins(mod));
    } catch (err) {
      console.error(err);
    }
  }
{{/each}}
  for (const r of await Promise.allSettled(fedMime)) {
    if (r.status === 'fulfilled') {
      mimeExtensions.push(...enabledPlugins(r.value));
    } else {
      console.error(r.reason);
    }
  }

  // Bundled (source) extensions.
{{#each extensions}}
  if (!federatedNames.has('{{@key}}')) {
    try {
      const mod = require('{{@key}}{{#if this}}/{{this}}{{/if}}');
      mod.__scope__ = '{{@key}}';
      plugins.push(...enabledPlugins(mod));
    } catch (err) {
      console.error(err);
    }
  }
{{/each}}
  for (const r of await Promise.allSettled(fedExt)) {
    if (r.status === 'fulfilled') {
      plugins.push(...enabledPlugins(r.value));
    } else {
      console.error(r.reason);
    }
  }
  for (const r of await Promise.allSettled(fedStyle)) {
    if (r.status === 'rejected') {
      console.error(r.reason);
    }
  }

  // JupyterLab 4.6: plugins go into a registry first; the service manager
  // and connection status are resolved from it before the shell is created.
  const pluginRegistry = new JupyterPluginRegistry();
  pluginRegistry.registerPlugins(plugins);
  const connectionStatus =
    await pluginRegistry.resolveOptionalService(IConnectionStatus);
  const serviceManager =
    await pluginRegistry.resolveRequiredService(IServiceManager);

  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager,
    mimeExtensions,
    connectionStatus,
    disabled: { matches: disabled, patterns: disabledPatterns.slice() },
    deferred: { matches: deferred, patterns: deferredPatterns.slice() },
    availablePlugins
  });
  lab.start({ ignorePlugins, bubblingKeydown: true });

  const flag = name =>
    (PageConfig.getOption(name) || '').toLowerCase() === 'true';
  if (flag('exposeAppInBrowser') || flag('devMode')) {
    window.jupyterapp = lab;
  }
}
