// Ferry JupyterLab application: bootstrap entry.
//
// Runs before anything else in the bundle. It
//  1. points the bundler's public path at page_config.fullStaticUrl, so lazily
//     loaded chunks come from wherever the server mounted the static files;
//  2. loads prebuilt (federated) labextensions listed in
//     page_config.federated_extensions and lets them join the shared scope;
//  3. then imports the generated plugin list (index.out.js) and starts the app.
//
// It cannot use @jupyterlab/coreutils yet (that would initialise shared modules
// before the federated containers register), so page_config is read by hand.

let pageConfig = null;
function option(name) {
  if (pageConfig === null) {
    pageConfig = {};
    const el = document.getElementById('jupyter-config-data');
    if (el) {
      try {
        pageConfig = JSON.parse(el.textContent || '{}');
      } catch (err) {
        console.error('jupyter-config-data is not valid JSON', err);
      }
    }
  }
  return pageConfig[name] || '';
}

// eslint-disable-next-line no-undef
__webpack_public_path__ = option('fullStaticUrl').replace(/\/?$/, '/');

function addScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.async = true;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`failed to load ${src}`));
    script.src = src;
    document.head.appendChild(script);
  });
}

async function initRemote(url, scope) {
  await addScript(url);
  // Module-federation handshake for a dynamic remote container.
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = (window._JUPYTERLAB || {})[scope];
  if (!container) {
    throw new Error(`federated extension ${scope} did not register itself`);
  }
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
}

(async () => {
  let federated = option('federated_extensions');
  if (typeof federated === 'string') {
    federated = federated ? JSON.parse(federated) : [];
  }
  if (!Array.isArray(federated)) {
    federated = [];
  }
  const base = option('fullLabextensionsUrl').replace(/\/$/, '');
  const results = await Promise.allSettled(
    federated.map(ext => initRemote(`${base}/${ext.name}/${ext.load}`, ext.name))
  );
  for (const r of results) {
    if (r.status === 'rejected') {
      console.error(r.reason);
    }
  }
  const { main } = await import('./index.out.js');
  if (document.readyState === 'complete') {
    main();
  } else {
    window.addEventListener('load', main);
  }
})();
