/* The map editor of the workspace (/redaktion/karte).
 *
 * Reads areas, Bauerschaften and the municipality boundary from the OGC API, lets the editor draw,
 * reshape, cut and split polygons with Leaflet-Geoman, and writes every change back through the
 * same OGC API (POST / PATCH with If-Match), with the session cookie and the X-CSRF-Token header.
 * When the server refuses a geometry, its message is shown in German and its place marked.
 */
(function () {
  "use strict";

  var root = document.getElementById("editor");
  var csrf = root.dataset.csrf;
  var alertBox = document.getElementById("fehler");
  var hint = document.getElementById("hinweis");
  var form = document.getElementById("merkmale");
  var SNAP = { snappable: true, snapDistance: 20 };
  var STYLES = {
    areas: { color: "#0b5394", weight: 2, fillOpacity: 0.15 },
    hamlets: { color: "#1a7f37", weight: 2, fillOpacity: 0.15 },
    selected: { color: "#d35400", weight: 4, fillOpacity: 0.3 },
    boundary: { color: "#1b1b1b", weight: 2, dashArray: "6 4", fill: false },
  };
  var MESSAGES = [
    [/Self-intersection|Ring Self-intersection/i, "Die Umrandung überschneidet sich selbst"],
    [/Too few points/i, "Die Fläche hat zu wenige Punkte"],
    [/Hole lies outside shell|Interior is disconnected|Nested shells/i, "Das Loch liegt nicht innerhalb der Fläche"],
    [/outside the municipality/i, "Die Fläche liegt (teilweise) außerhalb der Gemeindegrenze"],
    [/name .*taken|already|unique/i, "Der Name ist schon vergeben"],
    [/the line must cross/i, "Die Linie muss das Gebiet genau einmal von Rand zu Rand queren"],
  ];

  var map = L.map("karte", { zoomControl: true });
  if (root.dataset.basemap) {
    L.tileLayer(root.dataset.basemap, { attribution: root.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  map.pm.setLang("de");
  map.pm.setGlobalOptions(Object.assign({ allowSelfIntersection: true }, SNAP));

  var groups = { areas: L.featureGroup().addTo(map), hamlets: L.featureGroup().addTo(map) };
  var boundary = L.geoJSON(null, { style: STYLES.boundary, interactive: false }).addTo(map);
  var state = { mode: null, collection: null, layer: null, etag: null, geometryChanged: false, marker: null };
  var api = { map: map, groups: groups, boundary: boundary, state: state, ready: null };
  window.workspaceMap = api;

  function tools(name) {
    return root.querySelectorAll('[data-werkzeug="' + name + '"]');
  }

  function say(text) {
    hint.textContent = text;
  }

  function german(message) {
    for (var i = 0; i < MESSAGES.length; i += 1) {
      if (MESSAGES[i][0].test(message)) {
        return MESSAGES[i][1];
      }
    }
    return "Eingabe abgelehnt";
  }

  function clearAlert() {
    alertBox.hidden = true;
    alertBox.textContent = "";
    alertBox.className = "meldung fehler";
    if (state.marker) {
      map.removeLayer(state.marker);
      state.marker = null;
    }
  }

  function showProblems(heading, problems) {
    clearAlert();
    var title = document.createElement("p");
    title.textContent = heading;
    var list = document.createElement("ul");
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      var field = problem.field === "geometry" ? "Geometrie" : problem.field;
      item.textContent = (field ? field + ": " : "") + german(problem.message) + " (" + problem.message + ")";
      list.appendChild(item);
      if (problem.location && !state.marker) {
        var where = L.latLng(problem.location[1], problem.location[0]);
        state.marker = L.circleMarker(where, { radius: 9, color: "#a4000f", weight: 3, fillOpacity: 0.6, className: "fehlerort" })
          .bindTooltip("Hier: " + german(problem.message), { permanent: true, direction: "top" })
          .addTo(map);
        map.panTo(where);
      }
    });
    alertBox.appendChild(title);
    alertBox.appendChild(list);
    alertBox.hidden = false;
  }

  function showSuccess(text) {
    clearAlert();
    alertBox.className = "erfolg";
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  async function refusal(response) {
    var body = {};
    try {
      body = await response.json();
    } catch (ignored) {
      body = {};
    }
    var problems = body.problems && body.problems.length ? body.problems : [{ field: null, message: body.detail || response.statusText }];
    var headings = {
      401: "Die Anmeldung ist abgelaufen. Bitte neu anmelden.",
      403: "Keine Berechtigung (oder die Seite ist veraltet: bitte neu laden).",
      409: "Konflikt mit gespeicherten Daten – nichts wurde gespeichert.",
      412: "Jemand anderes hat dieses Gebiet inzwischen geändert – nichts wurde gespeichert. Bitte neu laden und die Änderung erneut vornehmen.",
      422: "Nicht gespeichert: Die Eingabe wurde abgelehnt.",
    };
    showProblems(headings[response.status] || "Nicht gespeichert (Fehler " + response.status + ").", problems);
  }

  function send(method, url, body, headers) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: Object.assign({ "X-CSRF-Token": csrf, Accept: "application/geo+json, application/json" }, headers || {}),
      body: JSON.stringify(body),
    });
  }

  function itemsUrl(collection) {
    return "/collections/" + collection + "/items";
  }

  function addFeature(collection, feature) {
    var shape = L.geoJSON(feature, { style: STYLES[collection] }).getLayers()[0];
    shape.feature = feature;
    shape.collection = collection;
    shape.on("click", function () {
      if (!state.mode) {
        select(shape);
      }
    });
    shape.bindTooltip(feature.properties.name, { sticky: true });
    groups[collection].addLayer(shape);
    return shape;
  }

  async function loadCollection(collection) {
    var response = await fetch(itemsUrl(collection) + "?limit=10000", { headers: { Accept: "application/geo+json" } });
    var data = await response.json();
    groups[collection].clearLayers();
    data.features.forEach(function (feature) {
      addFeature(collection, feature);
    });
  }

  async function load() {
    var town = await fetch("/collections/municipality/items?limit=100", { headers: { Accept: "application/geo+json" } });
    boundary.clearLayers();
    boundary.addData(await town.json());
    await Promise.all([loadCollection("areas"), loadCollection("hamlets")]);
    if (boundary.getLayers().length) {
      map.fitBounds(boundary.getBounds());
    }
  }

  function setTools() {
    var chosen = Boolean(state.layer && state.layer.feature && state.layer.feature.id !== undefined);
    tools("stuetzpunkte").forEach(function (b) { b.disabled = !chosen || Boolean(state.mode); });
    tools("loch").forEach(function (b) { b.disabled = !chosen || Boolean(state.mode); });
    tools("teilen").forEach(function (b) { b.disabled = !chosen || state.collection !== "areas" || Boolean(state.mode); });
    root.querySelectorAll("[data-werkzeug]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.werkzeug === state.mode));
    });
  }

  function fillForm(collection, properties, title) {
    form.hidden = false;
    form.elements.collection.value = collection;
    document.getElementById("merkmale-titel").textContent = title;
    form.querySelectorAll("[data-nur]").forEach(function (part) {
      part.hidden = part.dataset.nur !== collection;
    });
    ["name", "kind", "status", "funding", "provider", "status_since"].forEach(function (name) {
      var value = properties[name];
      if (value !== undefined && value !== null) {
        form.elements[name].value = value;
      } else if (form.elements[name].tagName === "SELECT") {
        form.elements[name].value = name === "funding" ? "unknown" : form.elements[name].options[0].value;
      } else {
        form.elements[name].value = "";
      }
    });
    form.dataset.status = properties.status || "";
  }

  function formProperties(collection) {
    var fields = collection === "areas" ? ["name", "kind", "status", "funding", "provider", "status_since"] : ["name", "status", "status_since"];
    var properties = {};
    fields.forEach(function (name) {
      var value = form.elements[name].value.trim();
      properties[name] = value === "" ? null : value;
    });
    return properties;
  }

  function stopEditing() {
    map.pm.disableDraw();
    map.pm.disableGlobalCutMode();
    if (state.layer && state.layer.pm) {
      state.layer.pm.disable();
    }
  }

  function deselect() {
    stopEditing();
    if (state.layer) {
      if (state.layer.feature && state.layer.feature.id === undefined) {
        map.removeLayer(state.layer);
      } else {
        state.layer.setStyle(STYLES[state.layer.collection]);
      }
    }
    state.mode = null;
    state.layer = null;
    state.collection = null;
    state.etag = null;
    state.geometryChanged = false;
    form.hidden = true;
    setTools();
  }

  async function select(shape) {
    deselect();
    clearAlert();
    state.layer = shape;
    state.collection = shape.collection;
    shape.setStyle(STYLES.selected);
    var response = await fetch(itemsUrl(shape.collection) + "/" + shape.feature.id, { headers: { Accept: "application/geo+json" } });
    if (!response.ok) {
      await refusal(response);
      return;
    }
    state.etag = response.headers.get("ETag");
    var current = await response.json();
    shape.feature.properties = current.properties;
    fillForm(shape.collection, current.properties, shape.feature.properties.name + " bearbeiten");
    say("Ausgewählt: " + current.properties.name + ". Eigenschaften ändern oder ein Werkzeug wählen; dann speichern.");
    setTools();
  }

  function startDrawing(collection) {
    deselect();
    clearAlert();
    state.mode = "zeichnen";
    state.collection = collection;
    map.pm.enableDraw("Polygon", SNAP);
    say("Punkte der neuen Fläche in die Karte klicken; den ersten Punkt erneut anklicken, um zu schließen.");
    setTools();
  }

  function startVertices() {
    stopEditing();
    state.layer.pm.enable(Object.assign({ allowSelfIntersection: true }, SNAP));
    state.layer.on("pm:edit", function () {
      state.geometryChanged = true;
    });
    say("Stützpunkte ziehen; Mittelpunkte ziehen fügt Punkte hinzu, Rechtsklick entfernt einen. Dann speichern.");
  }

  function startHole() {
    stopEditing();
    state.mode = "loch";
    map.pm.enableGlobalCutMode(Object.assign({ layersToCut: [state.layer] }, SNAP));
    say("Das Loch als Fläche innerhalb des ausgewählten Gebiets zeichnen.");
    setTools();
  }

  function startSplit() {
    stopEditing();
    state.mode = "teilen";
    map.pm.enableDraw("Line", SNAP);
    say("Eine Linie quer durch das Gebiet zeichnen, von außerhalb bis außerhalb; Doppelklick beendet sie.");
    setTools();
  }

  async function split(line) {
    map.removeLayer(line);
    var shape = state.layer;
    var name = shape.feature.properties.name;
    // One request, one transaction: the area keeps the larger part, "(Teil 2)" gets the other.
    var answer = await send("POST", "/redaktion/karte/teilen/" + shape.feature.id, { line: line.toGeoJSON().geometry }, { "Content-Type": "application/json", "If-Match": state.etag });
    state.mode = null;
    setTools();
    if (!answer.ok) {
      await refusal(answer);
      return;
    }
    var parts = (await answer.json()).parts;
    deselect();
    await loadCollection("areas");
    showSuccess("Geteilt: " + name + " und " + parts[1].properties.name + " gespeichert.");
  }

  map.on("pm:create", function (event) {
    map.pm.disableDraw();
    if (state.mode === "teilen") {
      split(event.layer);
      return;
    }
    if (state.mode !== "zeichnen") {
      return;
    }
    var layer = event.layer;
    layer.collection = state.collection;
    layer.feature = { type: "Feature", properties: {} };
    state.layer = layer;
    state.mode = null;
    state.geometryChanged = true;
    layer.setStyle(STYLES.selected);
    var title = state.collection === "areas" ? "Neues Ausbaugebiet" : "Neue Bauerschaft";
    fillForm(state.collection, {}, title);
    form.elements.name.focus();
    say("Eigenschaften eintragen und speichern.");
    setTools();
  });

  map.on("pm:cut", function (event) {
    if (state.mode !== "loch" || event.originalLayer !== state.layer) {
      return;
    }
    var cut = event.layer;
    var old = state.layer;
    cut.feature = old.feature;
    cut.collection = old.collection;
    groups[old.collection].removeLayer(old);
    groups[old.collection].addLayer(cut);
    state.layer = cut;
    state.geometryChanged = true;
    state.mode = null;
    map.pm.disableGlobalCutMode();
    cut.setStyle(STYLES.selected);
    say("Loch ausgeschnitten. Speichern übernimmt die neue Form.");
    setTools();
  });

  async function save(event) {
    event.preventDefault();
    if (!state.layer) {
      return;
    }
    clearAlert();
    stopEditing();
    var collection = form.elements.collection.value;
    var properties = formProperties(collection);
    var shape = state.layer;
    var response;
    if (shape.feature.id === undefined) {
      Object.keys(properties).forEach(function (name) {
        if (properties[name] === null) {
          delete properties[name];
        }
      });
      response = await send("POST", itemsUrl(collection), { type: "Feature", properties: properties, geometry: shape.toGeoJSON().geometry }, { "Content-Type": "application/geo+json" });
    } else {
      if (properties.status_since === shape.feature.properties.status_since && properties.status !== shape.feature.properties.status) {
        delete properties.status_since; // a new status without a new date holds from today
      }
      var patch = { properties: properties };
      if (state.geometryChanged) {
        patch.geometry = shape.toGeoJSON().geometry;
      }
      response = await send("PATCH", itemsUrl(collection) + "/" + shape.feature.id, patch, { "Content-Type": "application/merge-patch+json", "If-Match": state.etag });
    }
    if (!response.ok) {
      await refusal(response);
      return;
    }
    var saved = await response.json();
    if (shape.feature.id === undefined) {
      map.removeLayer(shape);
    }
    state.layer = null;
    deselect();
    await loadCollection(collection);
    showSuccess("Gespeichert: " + saved.properties.name + ".");
  }

  form.addEventListener("submit", save);
  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-werkzeug]");
    if (!button || button.disabled) {
      return;
    }
    var tool = button.dataset.werkzeug;
    if (tool === "zeichnen") {
      startDrawing(button.dataset.ebene);
    } else if (tool === "stuetzpunkte") {
      startVertices();
    } else if (tool === "loch") {
      startHole();
    } else if (tool === "teilen") {
      startSplit();
    } else if (tool === "abbrechen") {
      var layer = state.layer;
      deselect();
      clearAlert();
      if (layer && layer.feature.id !== undefined) {
        loadCollection(layer.collection);
      }
      say("Abgebrochen. Ein Gebiet anklicken oder ein neues zeichnen.");
    }
  });

  api.ready = load();
  api.select = function (collection, id) {
    var found = groups[collection].getLayers().filter(function (layer) { return layer.feature.id === id; })[0];
    return select(found);
  };
})();
