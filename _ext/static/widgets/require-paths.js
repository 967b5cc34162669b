// Loaded between RequireJS and the ipywidgets HTML manager (see nb_ipywidgets_js in
// _config.yml). The manager fetches its fonts from the folder of its AMD module, which
// RequireJS would otherwise place under the page's own folder (notebooks/@jupyter-widgets/
// html-manager/dist/, where nothing is): say that the module lives here, in _static/widgets/.
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist":
      new URL(".", document.currentScript.src).href.replace(/\/$/, ""),
  },
});
