/* Leaflet in German for the workspace maps (load after leaflet.js, before a page's own script).
 *
 * Leaflet names its controls in English ("Zoom in", "Close popup"); screen readers read those names
 * out, so every workspace map gets German ones here, once. The attribution prefix drops Leaflet's
 * flag image, which leaves axe-core unable to check the link's contrast.
 */
(function () {
  "use strict";

  L.Control.Zoom.mergeOptions({ zoomInTitle: "Vergrößern", zoomOutTitle: "Verkleinern" });
  L.Control.Attribution.mergeOptions({ prefix: '<a href="https://leafletjs.com" hreflang="en">Leaflet</a>' });
  L.Map.addInitHook(function () {
    this.on("popupopen", function (event) {
      var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) {
        close.setAttribute("aria-label", "Schließen");
        close.setAttribute("title", "Schließen");
      }
    });
  });
})();
