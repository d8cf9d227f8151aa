/* Behaviour of the coverage map: view, highlight, fill patterns and the address search.
   Everything talks to this service only (GET /lookup); no other host is contacted. */
"use strict";

var BB_STATUS_LABELS = {
  connected: "erschlossen",
  under_construction: "im Bau",
  in_preparation: "in Vorbereitung",
  planned: "geplant",
  insufficient_demand: "Nachfrage nicht ausreichend",
  none: "kein Ausbaugebiet"
};

function broadbandPatterns() {
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", "0");
  svg.setAttribute("height", "0");
  svg.style.position = "absolute";
  svg.innerHTML =
    '<defs>' +
    '<pattern id="bb-pattern-funded" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="8" height="8" fill="#1a9641"/><rect width="3" height="8" fill="#ffffff" fill-opacity="0.7"/></pattern>' +
    '<pattern id="bb-pattern-in_preparation" width="7" height="7" patternUnits="userSpaceOnUse">' +
    '<rect width="7" height="7" fill="#8e63b5"/><circle cx="3.5" cy="3.5" r="1.5" fill="#ffffff" fill-opacity="0.8"/></pattern>' +
    '<pattern id="bb-pattern-planned" width="6" height="6" patternUnits="userSpaceOnUse">' +
    '<rect width="6" height="6" fill="#8c8c8c"/><path d="M0 0H6M0 0V6" stroke="#ffffff" stroke-opacity="0.8"/></pattern>' +
    '</defs>';
  document.body.appendChild(svg);
}

function broadbandFindFeature(layers, collection, id) {
  var layer = layers[collection];
  if (!layer) { return null; }
  var found = null;
  layer.eachLayer(function (item) {
    if (item.feature && String(item.feature.id) === String(id)) { found = item; }
  });
  return found;
}

function broadbandView(map, layers, config) {
  if (config.highlight) {
    var item = broadbandFindFeature(layers, config.highlight[0], config.highlight[1]);
    if (item) {
      var where;
      if (item.getBounds) {
        map.fitBounds(item.getBounds(), { maxZoom: 16 });
        if (item._path) { item._path.classList.add("bb-highlight"); }
        where = item.getBounds().getCenter();
      } else {
        where = item.getLatLng();
        map.setView(where, 16);
      }
      // The popup is bound to the whole layer: a click on the feature opens it with its data.
      item.fire("click", { latlng: where }, true);
      return;
    }
  }
  if (config.center) {
    map.setView([config.center[1], config.center[0]], config.zoom || 14);
    return;
  }
  var outline = layers.municipality || layers.districts;
  if (outline && outline.getBounds().isValid()) {
    map.fitBounds(outline.getBounds());
  }
  if (config.zoom) { map.setZoom(config.zoom); }
}

function broadbandDate(iso) {
  if (!iso) { return ""; }
  var parts = iso.split("-");
  return parts[2] + "." + parts[1] + "." + parts[0];
}

function broadbandDescribe(match) {
  var text = match.address + ": " + (BB_STATUS_LABELS[match.status] || match.status);
  if (match.providers.length) { text += " – Anbieter: " + match.providers.join(", "); }
  if (match.since) { text += " – seit " + broadbandDate(match.since); }
  return text;
}

function broadbandSearch(map, config) {
  var form = document.getElementById("bb-search");
  var input = document.getElementById("bb-q");
  var result = document.getElementById("bb-result");
  var marker = null;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    result.textContent = "Suche …";
    fetch(config.lookupUrl + "?q=" + encodeURIComponent(input.value) + "&limit=5")
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) { result.textContent = "Bitte eine Adresse eingeben, z. B. Marktplatz 1."; return; }
        var matches = answer.body.matches;
        if (!matches.length) { result.textContent = "Adresse nicht gefunden."; return; }
        var match = matches[0];
        result.textContent = broadbandDescribe(match);
        result.dataset.status = match.status;
        if (marker) { map.removeLayer(marker); }
        var text = document.createElement("div");
        text.textContent = broadbandDescribe(match);  // data, never markup
        marker = L.circleMarker([match.lat, match.lon], { radius: 9, color: "#000", weight: 3, fillOpacity: 0 })
          .addTo(map).bindPopup(text);
        map.setView([match.lat, match.lon], 17);
      })
      .catch(function () { result.textContent = "Die Suche ist gerade nicht erreichbar."; });
  });
}

function broadbandMapSetup(map, layers, config) {
  broadbandPatterns();
  if (config.embed) { document.body.classList.add("bb-embed"); }
  broadbandView(map, layers, config);
  broadbandSearch(map, config);
}
