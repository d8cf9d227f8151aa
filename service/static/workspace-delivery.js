/* The delivery preview's map (/redaktion/lieferung/{id}): the features the import adds, changes or
 * misses, read from the page's JSON block (data, not code: allowed by the strict CSP). */
(function () {
  "use strict";

  var COLOURS = { added: "#1a7f37", changed: "#0b5394", missing: "#a4000f" };
  var LABELS = { added: "neu", changed: "geändert", missing: "fehlt in der Datei" };
  var data = JSON.parse(document.getElementById("lieferung-daten").textContent);
  var map = L.map("lieferkarte");
  var town = L.geoJSON(null, { style: { color: "#1b1b1b", weight: 2, dashArray: "6 4", fill: false }, interactive: false }).addTo(map);
  var affected = L.geoJSON(data, {
    style: function (feature) {
      var colour = COLOURS[feature.properties.change];
      return { color: colour, fillColor: colour, weight: 3, fillOpacity: 0.3 };
    },
    onEachFeature: function (feature, layer) {
      layer.bindTooltip(feature.properties.name + " – " + LABELS[feature.properties.change]);
    },
  }).addTo(map);
  window.deliveryMap = { map: map, affected: affected };

  fetch("/collections/municipality/items?limit=100", { headers: { Accept: "application/geo+json" } })
    .then(function (response) { return response.json(); })
    .then(function (boundary) {
      town.addData(boundary);
      var bounds = affected.getLayers().length ? affected.getBounds() : town.getBounds();
      map.fitBounds(bounds, { maxZoom: 15 });
    });
})();
