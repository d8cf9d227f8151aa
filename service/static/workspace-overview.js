/* The overview's map (/redaktion): the features the tables show, read-only, in the public map's colours.
 *
 * The page's JSON block (data, not code: allowed by the strict CSP) names the ids of the tables'
 * rows and the colours; the shapes come from the OGC API. A click opens a popup with the link to
 * the feature's edit form. The tables stay the text alternative of this map.
 */
(function () {
  "use strict";

  var element = document.getElementById("uebersichtskarte");
  var data = JSON.parse(document.getElementById("uebersicht-daten").textContent);
  var BOUNDARY = { color: "#1b1b1b", weight: 2, dashArray: "6 4", fill: false };

  var map = L.map(element);
  if (data.basemap) {
    L.tileLayer(data.basemap, { attribution: data.attribution, maxZoom: 19 }).addTo(map);
  }
  var boundary = L.geoJSON(null, { style: BOUNDARY, interactive: false }).addTo(map);
  var layers = {};
  var api = { map: map, layers: layers, boundary: boundary, ready: false };
  window.overviewMap = api;

  function styleKey(properties) {
    return properties.status === "connected" && properties.funding === "funded" ? "funded" : properties.status;
  }

  function areaStyle(feature) {
    var key = styleKey(feature.properties);
    var style = data.areaStyles[key] || { colour: "#8c8c8c", dash: null };
    return {
      color: key === "insufficient_demand" ? "#333333" : style.colour,
      weight: 2,
      fillColor: style.colour,
      fillOpacity: 0.55,
      dashArray: style.dash,
    };
  }

  function school(feature, latlng) {
    var colour = data.schoolStyles[feature.properties.connection] || "#000000";
    return L.circleMarker(latlng, { radius: 7, weight: 2, color: "#000000", fillColor: colour, fillOpacity: 0.9 });
  }

  function popup(collection, feature) {
    var properties = feature.properties;
    var status = properties.status || properties.connection;
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = properties.name;
    box.appendChild(title);
    if (status) {
      box.appendChild(document.createTextNode(" – " + (data.labels[status] || status)));
    }
    var link = document.createElement("a");
    link.href = "/redaktion/" + collection + "/" + feature.id;
    link.textContent = properties.name + " bearbeiten";
    var line = document.createElement("p");
    line.appendChild(link);
    box.appendChild(line);
    return box;
  }

  function show(collection, features) {
    var wanted = {};
    data.ids[collection].forEach(function (id) { wanted[id] = true; });
    layers[collection] = L.geoJSON(null, {
      style: areaStyle,
      pointToLayer: school,
      filter: function (feature) { return wanted[feature.id] === true; },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(feature.properties.name, { sticky: true });
        layer.bindPopup(function () { return popup(collection, feature); });
      },
    }).addTo(map);
    layers[collection].addData(features);
  }

  function items(collection) {
    return fetch("/collections/" + collection + "/items?limit=10000", { headers: { Accept: "application/geo+json" } })
      .then(function (response) { return response.json(); });
  }

  function frame() {
    var bounds = L.latLngBounds([]);
    Object.keys(layers).forEach(function (name) {
      if (layers[name].getLayers().length) {
        bounds.extend(layers[name].getBounds());
      }
    });
    map.fitBounds(bounds.isValid() ? bounds : boundary.getBounds(), { maxZoom: 15, padding: [10, 10] });
  }

  var shown = ["areas", "hamlets", "schools"].filter(function (name) { return data.ids[name] && data.ids[name].length; });
  Promise.all([items("municipality")].concat(shown.map(items))).then(function (answers) {
    boundary.addData(answers[0]);
    shown.forEach(function (name, index) { show(name, answers[index + 1]); });
    frame();
    api.ready = true;
  }).catch(function () {
    document.getElementById("karte-hinweis").textContent = "Die Karte konnte nicht geladen werden; die Tabellen sind vollständig.";
  });
})();
