// Filters the rows (tr.row) by the form's choices; a URL fragment or query such as
// #team=payments&action=update chooses on load. Without this script every row is shown.
(function () {
  "use strict";
  var form = document.getElementById("filter-form");
  if (!form) { return; }
  var keys = ["team", "environment", "promise", "action"];
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
  function apply(write) {
    var chosen = {};
    var query = new URLSearchParams();
    keys.forEach(function (k) {
      chosen[k] = form.elements[k].value;
      if (chosen[k]) { query.set(k, chosen[k]); }
    });
    var shown = 0;
    rows.forEach(function (r) {
      var match = keys.every(function (k) {
        return !chosen[k] || r.getAttribute("data-" + k) === chosen[k];
      });
      r.hidden = !match;
      if (match) { shown += 1; }
    });
    document.querySelectorAll("section.group").forEach(function (g) {
      var visible = g.querySelectorAll("tr.row:not([hidden])").length;
      var note = g.querySelector(".group-shown");
      if (note) { note.textContent = visible + " shown"; }
    });
    document.getElementById("shown-count").textContent = String(shown);
    if (write) { history.replaceState(null, "", "#" + query.toString()); }
  }
  function read() {
    var text = location.hash.length > 1 ? location.hash.slice(1) : location.search.slice(1);
    var given = new URLSearchParams(text);
    keys.forEach(function (k) {
      var v = given.get(k) || "";
      var known = Array.prototype.some.call(form.elements[k].options, function (o) {
        return o.value === v;
      });
      form.elements[k].value = known ? v : "";
    });
    apply(false);
  }
  form.addEventListener("change", function () { apply(true); });
  form.addEventListener("reset", function () { setTimeout(function () { apply(true); }, 0); });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  // A fragment without `=` is a link within the page (#wave-3): it keeps the filter.
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") !== -1 || location.hash.length <= 1) { read(); }
  });
  document.getElementById("filters").hidden = false;
  read();
})();
