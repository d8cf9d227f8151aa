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
      if (item.getBounds) {
        map.fitBounds(item.getBounds(), { maxZoom: 16 });
        if (item._path) { item._path.classList.add("bb-highlight"); }
      } else {
        map.setView(item.getLatLng(), 16);
      }
      broadbandOpenDetails(map, item, config, false);
      return;
    }
  }
  if (config.center) {
    map.setView([config.center[1], config.center[0]], config.zoom || 14);
    return;
  }
  var outline = layers.municipality || layers.districts || layers.towns;
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
  if (!form) { return; }  // a Kreis map has no address search
  var input = document.getElementById("bb-q");
  var result = document.getElementById("bb-result");
  var marker = null;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    result.textContent = "Suche …";
    var join = config.lookupUrl.indexOf("?") < 0 ? "?" : "&";
    fetch(config.lookupUrl + join + "q=" + encodeURIComponent(input.value) + "&limit=5")
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

/* Accessibility: German names for Leaflet's controls, a metric scale, every feature a named
   button in a defined order, details in a panel beside the feature, panels a phone can fold. */

function broadbandText(escaped) {
  // Feature texts arrive HTML-escaped (they are also written into markup): decode for attributes.
  return new DOMParser().parseFromString(escaped || "", "text/html").documentElement.textContent;
}

function broadbandFeatureName(name, props, config) {
  var state = props.status_label || props.connection_label || "";
  var text = config.nouns[name] + " " + broadbandText(props.name);
  return state ? text + ", " + broadbandText(state) : text;
}

function broadbandControls(map) {
  var labels = {
    ".leaflet-control-zoom-in": "Vergrößern",
    ".leaflet-control-zoom-out": "Verkleinern",
    ".leaflet-control-layers-toggle": "Ebenen"
  };
  Object.keys(labels).forEach(function (selector) {
    var element = map.getContainer().parentNode.querySelector(selector);
    if (element) {
      element.setAttribute("title", labels[selector]);
      element.setAttribute("aria-label", labels[selector]);
    }
  });
  if (map.attributionControl) {
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="Kartenbibliothek Leaflet">Leaflet</a>');
    map.attributionControl.getContainer().setAttribute("role", "note");
    map.attributionControl.getContainer().setAttribute("aria-label", "Quellenangaben");
  }
  var scale = L.control.scale({ imperial: false, metric: true, maxWidth: 100 }).addTo(map);
  var box = scale.getContainer();
  box.setAttribute("role", "img");
  var describe = function () { box.setAttribute("aria-label", "Maßstab: " + box.textContent.trim()); };
  map.on("zoomend moveend", describe);
  describe();
  map.on("popupopen", function (event) {
    var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) { close.setAttribute("aria-label", "Schließen"); close.setAttribute("title", "Schließen"); }
  });
  var container = map.getContainer();
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", "Karte des Glasfaserausbaus (Pfeiltasten verschieben, Plus und Minus zoomen)");
  var layerControl = container.querySelector(".leaflet-control-layers");
  var panel = document.getElementById("bb-layers");
  if (layerControl && panel) {
    panel.insertBefore(layerControl, panel.querySelector("[data-close]"));
  }
}

function broadbandFeatureLayers(layers, config) {
  return Object.keys(layers).filter(function (name) { return config.nouns[name]; });
}

function broadbandFocusable(map, layers, config) {
  // Outlines are context, not content: no focus stop, no click target for assistive technology.
  ["municipality", "districts", "changes"].forEach(function (name) {
    if (!layers[name]) { return; }
    layers[name].eachLayer(function (item) {
      var element = item.getElement && item.getElement();
      // Chromium makes an SVG shape with focus listeners (Leaflet's tooltips) a Tab stop: -1 ends it.
      if (element) { element.setAttribute("aria-hidden", "true"); element.setAttribute("tabindex", "-1"); }
    });
  });
  broadbandFeatureLayers(layers, config).forEach(function (name) {
    layers[name].eachLayer(function (item) {
      var element = item.getElement && item.getElement();
      if (!element) { return; }
      element.setAttribute("tabindex", "0");
      element.setAttribute("role", "button");
      element.setAttribute("aria-label", broadbandFeatureName(name, item.feature.properties, config));
      element.classList.add("bb-feature");
    });
  });
}

function broadbandDemandLabels(layers) {
  // A Bauerschaft's sign-ups against its quota, written on the map (the details have the bar).
  if (!layers.hamlets) { return; }
  layers.hamlets.eachLayer(function (item) {
    var props = item.feature && item.feature.properties;
    // Only where the roll-out still waits for sign-ups: a connected hamlet's share is history.
    if (!props || !props.demand_label || props.status === "connected") { return; }
    item.bindTooltip(props.demand_label, {
      permanent: true, direction: "center", className: "bb-demand-label", interactive: false
    });
  });
}

function broadbandTownLabels(layers) {
  // On a Kreis map each municipality's name and share is written on it, not only shaded.
  if (!layers.towns) { return; }
  layers.towns.eachLayer(function (item) {
    item.bindTooltip(item.feature.properties.map_label, {
      permanent: true, direction: "center", className: "bb-town-label", interactive: false
    });
  });
}

function broadbandWireFeatures(map, layers, config) {
  broadbandDemandLabels(layers);
  broadbandTownLabels(layers);
  broadbandFeatureLayers(layers, config).forEach(function (name) {
    var group = layers[name];
    group.on("click", function (event) { broadbandOpenDetails(map, event.layer, config, true); });
    group.on("keydown", function (event) {
      var key = event.originalEvent.key;
      if (key === "Enter" || key === " ") {
        L.DomEvent.preventDefault(event.originalEvent);
        broadbandOpenDetails(map, event.layer, config, true);
      }
    });
  });
  // A feature taking focus off screen is brought into view (Leaflet resets the container scroll).
  map.getContainer().addEventListener("focusin", function (event) {
    var element = event.target;
    if (!element.classList || !element.classList.contains("bb-feature")) { return; }
    var item = broadbandItemOf(layers, config, element);
    if (!item) { return; }
    var where = item.getBounds ? item.getBounds().getCenter() : item.getLatLng();
    if (!map.getBounds().pad(-0.05).contains(where)) { map.panTo(where, { animate: false }); }
  });
  map.on("overlayadd", function () { broadbandFocusable(map, layers, config); });
}

function broadbandItemOf(layers, config, element) {
  var found = null;
  broadbandFeatureLayers(layers, config).forEach(function (name) {
    layers[name].eachLayer(function (item) {
      if (item.getElement && item.getElement() === element) { found = item; }
    });
  });
  return found;
}

function broadbandLayerName(item) {
  return item.feature.properties.layer;
}

function broadbandDetailsHtml(item, config) {
  var props = item.feature.properties;
  var rows = (config.fields[broadbandLayerName(item)] || []).filter(function (pair) {
    return props[pair[0]] !== null && props[pair[0]] !== undefined && props[pair[0]] !== "";
  }).map(function (pair) {
    // Values are escaped by the service (label_features): safe to write as markup.
    return "<dt>" + pair[1] + "</dt><dd>" + props[pair[0]] + "</dd>";
  });
  var html = '<p class="bb-kind">' + config.nouns[broadbandLayerName(item)] + "</p>";
  html += "<dl>" + rows.join("") + "</dl>";
  if (props.demand_text) {
    // Sign-ups against the provider's quota: the bar's maximum is the quota, text says it too.
    html += '<p class="bb-demand" id="bb-demand-text">' + props.demand_text + "</p>";
    html += '<progress class="bb-demand-bar" max="' + props.quota_pct + '" value="' +
      Math.min(props.demand_pct, props.quota_pct) + '" aria-labelledby="bb-demand-text"></progress>';
  }
  if (props.approximate) { html += '<p class="bb-approx">' + config.approximateNote + "</p>"; }
  return html;
}

var broadbandOpen = { item: null, source: null };

function broadbandOpenDetails(map, item, config, takeFocus) {
  var panel = document.getElementById("bb-details");
  broadbandClosePanels(false);
  document.getElementById("bb-details-title").textContent = broadbandText(item.feature.properties.name);
  document.getElementById("bb-details-body").innerHTML = broadbandDetailsHtml(item, config);
  panel.hidden = false;
  panel.dataset.feature = broadbandLayerName(item) + "/" + item.feature.id;
  if (broadbandOpen.item && broadbandOpen.item.getElement) {
    broadbandOpen.item.getElement().classList.remove("bb-selected");
  }
  broadbandOpen = { item: item, source: item.getElement ? item.getElement() : null };
  if (broadbandOpen.source) { broadbandOpen.source.classList.add("bb-selected"); }
  broadbandKeepVisible(map, item, panel);
  if (takeFocus) { document.getElementById("bb-details-title").focus({ preventScroll: true }); }
}

function broadbandKeepVisible(map, item, panel) {
  // The panel covers the right side (wide screens) or the bottom (phones): fit the feature into
  // the rest of the map, zooming out only if it does not fit at the current zoom.
  var box = map.getContainer().getBoundingClientRect();
  var rect = panel.getBoundingClientRect();
  var top = 10, left = 10, right = 10, bottom = 10;
  var headline = document.getElementById("bb-headline").getBoundingClientRect();
  if (rect.width > box.width * 0.6) {
    bottom = Math.max(10, box.bottom - rect.top + 10);
    top = Math.max(10, headline.bottom - box.top + 10);
  } else {
    right = Math.max(10, box.right - rect.left + 10);
  }
  var bounds = item.getBounds ? item.getBounds() : L.latLngBounds([item.getLatLng(), item.getLatLng()]);
  map.fitBounds(bounds, {
    paddingTopLeft: [left, top], paddingBottomRight: [right, bottom],
    maxZoom: Math.max(map.getZoom(), 1), animate: false
  });
}

function broadbandCloseDetails(returnFocus) {
  var panel = document.getElementById("bb-details");
  if (panel.hidden) { return false; }
  panel.hidden = true;
  var source = broadbandOpen.source;
  if (source) { source.classList.remove("bb-selected"); }
  broadbandOpen = { item: null, source: null };
  if (returnFocus && source && document.contains(source)) { source.focus({ preventScroll: true }); }
  return true;
}

function broadbandClosePanels(returnFocus) {
  var closed = false;
  document.querySelectorAll(".bb-toggle[aria-expanded='true']").forEach(function (button) {
    button.setAttribute("aria-expanded", "false");
    document.getElementById(button.getAttribute("aria-controls")).classList.remove("bb-open");
    if (returnFocus) { button.focus(); }
    closed = true;
  });
  return closed;
}

function broadbandPanels() {
  // On a phone, legend, layers and search are folded into buttons; one opens at a time.
  document.querySelectorAll(".bb-toggle").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      broadbandClosePanels(false);
      if (open) { return; }
      broadbandCloseDetails(false);
      var panel = document.getElementById(button.getAttribute("aria-controls"));
      button.setAttribute("aria-expanded", "true");
      panel.classList.add("bb-open");
      var first = panel.querySelector("input, a[href], button:not([data-close]), [tabindex='0']");
      (first || panel).focus();
    });
  });
  document.querySelectorAll("[data-close]").forEach(function (button) {
    button.addEventListener("click", function () { broadbandClosePanels(true); });
  });
  document.getElementById("bb-details-close").addEventListener("click", function () {
    broadbandCloseDetails(true);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    if (broadbandCloseDetails(true) || broadbandClosePanels(true)) { event.preventDefault(); }
  });
}

function broadbandAddressTiles(map, config) {
  // The vector-tile plugin is fetched the first time the map reaches zoom 15: most visits never
  // zoom in that far, and the first visit stays small without it.
  var tiles = config.addressTiles;
  if (!tiles) { return; }
  function load() {
    if (map.getZoom() < tiles.minZoom) { return; }
    map.off("zoomend", load);
    var script = document.createElement("script");
    script.src = tiles.script;
    script.onload = function () {
      window.broadbandMap.addressTiles = broadbandAddressLayer(map, tiles);
    };
    document.head.appendChild(script);
  }
  map.on("zoomend", load);
  load();
}

function broadbandAddressLayer(map, tiles) {
  // Every address as a dot in its best status's colour, from the vector tiles, from zoom 15 on
  // (GridLayer's minZoom: below it no tile is requested). A pane above the area fills keeps the
  // colours true; it takes no pointer events, so the areas below stay clickable.
  // A layer's minZoom otherwise becomes the whole map's (Leaflet raises the map's minimum to the
  // smallest of its layers' when the map sets none): keep the map's as it is.
  if (map.options.minZoom === undefined) { map.options.minZoom = map.getMinZoom(); }
  var pane = map.createPane("bb-addresses");
  pane.style.zIndex = 450;
  pane.style.pointerEvents = "none";
  var layer = protomapsL.leafletLayer({
    url: tiles.url,
    pane: "bb-addresses",
    minZoom: tiles.minZoom,
    levelDiff: 0,  // one data tile per 256-pixel tile: zoom 15 asks for z15 tiles
    maxDataZoom: tiles.minZoom,  // closer in, the z15 tiles are enlarged
    attribution: "",
    labelRules: [],
    paintRules: [{
      dataLayer: tiles.layer,
      symbolizer: new protomapsL.CircleSymbolizer({
        radius: 4, width: 1, stroke: tiles.outline,
        fill: function (zoom, feature) { return feature.props.colour; }
      })
    }]
  });
  return layer.addTo(map);
}

/* Zeitreise: a month a step; a change loads the map of that month's end, whose headline and
   layers the service draws for that date. Beside it the coverage per month, with its table. */

var BB_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
  "September", "Oktober", "November", "Dezember"];

function broadbandMonth(first, index) {
  // [year, month 0–11] `index` months after `first` (an ISO date).
  var month = Number(first.slice(5, 7)) - 1 + index;
  return [Number(first.slice(0, 4)) + Math.floor(month / 12), month % 12];
}

function broadbandMonthName(first, index) {
  var month = broadbandMonth(first, index);
  return BB_MONTHS[month[1]] + " " + month[0];
}

function broadbandTimeTravel(config) {
  var travel = config.timeTravel;
  var slider = document.getElementById("bb-zeit");
  if (!travel || !slider) { return; }
  var output = document.getElementById("bb-zeit-monat");
  slider.addEventListener("input", function () {
    var name = broadbandMonthName(travel.first, Number(slider.value));
    slider.setAttribute("aria-valuetext", name);
    output.textContent = name;
  });
  slider.addEventListener("change", function () {
    var month = broadbandMonth(travel.first, Number(slider.value));
    var end = new Date(Date.UTC(month[0], month[1] + 1, 0)).toISOString().slice(0, 10);
    var params = new URLSearchParams(location.search);
    if (end >= travel.today) { params.delete("as_of"); } else { params.set("as_of", end); }
    var compare = params.get("compare");  // only an earlier date can be compared with
    if (compare && compare >= (params.get("as_of") || travel.today)) { params.delete("compare"); }
    try { sessionStorage.setItem("bbTimeTravel", "1"); } catch (error) { /* focus stays */ }
    location.search = params.toString();
  });
  var returning = false;
  try { returning = sessionStorage.getItem("bbTimeTravel") === "1"; sessionStorage.removeItem("bbTimeTravel"); } catch (error) { /* none */ }
  if (returning) {  // keyboard users keep stepping: the slider has focus again after the load
    var toggle = document.querySelector(".bb-toggle[aria-controls='bb-time']");
    if (toggle && toggle.offsetParent !== null) { toggle.click(); } else { slider.focus({ preventScroll: true }); }
  }
  fetch(travel.timelineUrl)
    .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
    .then(function (points) { broadbandChart(travel, points); })
    .catch(function () {
      document.getElementById("bb-chart").insertAdjacentHTML("beforeend", '<p class="bb-note">Verlauf nicht erreichbar.</p>');
    });
}

function broadbandChart(travel, points) {
  // A line of the share per month over time, the date shown marked; the same figures as a table.
  var series = points.map(function (point) { return { date: point[0], pct: point[1] }; });
  var shown = { date: travel.shown, pct: travel.share };
  if (!series.length || series[series.length - 1].date < shown.date) { series.push(shown); }
  var width = 300, height = 96, left = 36, top = 6, bottom = 18;
  var day = function (iso) { return Date.parse(iso) / 864e5; };
  var span = Math.max(day(travel.today) - day(travel.first), 1);
  var x = function (iso) { return (left + (width - left - 6) * (day(iso) - day(travel.first)) / span).toFixed(1); };
  var y = function (pct) { return (top + (height - top - bottom) * (1 - pct / 100)).toFixed(1); };
  var text = function (item) { return item.pct.toFixed(1).replace(".", ",") + " %"; };
  var first = series[0], last = series[series.length - 1];
  var grid = [0, 50, 100].map(function (v) {
    return '<line x1="' + left + '" x2="' + width + '" y1="' + y(v) + '" y2="' + y(v) + '" stroke="#bfbfbf"/>' +
      '<text x="' + (left - 4) + '" y="' + y(v) + '" dy="3" text-anchor="end">' + v + " %</text>";
  }).join("");
  var line = series.map(function (item) { return x(item.date) + "," + y(item.pct); }).join(" ");
  var axis = '<text x="' + left + '" y="' + height + '" dy="-4">' + broadbandDate(first.date) + "</text>" +
    '<text x="' + width + '" y="' + height + '" dy="-4" text-anchor="end">' + broadbandDate(travel.today) + "</text>";
  var summary = "Von " + text(first) + " am " + broadbandDate(first.date) + " auf " + text(last) + " am " +
    broadbandDate(last.date) + "; markiert der gezeigte Stand: " + text(shown) + " am " + broadbandDate(shown.date) + ".";
  var rows = series.map(function (item) {
    return "<tr><td>" + broadbandDate(item.date) + "</td><td>" + text(item) + "</td></tr>";
  });
  document.getElementById("bb-chart").insertAdjacentHTML("beforeend",
    '<svg viewBox="0 0 ' + width + " " + height + '" role="img" aria-labelledby="bb-chart-title bb-chart-desc" ' +
    'font-size="10" fill="#1a1a1a">' + grid + axis +
    '<polyline points="' + line + '" fill="none" stroke="#b30000" stroke-width="2"/>' +
    '<circle cx="' + x(shown.date) + '" cy="' + y(shown.pct) + '" r="4" fill="#000000"/></svg>' +
    '<p class="bb-sr" id="bb-chart-desc">' + summary + "</p>" +
    '<details><summary>Verlauf als Tabelle</summary><div class="bb-chart-table" tabindex="0" ' +
    'role="region" aria-label="Verlauf als Tabelle"><table><thead><tr><th scope="col">Stand</th>' +
    '<th scope="col">Anteil erschlossen</th></tr></thead><tbody>' + rows.join("") + "</tbody></table></div></details>");
}

function broadbandMapSetup(map, layers, config) {
  broadbandPatterns();
  broadbandAddressTiles(map, config);
  if (config.embed) { document.body.classList.add("bb-embed"); }
  broadbandControls(map);
  broadbandFocusable(map, layers, config);
  broadbandWireFeatures(map, layers, config);
  broadbandPanels();
  broadbandView(map, layers, config);
  broadbandSearch(map, config);
  broadbandTimeTravel(config);
}
